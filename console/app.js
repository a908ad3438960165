// The twopc operator console: Preact with htm templates, served as ES
// modules by the coordinator (no build step). Every request goes to the
// console API (/api/…), which the coordinator admits as the Operator method
// it is: the operator role, the tenant rules and the audit log apply.
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { Detail } from './ui/detail.js';
import { Filters, TransactionTable, VIEWS, queryOf } from './ui/list.js';
import { escapeRenderedText } from './ui/printable.js';
import { SIGNED_OUT, TOKEN_KEY, api, html, usePoll } from './ui/shared.js';

const idFromHash = () => {
  const m = /^#\/tx\/(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
};

function Console({ session, onSignOut }) {
  const [view, setView] = useState('all');
  const [filters, setFilters] = useState({
    state: '',
    minAge: '',
    participant: '',
    label: '',
    tenant: '',
  });
  const [pages, setPages] = useState(['']);
  const [live, setLive] = useState(true);
  const [selected, setSelected] = useState(idFromHash());
  useEffect(() => {
    const on = () => setSelected(idFromHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const query = queryOf(view, filters, pages.at(-1));
  const load = useCallback(() => api(`transactions?${query}`), [query]);
  const list = usePoll(load, query, live);
  const reset = (f) => {
    f();
    setPages(['']);
  };
  return html`
    <header>
      <h1>twopc console</h1>
      <label class="live"
        ><span
          ><input
            type="checkbox"
            checked=${live}
            onChange=${(e) => setLive(e.currentTarget.checked)}
          />
          live</span
        ></label
      >
      <span class="muted" data-testid="updated"
        >${list.at ? `updated ${list.at.toLocaleTimeString()}` : ''}</span
      >
      <span class="who" data-testid="who"
        >${session.principal} (${session.via === 'none' ? 'authentication off' : session.via})</span
      >
      ${session.via === 'token' && html`<button onClick=${onSignOut}>Sign out</button>`}
    </header>
    <nav class="views">
      ${VIEWS.map(
        (v) =>
          html`<button
            aria-pressed=${String(view === v.id)}
            onClick=${() => reset(() => setView(v.id))}
          >
            ${v.title}
          </button>`,
      )}
    </nav>
    <${Filters} filters=${filters} onChange=${(f) => reset(() => setFilters(f))} />
    ${list.error && html`<div class="notice error" data-testid="list-error">${list.error.message}</div>`}
    <div class="layout">
      <div>
        <${TransactionTable} transactions=${list.data?.transactions ?? []} selected=${selected} />
        <div class="actions">
          ${pages.length > 1 && html`<button onClick=${() => setPages(pages.slice(0, -1))}>← Previous</button>`}
          ${
            list.data?.nextPageToken &&
            html`<button onClick=${() => setPages([...pages, list.data.nextPageToken])}>
              Next →
            </button>`
          }
        </div>
      </div>
      ${
        selected
          ? html`<${Detail} id=${selected} live=${live} onChanged=${list.reload} />`
          : html`<p class="muted">Select a transaction to see its participants and timeline.</p>`
      }
    </div>
  `;
}

function SignIn({ error, onSignedIn }) {
  const [token, setToken] = useState('');
  const denied = error.status === 403;
  return html`
    <form
      class="signin"
      data-testid="signin"
      onSubmit=${(e) => {
        e.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, token.trim());
        onSignedIn();
      }}
    >
      <h1>twopc console</h1>
      <div class="notice error" data-testid="signin-error">${error.message}</div>
      <p>
        ${
          denied
            ? 'This identity may not use the console: it needs the operator role. Sign in with another token.'
            : 'Sign in with a bearer token that grants the operator role, or open the console with a client certificate.'
        }
      </p>
      <label
        >Token<textarea
          name="token"
          value=${token}
          onInput=${(e) => setToken(e.currentTarget.value)}
        ></textarea>
      </label>
      <div class="actions"><button class="primary" type="submit">Sign in</button></div>
    </form>
  `;
}

function App() {
  const [session, setSession] = useState(null);
  const [error, setError] = useState(null);
  const check = useCallback(() => {
    api('session').then(
      (s) => {
        setSession(s);
        setError(null);
      },
      (e) => {
        setSession(null);
        setError(e);
      },
    );
  }, []);
  useEffect(check, []);
  useEffect(() => {
    const out = (e) => {
      setSession(null);
      setError(e.detail);
    };
    addEventListener(SIGNED_OUT, out);
    return () => removeEventListener(SIGNED_OUT, out);
  }, []);
  if (error && (error.status === 401 || error.status === 403)) {
    return html`<${SignIn} error=${error} onSignedIn=${check} />`;
  }
  if (error) {
    return html`<div class="notice error">${error.message}</div>`;
  }
  if (!session) {
    return html`<p class="muted">Connecting…</p>`;
  }
  return html`<${Console}
    session=${session}
    onSignOut=${() => {
      sessionStorage.removeItem(TOKEN_KEY);
      check();
    }}
  />`;
}

escapeRenderedText();
render(html`<${App} />`, document.getElementById('app'));
