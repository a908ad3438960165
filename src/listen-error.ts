/** A listener that could not bind: which address, and the setting that names it. */
export class ListenError extends Error {
  readonly address: string;
  readonly flag: string;
  readonly code: string | undefined;

  constructor(address: string, flag: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | null)?.code;
    const inUse =
      code === 'EADDRINUSE' ||
      /No address added out of total/.test(String((cause as Error)?.message));
    super(
      `cannot listen on ${address}: ${inUse ? 'address in use' : (code ?? String((cause as Error)?.message))} (set ${flag})`,
      { cause },
    );
    this.address = address;
    this.flag = flag;
    this.code = code;
  }
}
