// One transaction: its participants, timeline and trace, and the actions on it.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { Flags, api, html, outcomeOf, stateOf, usePoll, voteOf } from './shared.js';

const ACTIONS = {
  retry: {
    title: 'Retry phase 2 now',
    says: (tx) =>
      inDoubt(tx)
        ? `Ask ${tx.participants[0]?.name} again now whether its one-phase commit landed.`
        : `Send ${outcomeOf(tx.outcome)} again now to every participant still owed it.`,
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
  ...Object.fromEntries(
    ['COMMITTED', 'ABORTED'].map((outcome) => [
      `in-doubt-${outcome}`,
      {
        title: `Resolve as ${outcome.toLowerCase()}`,
        says: (tx, p) =>
          `In doubt: the one-phase commit sent to ${p} got no answer, and only ${p} knows whether it landed. Record that its own database says ${outcome.toLowerCase()}; the transaction ends ${outcome}. Do this only once you have looked.`,
        field: { name: 'note', label: 'What you found (recorded)', required: true },
        run: (id, values, tx, p) =>
          api(`transactions/${encodeURIComponent(id)}/resolve`, {
            participant: p,
            outcome: `OUTCOME_${outcome}`,
            note: values.note,
          }),
        done: (r, p) => `${p} resolved as ${outcome} (${stateOf(r.transaction)}).`,
      },
    ]),
  ),
};

/** A one-phase Commit whose answer was lost (DESIGN §3 rule 15): only the participant knows. */
const inDoubt = (tx) => stateOf(tx) === 'IN_DOUBT';

/**
 * When phase 2 is tried again, said against the time the page was read:
 * "next retry in 4 s (12:03:07)", or "retry due now" once that time has
 * passed (the coordinator sends it as soon as it gets to it).
 */
function nextRetry(iso, readAt) {
  const at = new Date(iso);
  const inS = Math.round((at.getTime() - readAt.getTime()) / 1000);
  const clock = at.toLocaleTimeString([], { hour12: false });
  return inS <= 0 ? `retry due now (was ${clock})` : `next retry in ${inS} s (${clock})`;
}

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

export function Detail({ id, live, onChanged }) {
  const load = useCallback(() => api(`transactions/${encodeURIComponent(id)}`), [id]);
  const { data, error, at, reload } = usePoll(load, id, live);
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
  const doubt = inDoubt(tx);
  const state = stateOf(tx);
  const decided = state === 'COMMITTING' || state === 'ABORTING';
  const begun = new Date(tx.createdAt).getTime();
  return html`
    <section class="detail" data-testid="detail">
      <h2 class="mono">${tx.txnId}</h2>
      <p>
        <span class=${`state-${state}`} data-testid="state">${state}</span>
        ${' '}<span class="muted"
          >${doubt ? 'outcome unknown: only its participant knows' : `outcome ${outcomeOf(tx.outcome)}`}</span
        >
        <${Flags} tx=${tx} />
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
          (decided || doubt) &&
          html`<button onClick=${() => setPending({ action: 'retry' })}>
            ${doubt ? 'Ask it again now' : 'Retry phase 2 now'}
          </button>`
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
                  <div class="participant-actions">
                    ${
                      doubt &&
                      !p.acknowledged &&
                      ['COMMITTED', 'ABORTED'].map(
                        (outcome) =>
                          html`<button
                            onClick=${() =>
                              setPending({ action: `in-doubt-${outcome}`, participant: p.name })}
                          >
                            Resolve as ${outcome.toLowerCase()}…
                          </button>`,
                      )
                    }
                    ${
                      decided &&
                      !p.acknowledged &&
                      html`<button
                        onClick=${() => setPending({ action: 'resolve', participant: p.name })}
                      >
                        Mark resolved…
                      </button>`
                    }
                  </div>
                </td>
                <td>
                  ${p.lastError && html`<span class="flag error">ERROR</span> ${p.lastError}`}
                  ${
                    !p.acknowledged &&
                    (decided || doubt) &&
                    p.nextAttemptAt &&
                    html`<br /><span class="muted" data-testid="next-retry"
                        >${nextRetry(p.nextAttemptAt, at)}</span
                      >`
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
