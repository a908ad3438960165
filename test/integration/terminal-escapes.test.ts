import assert from 'node:assert/strict';
import { txCli } from '../support/tx-cli.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { FakeFleet } from '../support/fake-participant.ts';

/**
 * What an attacker plants: clear the screen, set the window title, a
 * clickable link (OSC 8), a bell, a carriage return that overwrites the
 * line, an 8-bit CSI, and a right-to-left override.
 */
const PLANT =
  '\u001b[2J\u001b]0;pwned\u0007\u001b]8;;https://evil.example/\u001b\\link\u001b]8;;\u001b\\\u0007\rFAKE-COMMITTED\u009b31m\u202eevil\u2066';

/** Bytes a terminal acts on: C0 but \n, DEL, C1, bidirectional controls. */
const ACTIVE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

function assertInert(text: string, what: string): void {
  const m = ACTIVE.exec(text);
  assert.equal(
    m === null ? null : `U+${(m[0].codePointAt(0) ?? 0).toString(16)} at ${m.index}`,
    null,
    `${what} printed a raw control character:\n${JSON.stringify(text)}`,
  );
}

describe('stored text printed for a human: control characters escaped', function () {
  this.timeout(30_000);
  let h: Harness;
  const fleet = new FakeFleet();
  const tx = (...args: string[]): ReturnType<typeof txCli> =>
    txCli([...args, '--address', h.app.address]);

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url));
  });
  after(async function () {
    await fleet.stopAll();
    await h.stop();
  });

  it('tx list, tx show and the timeline escape a label, an abort reason and a vote reason; --json keeps them exact', async function () {
    const voter = await fleet.start('voter', { vote: 'ABORT', abortReason: `no ${PLANT}` });
    const other = await fleet.start('other');
    // A label and a vote reason, through Begin and a participant's Prepare answer.
    const voted = await h.client.begin({
      labels: { note: PLANT },
      participants: [voter.ref, other.ref],
    });
    assert.equal((await h.client.commit(voted.txnId)).outcome, 'ABORTED');
    // A client's abort reason, through Abort.
    const aborted = await h.client.begin({ labels: { note: 'plain' } });
    await h.client.abort(aborted.txnId, `client says ${PLANT}`);

    const list = await tx('list', '--limit', '10');
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, new RegExp(aborted.txnId));
    assertInert(list.out + list.err, 'tx list');
    assert.match(list.out, /client says \\x1b\[2J\\x1b\]0;pwned\\x07/);

    for (const id of [voted.txnId, aborted.txnId]) {
      const show = await tx('show', id);
      assert.equal(show.code, 0, show.err);
      assertInert(show.out + show.err, `tx show ${id}`);
    }
    const show = await tx('show', voted.txnId);
    assert.match(show.out, /labels {3}note=\\x1b\[2J/);
    assert.match(
      show.out,
      /voter voted ABORT: no \\x1b\[2J.*\\rFAKE-COMMITTED\\x9b31m\\u202eevil\\u2066/,
    );

    // --json is for programs: the exact stored text.
    const json = await tx('show', voted.txnId, '--json');
    const parsed = JSON.parse(json.out) as { labels: Record<string, string>; reason: string };
    assert.equal(parsed.labels.note, PLANT);
    const jsonList = JSON.parse((await tx('list', '--json')).out) as { reason: string }[];
    assert.ok(jsonList.some((t) => t.reason === `client says ${PLANT}`));
  });
});
