/** Query parameters of a PostgreSQL URL that hold a secret (libpq's and node-postgres's names). */
const SECRET_PARAMS = new Set(['password', 'sslpassword', 'sslkey']);

const HIDDEN = '***';

/**
 * A database URL as messages may show it: the password (whatever the user
 * name, empty included) and the secret query parameters (`password`,
 * `sslpassword`, `sslkey`) replaced by `***`. The URL is parsed the way the
 * driver parses it (WHATWG URL), so a password holding `@` or `:` is cut
 * where the driver cuts it, not where a pattern guesses; a URL that does
 * not parse is shown by its scheme alone.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `${/^[a-z][a-z0-9+.-]*:/i.exec(raw)?.[0] ?? ''}//${HIDDEN} (not a valid URL)`;
  }
  if (url.password !== '') {
    url.password = HIDDEN;
  }
  for (const key of new Set(url.searchParams.keys())) {
    if (SECRET_PARAMS.has(key.toLowerCase())) {
      url.searchParams.set(key, HIDDEN);
    }
  }
  return url.toString();
}
