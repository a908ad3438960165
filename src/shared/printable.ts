/**
 * Characters a terminal (or a page) acts on instead of showing: C0 and C1
 * controls (ESC starts CSI/OSC sequences, BEL, CR overwrites a line, U+009B
 * is an 8-bit CSI), DEL, the bidirectional overrides, embeddings, isolates
 * and marks (they reorder what follows them), and the Unicode line and
 * paragraph separators.
 */
const ACTIVE = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu;

/** `\n`-style names of the controls people know by them. */
const NAMED: Readonly<Record<string, string>> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/**
 * Stored text made safe to print for a human: every control character,
 * bidirectional control and line separator is written as a visible escape
 * (`\x1b`, `\r`, `\u202e`), everything else stays as it is. Text from
 * clients and participants (reasons, labels, errors, names) goes through
 * this before it reaches a terminal, a log message or the console; JSON
 * output keeps the exact text.
 */
export function printable(text: string): string {
  return text.replace(ACTIVE, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return (
      NAMED[c] ??
      (code <= 0xff
        ? `\\x${code.toString(16).padStart(2, '0')}`
        : `\\u${code.toString(16).padStart(4, '0')}`)
    );
  });
}
