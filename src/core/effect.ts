/** Messages the shell must send after persisting a decision of the core. */
export type Effect =
  | { readonly type: 'send:prepare'; readonly name: string }
  | { readonly type: 'send:commit'; readonly name: string; readonly onePhase: boolean }
  | { readonly type: 'send:abort'; readonly name: string };
