import { Role } from './caller.ts';

/** What a method needs from its caller. */
export interface MethodRule {
  /** Any of these roles may call it. */
  readonly roles: readonly Role[];
  /** Its request names a transaction the caller must be able to see. */
  readonly tx: boolean;
  /** Written to the audit log with its principal, whatever its result. */
  readonly audited: boolean;
  /** Changes nothing: identical successful calls are audited once a minute, counted. */
  readonly read: boolean;
}

const rule = (roles: Role[], tx: boolean, audited = false, read = false): MethodRule => ({
  roles,
  tx,
  audited,
  read,
});

/**
 * The roles table: every method served, `Service.Method`. A method missing
 * here is refused for everyone (PERMISSION_DENIED), so a new RPC is closed
 * until it is given a rule.
 */
export const METHOD_RULES: Readonly<Record<string, MethodRule>> = {
  'Coordinator.Begin': rule([Role.CLIENT], false),
  // A participant enlists itself, under the name its identity is bound to.
  'Coordinator.Enlist': rule([Role.PARTICIPANT], true),
  'Coordinator.Heartbeat': rule([Role.CLIENT, Role.PARTICIPANT], true),
  'Coordinator.Commit': rule([Role.CLIENT], true),
  'Coordinator.Abort': rule([Role.CLIENT], true),
  // A participant's recovery path: the outcome of a transaction it is enlisted in.
  'Coordinator.GetTransaction': rule([Role.CLIENT, Role.PARTICIPANT, Role.OPERATOR], true),
  'Coordinator.ListTransactions': rule([Role.CLIENT, Role.OPERATOR], false),
  'Operator.ListTransactions': rule([Role.OPERATOR], false, true, true),
  'Operator.GetTransaction': rule([Role.OPERATOR], false, true, true),
  'Operator.Abort': rule([Role.OPERATOR], false, true),
  'Operator.RetryNow': rule([Role.OPERATOR], false, true),
  'Operator.ResolveParticipant': rule([Role.OPERATOR], false, true),
  // The operator console's sign-in (its other calls are the Operator methods above).
  'Console.SignIn': rule([Role.OPERATOR], false, true, true),
};
