// The twopc operator console: Preact with htm templates, served as ES
// modules by the coordinator (no build step). Every request goes to the
// console API (/api/…), which the coordinator admits as the Operator method
// it is: the operator role, the tenant rules and the audit log apply.
import { h, render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const TOKEN_KEY = 'twopc-console-token';
const SIGNED_OUT = 'twopc:signed-out';
const POLL_MS = 2000;
const STATES = ['ACTIVE', 'PREPARING', 'COMMITTING', 'ABORTING', 'COMMITTED', 'ABORTED'];
const TEXT_FILTERS = ['minAge', 'participant', 'label', 'tenant'];
const VIEWS = [
  { id: 'all', title: 'All', query: {} },
  { id: 'stuck', title: 'Stuck', query: { stuck: 'true' } },
  { id: 'in-doubt', title: 'In doubt', query: { state: 'PREPARING' } },
  { id: 'heuristic', title: 'Heuristic', query: { heuristic: 'true' } },
];

class ApiError extends Error {
  constructor(status, body) {
    super(body.message);
    this.status = status;
    this.code = body.code;
  }
}

async function api(path, body) {
  const headers = { accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    headers.authorization = `Bearer ${token}`;
  }
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`/api/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const data = await res
    .json()
    .catch(() => ({ code: 'TWOPC_INTERNAL', message: `HTTP ${res.status}` }));
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401) {
      // The token expired or was revoked: back to signing in.
      dispatchEvent(new CustomEvent(SIGNED_OUT, { detail: err }));
    }
    throw err;
  }
  return data;
}

const short = (value, prefix) => (value ?? '').replace(prefix, '');
const stateOf = (tx) => short(tx.state, 'TRANSACTION_STATE_');
const outcomeOf = (value) => short(value, 'OUTCOME_').replace('UNSPECIFIED', '-');
const voteOf = (value) => short(value, 'VOTE_').replace('UNSPECIFIED', '-');

function age(iso, now) {
  if (!iso) {
    return '-';
  }
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

const idFromHash = () => {
  const m = /^#\/tx\/(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
};

/** Polls `load` every POLL_MS while `live`, and again whenever `key` changes. */
function usePoll(load, key, live) {
  const [state, setState] = useState({ data: null, error: null, at: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    const run = () =>
      load().then(
        (data) => !stopped && setState({ data, error: null, at: new Date() }),
        (error) => !stopped && setState((s) => ({ ...s, error })),
      );
    run();
    const timer = live ? setInterval(run, POLL_MS) : null;
    return () => {
      stopped = true;
      if (timer !== null) {
        clearInterval(timer);
      }
    };
  }, [key, live, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

function Flags({ tx }) {
  return html`${tx.stuck && html`<span class="flag stuck">STUCK</span>`}${
    tx.heuristic && html`<span class="flag heuristic">HEURISTIC</span>`
  }`;
}

function Filters({ filters, onChange }) {
  // What is typed lives here until it is applied (on leaving the field or
  // Enter): the list re-renders every poll, and must not undo typing.
  const [draft, setDraft] = useState(filters);
  const apply = (name, value) => {
    const next = { ...filters, [name]: value.trim() };
    if (next[name] !== filters[name]) {
      onChange(next);
    }
  };
  const field = (name, label, placeholder) => html`
    <label>
      ${label}
      <input
        name=${name}
        value=${draft[name]}
        placeholder=${placeholder}
        onInput=${(e) => setDraft({ ...draft, [name]: e.currentTarget.value })}
        onChange=${(e) => apply(name, e.currentTarget.value)}
      />
    </label>
  `;
  return html`
    <form
      class="filters"
      onSubmit=${(e) => {
        e.preventDefault();
        const typed = TEXT_FILTERS.map((name) => [name, draft[name].trim()]);
        onChange({ ...filters, ...Object.fromEntries(typed) });
      }}
    >
      <label>
        State
        <select
          name="state"
          value=${filters.state}
          onChange=${(e) => onChange({ ...filters, state: e.currentTarget.value })}
        >
          <option value="">any</option>
          ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      ${field('minAge', 'Older than (s)', '0')} ${field('participant', 'Participant', 'name')}
      ${field('label', 'Label', 'key=value')} ${field('tenant', 'Tenant', 'all')}
      <button type="submit">Apply</button>
    </form>
  `;
}

function TransactionTable({ transactions, selected }) {
  const now = Date.now();
  if (transactions.length === 0) {
    return html`<p class="muted" data-testid="empty">No transactions match.</p>`;
  }
  return html`
    <table data-testid="transactions">
      <thead>
        <tr>
          <th>Transaction</th>
          <th>State</th>
          <th>Age</th>
          <th>Participants</th>
          <th>Flags</th>
          <th>Reason</th>
        </tr>
      </thead>
      <tbody>
        ${transactions.map(
          (tx) => html`
            <tr
              key=${tx.txnId}
              class=${tx.txnId === selected ? 'selected' : ''}
              data-txn=${tx.txnId}
            >
              <td>
                <a class="mono" href=${`#/tx/${encodeURIComponent(tx.txnId)}`}>${tx.txnId}</a>
              </td>
              <td class=${`state-${stateOf(tx)}`}>${stateOf(tx)}</td>
              <td>${age(tx.createdAt, now)}</td>
              <td>
                ${tx.participants.map(
                  (p) =>
                    html`<div>
                      ${p.name}
                      <span class="muted vote">${voteOf(p.vote)}${p.acknowledged ? ' ✓' : ''}</span>
                    </div>`,
                )}
              </td>
              <td><${Flags} tx=${tx} /></td>
              <td>${tx.reason || ''}</td>
            </tr>
          `,
        )}
      </tbody>
    </table>
  `;
}

const ACTIONS = {
  retry: {
    title: 'Retry phase 2 now',
    says: (tx) => `Send ${outcomeOf(tx.outcome)} again now to every participant still owed it.`,
    run: (id) => api(`transactions/${encodeURIComponent(id)}/retry`, {}),
    done: (r) => `Phase 2 re-sent (${stateOf(r.transaction)}).`,
  },
  abort: {
    title: 'Abort',
    says: () =>
      'Abort this transaction. It has no commit decision yet; its participants are told to roll back.',
    field: { name: 'reason', label: 'Reason (recorded)', required: false },
    run: (id, values) =>
      api(`transactions/${encodeURIComponent(id)}/abort`, { reason: values.reason }),
    done: (r) => `Aborted (${stateOf(r)}${r.reason ? `: ${r.reason}` : ''}).`,
  },
  resolve: {
    title: 'Mark resolved',
    says: (tx, p) =>
      `Record that ${p} was resolved by hand as ${outcomeOf(tx.outcome)}. The coordinator stops sending it phase 2. Do this only once its branch really is ${outcomeOf(tx.outcome).toLowerCase()}.`,
    field: { name: 'note', label: 'Note (recorded)', required: true },
    run: (id, values, tx, p) =>
      api(`transactions/${encodeURIComponent(id)}/resolve`, {
        participant: p,
        outcome: tx.outcome,
        note: values.note,
      }),
    done: (r, p) => `${p} recorded as resolved (${stateOf(r.transaction)}).`,
  },
};

function Confirm({ action, tx, participant, onDone, onCancel }) {
  const spec = ACTIONS[action];
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = (e) => {
    e.preventDefault();
    setBusy(true);
    spec.run(tx.txnId, { [spec.field?.name ?? 'x']: value }, tx, participant).then(
      (r) => onDone({ ok: true, text: spec.done(r, participant) }),
      (err) => onDone({ ok: false, text: `${err.message} (${err.code ?? 'error'})` }),
    );
  };
  return html`
    <dialog open data-testid="confirm">
      <form onSubmit=${submit}>
        <strong>${spec.title}: <span class="mono">${tx.txnId}</span></strong>
        <p>${spec.says(tx, participant)}</p>
        ${
          spec.field &&
          html`<label>
            ${spec.field.label}
            <input
              name=${spec.field.name}
              required=${spec.field.required}
              value=${value}
              onInput=${(e) => setValue(e.currentTarget.value)}
            />
          </label>`
        }
        <div class="actions">
          <button type="submit" class="danger" disabled=${busy}>Confirm</button>
          <button type="button" onClick=${onCancel} disabled=${busy}>Cancel</button>
        </div>
      </form>
    </dialog>
  `;
}

function Detail({ id, live, onChanged }) {
  const load = useCallback(() => api(`transactions/${encodeURIComponent(id)}`), [id]);
  const { data, error, reload } = usePoll(load, id, live);
  const [pending, setPending] = useState(null);
  const [notice, setNotice] = useState(null);
  useEffect(() => setNotice(null), [id]);
  if (error && !data) {
    return html`<section class="detail"><div class="notice error">${error.message}</div></section>`;
  }
  if (!data) {
    return html`<section class="detail"><p class="muted">Loading ${id}…</p></section>`;
  }
  const tx = data.transaction;
  const state = stateOf(tx);
  const decided = state === 'COMMITTING' || state === 'ABORTING';
  const begun = new Date(tx.createdAt).getTime();
  return html`
    <section class="detail" data-testid="detail">
      <h2 class="mono">${tx.txnId}</h2>
      <p>
        <span class=${`state-${state}`} data-testid="state">${state}</span>
        ${' '}<span class="muted">outcome ${outcomeOf(tx.outcome)}</span> <${Flags} tx=${tx} />
        ${tx.reason && html`<br /><span class="muted">reason</span> ${tx.reason}`}
      </p>
      <p class="muted">
        tenant ${tx.tenant || '-'}${tx.principal ? `, begun by ${tx.principal}` : ''}
        ${Object.entries(tx.labels).map(([k, v]) => html` <code>${k}=${v}</code>`)}
      </p>
      <p>
        ${
          data.traceLink
            ? html`<a
                href=${data.traceLink}
                target="_blank"
                rel="noopener noreferrer"
                data-testid="trace"
                >Open its trace</a
              >`
            : tx.traceId
              ? html`<span class="muted"
                  >trace <code>${tx.traceId}</code> (set --trace-url to link it)</span
                >`
              : html`<span class="muted">not traced</span>`
        }
      </p>
      <div class="actions">
        ${
          decided &&
          html`<button onClick=${() => setPending({ action: 'retry' })}>Retry phase 2 now</button>`
        }
        ${
          (state === 'ACTIVE' || state === 'PREPARING') &&
          html`<button class="danger" onClick=${() => setPending({ action: 'abort' })}>
            Abort…
          </button>`
        }
      </div>
      ${notice && html`<div class=${`notice ${notice.ok ? 'ok' : 'error'}`} data-testid="notice">${notice.text}</div>`}
      ${
        pending &&
        html`<${Confirm}
          ...${pending}
          tx=${tx}
          onCancel=${() => setPending(null)}
          onDone=${(n) => {
            setPending(null);
            setNotice(n);
            reload();
            onChanged();
          }}
        />`
      }
      <table>
        <thead>
          <tr>
            <th>Participant</th>
            <th>Vote</th>
            <th>Phase 2</th>
            <th>Last error / next retry</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          ${tx.participants.map(
            (p) => html`
              <tr data-participant=${p.name}>
                <td>${p.name}<br /><span class="muted mono">${p.endpoint}</span></td>
                <td>
                  ${voteOf(p.vote)}${p.voteReason ? html`<br /><span class="muted">${p.voteReason}</span>` : ''}
                </td>
                <td>
                  ${p.acknowledged ? 'acknowledged' : decided ? `owed (${p.attempts} attempts)` : '-'}
                  ${
                    p.heuristicOutcome !== 'OUTCOME_UNSPECIFIED' &&
                    html`<br /><span class="flag heuristic"
                        >HEURISTIC ${outcomeOf(p.heuristicOutcome)}</span
                      >`
                  }
                </td>
                <td>
                  ${p.lastError && html`<span class="flag error">ERROR</span> ${p.lastError}`}
                  ${
                    p.nextAttemptAt &&
                    html`<br /><span class="muted"
                        >next retry ${new Date(p.nextAttemptAt).toLocaleTimeString()}</span
                      >`
                  }
                </td>
                <td>
                  ${
                    decided &&
                    !p.acknowledged &&
                    html`<button
                      onClick=${() => setPending({ action: 'resolve', participant: p.name })}
                    >
                      Mark resolved…
                    </button>`
                  }
                </td>
              </tr>
            `,
          )}
        </tbody>
      </table>
      <h2>Timeline</h2>
      <ol class="timeline" data-testid="timeline">
        ${data.timeline.map(
          (e) =>
            html`<li>
              <span class="mono muted">+${new Date(e.at).getTime() - begun} ms</span> ${e.text}
            </li>`,
        )}
      </ol>
    </section>
  `;
}

function queryOf(view, filters, pageToken) {
  const q = new URLSearchParams(VIEWS.find((v) => v.id === view).query);
  if (filters.state && view !== 'in-doubt') {
    q.set('state', filters.state);
  }
  for (const name of TEXT_FILTERS) {
    if (filters[name]) {
      q.set(name, filters[name]);
    }
  }
  if (pageToken) {
    q.set('pageToken', pageToken);
  }
  return q.toString();
}

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

render(html`<${App} />`, document.getElementById('app'));
