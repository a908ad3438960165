// The transaction list: its views, its filters and its table.
import { useState } from 'preact/hooks';
import { Flags, age, html, stateOf, voteOf } from './shared.js';

const STATES = [
  'ACTIVE',
  'PREPARING',
  'COMMITTING',
  'ABORTING',
  'IN_DOUBT',
  'COMMITTED',
  'ABORTED',
];
const TEXT_FILTERS = ['minAge', 'participant', 'label', 'tenant'];
export const VIEWS = [
  { id: 'all', title: 'All', query: {} },
  { id: 'stuck', title: 'Stuck', query: { stuck: 'true' } },
  { id: 'in-doubt', title: 'In doubt', query: { state: 'IN_DOUBT' } },
  { id: 'heuristic', title: 'Heuristic', query: { heuristic: 'true' } },
];

export function Filters({ filters, onChange }) {
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

export function TransactionTable({ transactions, selected }) {
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
                    html`<div class="participant">
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

/** The list API's query for a view, the filters and a page. */
export function queryOf(view, filters, pageToken) {
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
