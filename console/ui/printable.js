// Stored text (reasons, labels, names, errors) shown with its control
// characters visible. Preact escapes HTML, which keeps markup out; it does
// not stop a right-to-left override from reordering a row, or a CR, an ESC
// or a C1 control from hiding in it. The same rule as the CLI's
// (src/shared/printable.ts).
import { options } from 'preact';

const ACTIVE = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu;
const NAMED = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The text with every control character, bidirectional control and line separator as a visible escape. */
export function printable(text) {
  return text.replace(ACTIVE, (c) => {
    const code = c.codePointAt(0);
    return (
      NAMED[c] ??
      (code <= 0xff
        ? `\\x${code.toString(16).padStart(2, '0')}`
        : `\\u${code.toString(16).padStart(4, '0')}`)
    );
  });
}

/**
 * Makes every text node the console renders printable, in one place rather
 * than at each of the templates' many `${…}`: Preact creates a vnode of type
 * null for each string child, and hands each new vnode to `options.vnode`.
 * Attribute values (an input's value, a link's href) are not text nodes and
 * stay exact.
 */
export function escapeRenderedText() {
  const next = options.vnode;
  options.vnode = (vnode) => {
    if (vnode.type === null && typeof vnode.props === 'string') {
      vnode.props = printable(vnode.props);
    }
    next?.(vnode);
  };
}
