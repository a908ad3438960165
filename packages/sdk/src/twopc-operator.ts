import type { OperatorClient } from './wire/generated/twopc/v1/Operator.ts';
import type { Transaction__Output } from './wire/generated/twopc/v1/Transaction.ts';
import { loadTwopcProto } from './wire/proto.ts';
import { openConnection } from './connection.ts';
import type { Connection, ConnectionOptions, CoordinatorAddress, Invoke } from './connection.ts';
import { listRequest, toOutcome, toState, toView } from './twopc-client.ts';
import type { ListOptions, OutcomeAnswer, TransactionView } from './twopc-client.ts';

/**
 * A typed client of the twopc.v1.Operator service (role `operator`): every
 * tenant's transactions, and the actions the CLI takes. Retries as
 * TwopcClient does.
 */
export class TwopcOperator {
  readonly #conn: Connection<OperatorClient>;

  /** @throws Error when the TLS files cannot be used, or a token is given without TLS */
  constructor(address: CoordinatorAddress, options: ConnectionOptions = {}) {
    this.#conn = openConnection(loadTwopcProto().twopc.v1.Operator, address, options);
  }

  get #stub(): OperatorClient {
    return this.#conn.stub;
  }

  #call<Res>(invoke: Invoke<Res>): Promise<Res> {
    return this.#conn.call(invoke);
  }

  /** Transactions of every tenant (or of `tenant`; or those `participant` is enlisted in), newest first. */
  async list(
    options: ListOptions & { tenant?: string; participant?: string } = {},
  ): Promise<{ transactions: TransactionView[]; nextPageToken: string }> {
    const req = {
      ...listRequest(options),
      tenant: options.tenant ?? '',
      participant: options.participant ?? '',
    };
    const res = await this.#call<{ transactions: Transaction__Output[]; nextPageToken: string }>(
      (md, o, cb) => this.#stub.listTransactions(req, md, o, cb),
    );
    return { transactions: res.transactions.map(toView), nextPageToken: res.nextPageToken };
  }

  /** One transaction of any tenant. */
  async get(txnId: string): Promise<TransactionView> {
    return toView(
      await this.#call<Transaction__Output>((md, o, cb) =>
        this.#stub.getTransaction({ txnId }, md, o, cb),
      ),
    );
  }

  /** Aborts a transaction without a commit decision (audited). */
  async abort(txnId: string, reason = ''): Promise<OutcomeAnswer> {
    const res = await this.#call<{ outcome: string; reason: string; state: string }>((md, o, cb) =>
      this.#stub.abort({ txnId, reason }, md, o, cb),
    );
    return { outcome: toOutcome(res.outcome), reason: res.reason, state: toState(res.state) };
  }

  /** Re-sends phase 2 now. */
  async retryNow(txnId: string): Promise<TransactionView> {
    return toView(
      await this.#call<Transaction__Output>((md, o, cb) =>
        this.#stub.retryNow({ txnId }, md, o, cb),
      ),
    );
  }

  /** Records a participant resolved by hand (the outcome must be the decision). */
  async resolveParticipant(
    txnId: string,
    participant: string,
    outcome: 'COMMITTED' | 'ABORTED',
    note = '',
  ): Promise<TransactionView> {
    const req = { txnId, participant, outcome: `OUTCOME_${outcome}` as const, note };
    return toView(
      await this.#call<Transaction__Output>((md, o, cb) =>
        this.#stub.resolveParticipant(req, md, o, cb),
      ),
    );
  }

  close(): void {
    this.#conn.close();
  }
}
