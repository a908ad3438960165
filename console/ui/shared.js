// What every part of the console uses: templates, the API, formatting, polling.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);
export const TOKEN_KEY = 'twopc-console-token';
/** Dispatched on window when the API refuses the token (expired, revoked). */
export const SIGNED_OUT = 'twopc:signed-out';
const POLL_MS = 2000;

export class ApiError extends Error {
  constructor(status, body) {
    super(body.message);
    this.status = status;
    this.code = body.code;
  }
}

/** Calls the console API: GET, or POST with `body`. @throws ApiError */
export async function api(path, body) {
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
export const stateOf = (tx) => short(tx.state, 'TRANSACTION_STATE_');
export const outcomeOf = (value) => short(value, 'OUTCOME_').replace('UNSPECIFIED', '-');
export const voteOf = (value) => short(value, 'VOTE_').replace('UNSPECIFIED', '-');

export function age(iso, now) {
  if (!iso) {
    return '-';
  }
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

/** Polls `load` every POLL_MS while `live`, and again whenever `key` changes. */
export function usePoll(load, key, live) {
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

export function Flags({ tx }) {
  return html`${tx.stuck && html`<span class="flag stuck">STUCK</span>`}${
    tx.heuristic && html`<span class="flag heuristic">HEURISTIC</span>`
  }`;
}
