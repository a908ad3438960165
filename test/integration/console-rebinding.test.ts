import assert from 'node:assert/strict';
import { request } from 'node:http';
import { hostAllowed } from '../../src/console/console-server.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { loggedState, migratedSchema } from '../support/db.ts';

interface Answer {
  readonly status: number;
  readonly text: string;
}

/** One plain-HTTP request with exactly these headers (as a browser sends them). */
function send(
  port: number,
  path: string,
  headers: Record<string, string>,
  method = 'GET',
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('console: DNS rebinding (the npm start default: HTTP on loopback, no sign-in)', function () {
  let schema: string;
  let h: Harness;
  let port: number;

  before(async function () {
    schema = await migratedSchema(import.meta.url);
    h = await startCoordinator(schema, {
      consoleListen: '127.0.0.1:0',
      consoleHosts: ['ops.example.test'],
    });
    port = Number(/:(\d+)\/$/.exec(h.app.consoleUrl ?? '')?.[1]);
  });
  after(async function () {
    await h.stop();
  });

  it('refuses a rebound name (421) for the page, a read and an action, and changes nothing', async function () {
    const { txnId } = await h.client.begin();
    const rebound = {
      host: `rebind.evil.test:${port}`,
      origin: `http://rebind.evil.test:${port}`,
      'sec-fetch-site': 'same-origin',
    };
    for (const [method, path, body] of [
      ['GET', '/', undefined],
      ['GET', '/api/transactions', undefined],
      ['GET', `/api/transactions/${txnId}`, undefined],
      ['POST', `/api/transactions/${txnId}/abort`, JSON.stringify({ reason: 'rebound' })],
    ] as const) {
      const answer = await send(
        port,
        path,
        { ...rebound, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        method,
        body,
      );
      assert.equal(answer.status, 421, `${method} ${path}: ${answer.text}`);
      assert.match(
        answer.text,
        /not served under the name 'rebind\.evil\.test:\d+'.*--console-hosts/,
      );
      assert.doesNotMatch(answer.text, new RegExp(txnId));
    }
    assert.equal(await loggedState(schema, txnId), 'ACTIVE', 'the rebound abort changed nothing');
  });

  it('answers its own names: the address, localhost and the names listed with --console-hosts', async function () {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `ops.example.test:${port}`,
      'OPS.example.test',
    ]) {
      const answer = await send(port, '/api/transactions', { host });
      assert.equal(answer.status, 200, `${host}: ${answer.text}`);
    }
  });

  it("refuses a lone surrogate in an action's text (JSON can carry one), naming the field", async function () {
    const { txnId } = await h.client.begin();
    const answer = await send(
      port,
      `/api/transactions/${txnId}/abort`,
      { host: `127.0.0.1:${port}`, 'content-type': 'application/json' },
      'POST',
      '{"reason":"bad \\ud800 text"}',
    );
    assert.equal(answer.status, 400, answer.text);
    assert.match(answer.text, /reason: holds a lone UTF-16 surrogate/);
    assert.equal(await loggedState(schema, txnId), 'ACTIVE');
  });
});

describe('hostAllowed()', function () {
  const names = new Set(['ops.example.test']);
  it('takes IP literals, localhost and listed names; refuses any other name and a missing Host', function () {
    for (const ok of [
      '127.0.0.1',
      '127.0.0.1:9465',
      '[::1]:9465',
      '10.1.2.3',
      'localhost:1',
      'ops.example.test:443',
    ]) {
      assert.equal(hostAllowed(ok, names), true, ok);
    }
    for (const bad of [
      undefined,
      '',
      'rebind.evil.test',
      'localhost.evil.test',
      '127.0.0.1.nip.io:9465',
      '[::1',
      'ops.example.test.evil:1',
    ]) {
      assert.equal(hostAllowed(bad, names), false, String(bad));
    }
  });
});
