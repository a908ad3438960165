import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import type { TwopcClient } from 'twopc/internal/twopc-client';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import type { FakeParticipant } from '../support/fake-participant.ts';
import { SecureRig } from '../support/secure-rig.ts';
import { memorySpans } from '../support/tracing.ts';

/** Debian's browser; nothing is downloaded. */
const CHROMIUM = process.env.TWOPC_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots of each step, kept as test artifacts. */
const SHOTS = fileURLToPath(new URL('../../test-artifacts/console/', import.meta.url));

describe('operator console in a real browser (Chromium, HTTPS, token sign-in)', function () {
  this.timeout(60_000);
  let rig: SecureRig;
  let h: Harness;
  let shop: TwopcClient;
  let browser: Browser;
  let page: Page;
  let bankA: FakeParticipant;
  let bankB: FakeParticipant;
  let hang: FakeParticipant;
  let silent: FakeParticipant;
  const problems: string[] = [];
  const fleet = new FakeFleet();
  const shot = (name: string): Promise<Buffer> =>
    page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const row = (txnId: string) => page.locator(`tr[data-txn="${txnId}"]`);

  before(async function () {
    mkdirSync(SHOTS, { recursive: true });
    memorySpans();
    rig = await SecureRig.create({
      'bank-a': ['127.0.0.1:*'],
      'bank-b': ['127.0.0.1:*'],
      'slow-voter': ['127.0.0.1:*'],
      'one-phase': ['127.0.0.1:*'],
    });
    h = await startCoordinator(await migratedSchema(import.meta.url), {
      ...rig.config(),
      consoleListen: '127.0.0.1:0',
      traceUrl: 'https://traces.test/trace/{traceId}',
      stuckAfterMs: 300,
      prepareTimeoutMs: 120_000,
      tokenClockSkewS: 0,
    });
    shop = rig.client(h.app.address, 'shop');
    bankA = await fleet.start('bank-a', { failCommitTimes: 1e9 }, rig.participantCredentials());
    bankB = await fleet.start('bank-b', {}, rig.participantCredentials());
    hang = await fleet.start('slow-voter', { vote: 'hang' }, rig.participantCredentials());
    // Takes the one-phase Commit and never answers it: whether it landed, only it knows.
    silent = await fleet.start('one-phase', { hangCommit: true }, rig.participantCredentials());
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    // The rig's CA is made for this run; the handshake is real, the browser is told to accept it.
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1400, height: 900 },
    });
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) {
        problems.push(`console: ${m.text()}`);
      }
    });
  });
  after(async function () {
    await browser?.close();
    shop?.close();
    await fleet.stopAll();
    await h?.stop();
    rig?.remove();
  });
  afterEach(function () {
    assert.deepEqual(problems, [], 'the page ran without errors (CSP included)');
  });

  it('asks for a token, refuses one without the operator role, signs an operator in', async function () {
    await page.goto(h.app.consoleUrl ?? '');
    await page.getByTestId('signin').waitFor();
    assert.match(await page.getByTestId('signin-error').innerText(), /bearer token/);
    await shot('01-sign-in');
    await page.locator('textarea[name=token]').fill(await rig.sign('bob', { roles: ['client'] }));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(/needs the role operator; 'bob' has client/).waitFor();
    await page
      .locator('textarea[name=token]')
      .fill(await rig.sign('alice-ops', { roles: ['operator'] }));
    await page.getByRole('button', { name: 'Sign in' }).click();
    assert.equal(await page.getByTestId('who').innerText(), 'alice-ops (token)');
  });

  let stuck = '';
  let preparing = '';
  let inDoubt = '';

  it('updates the list live, and shows the stuck and in-doubt views', async function () {
    const tx = await shop.begin({ participants: [bankA.ref, bankB.ref] });
    stuck = tx.txnId;
    await shop.commit(stuck);
    await row(stuck).waitFor();
    const late = await shop.begin({ labels: { order: '42' } });
    await row(late.txnId).waitFor(); // no reload: the page polls
    assert.match(await row(late.txnId).innerText(), /ACTIVE/);
    const slow = await shop.begin({ participants: [hang.ref, bankB.ref] });
    preparing = slow.txnId;
    shop.commit(preparing).catch(() => undefined); // stays PREPARING: the voter never answers
    await hang.waitFor((c) => c.method === 'Prepare' && c.txnId === preparing);
    inDoubt = (await shop.begin({ participants: [silent.ref] })).txnId;
    shop.commit(inDoubt).catch(() => undefined);
    // Its one-phase Commit arrives and is never answered; then it goes away.
    await silent.waitFor((c) => c.method === 'Commit' && c.txnId === inDoubt);
    await silent.stop();
    await eventually(
      async () => (await shop.get(inDoubt)).state === 'IN_DOUBT',
      30_000,
      'IN_DOUBT',
    );
    await shot('02-all');
    await page.getByRole('button', { name: 'Stuck' }).click();
    await row(stuck).locator('.flag.stuck').waitFor();
    await row(late.txnId).waitFor({ state: 'detached' });
    await shot('03-stuck');
    // In doubt: the one-phase transaction whose outcome only its participant
    // knows, shown as IN_DOUBT; not the PREPARING one, which the coordinator decides.
    await page.getByRole('button', { name: 'In doubt' }).click();
    await row(inDoubt).getByText('IN_DOUBT', { exact: true }).waitFor();
    assert.equal(await row(preparing).count(), 0);
    assert.equal(await row(stuck).count(), 0);
    await shot('04-in-doubt');
    // The state filter offers every state a row shows.
    await page.getByRole('button', { name: 'All' }).click();
    await page.locator('select[name=state]').selectOption('IN_DOUBT');
    await row(inDoubt).waitFor();
    await row(preparing).waitFor({ state: 'detached' });
    await page.locator('select[name=state]').selectOption('');
    await row(preparing).waitFor();
    await page.getByRole('button', { name: 'All' }).click();
    // Typed slower than the page polls: what is typed stays, and Enter applies it.
    await page.locator('input[name=label]').pressSequentially('order=42', { delay: 400 });
    await page.locator('input[name=label]').press('Enter');
    await row(late.txnId).waitFor();
    await row(stuck).waitFor({ state: 'detached' });
    assert.equal(await page.locator('input[name=label]').inputValue(), 'order=42');
    await page.locator('input[name=label]').fill('');
    await page.locator('input[name=label]').press('Tab'); // leaving the field applies it too
    await row(stuck).waitFor();
  });

  it("shows a transaction's participants, timeline and trace; retries and resolves after confirming", async function () {
    await row(stuck).getByRole('link').click();
    const detail = page.getByTestId('detail');
    await detail.getByText('Commit failed (UNAVAILABLE)').first().waitFor();
    const timeline = await page.getByTestId('timeline').innerText();
    assert.match(timeline, /begun/);
    assert.match(timeline, /decided COMMITTED/);
    const trace = await page.getByTestId('trace').getAttribute('href');
    const { traceId } = await shop.get(stuck);
    assert.equal(trace, `https://traces.test/trace/${traceId}`);
    await shot('05-detail');
    // At 1,400 px nothing is clipped or wrapped: the participant's action is
    // inside the page, a vote stays on one line with its check mark, and the
    // next retry is a time to come (or says it is due), with the time.
    const owed = detail.locator('tr[data-participant="bank-a"]');
    const button = await owed.getByRole('button', { name: 'Mark resolved…' }).boundingBox();
    const pane = await detail.boundingBox();
    assert.ok(button !== null && pane !== null);
    assert.ok(
      button.x >= pane.x && button.x + button.width <= Math.min(pane.x + pane.width, 1400),
      `Mark resolved… at ${button.x}–${button.x + button.width}, its pane ${pane.x}–${pane.x + pane.width}`,
    );
    assert.match(
      await owed.getByTestId('next-retry').innerText(),
      /^(next retry in [1-9]\d* s \(|retry due now \(was )\d\d:\d\d:\d\d\)$/,
    );
    // One line box each: no wrap inside the participant, its vote and check mark.
    const lines = await row(stuck)
      .locator('.participant', { hasText: '✓' })
      .evaluate((el) => {
        const range = el.ownerDocument.createRange();
        range.selectNodeContents(el);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
      });
    assert.equal(lines, 1, 'bank-b PREPARED ✓ on one line');
    const vote = await owed
      .locator('td')
      .nth(1)
      .evaluate((el) => {
        const range = el.ownerDocument.createRange();
        range.selectNodeContents(el);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
      });
    assert.equal(vote, 1, 'PREPARED on one line in the detail');
    assert.match(
      await page.getByTestId('timeline').innerText(),
      /bank-a: \d+ attempts failed, last: .*; next retry at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/,
    );

    const commits = bankA.callsOf('Commit', stuck).length;
    await detail.getByRole('button', { name: 'Retry phase 2 now' }).click();
    await page.getByTestId('confirm').waitFor();
    await shot('06-confirm-retry');
    await page.getByTestId('confirm').getByRole('button', { name: 'Confirm' }).click();
    await page
      .getByTestId('notice')
      .getByText(/Phase 2 re-sent/)
      .waitFor();
    await bankA.waitFor((c) => c.method === 'Commit' && c.txnId === stuck && c.seq > commits);

    await detail.locator('tr[data-participant="bank-a"]').getByRole('button').click();
    const dialog = page.getByTestId('confirm');
    assert.match(await dialog.innerText(), /resolved by hand as COMMITTED/);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    assert.equal(await dialog.isVisible(), true, 'a note is required');
    await dialog.locator('input[name=note]').fill('committed by hand in the ledger');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await page
      .getByTestId('notice')
      .getByText(/bank-a recorded as resolved/)
      .waitFor();
    await page.getByTestId('state').getByText('COMMITTED', { exact: true }).waitFor();
    assert.match(await page.getByTestId('timeline').innerText(), /operator RESOLVE bank-a/);
    await shot('07-resolved');
    assert.equal((await shop.get(stuck)).state, 'COMMITTED');
  });

  it('shows an IN_DOUBT transaction as such: asked again, resolved with what its participant says', async function () {
    await page.goto(`${h.app.consoleUrl ?? ''}#/tx/${inDoubt}`);
    const detail = page.getByTestId('detail');
    await detail.getByTestId('state').getByText('IN_DOUBT', { exact: true }).waitFor();
    await detail.getByRole('button', { name: 'Ask it again now' }).click();
    await page.getByTestId('confirm').getByRole('button', { name: 'Confirm' }).click();
    await page.getByTestId('notice').getByText('Phase 2 re-sent (IN_DOUBT).').waitFor();
    await detail.getByRole('button', { name: 'Resolve as committed…' }).click();
    await page.locator('input[name=note]').fill('its orders table has the row');
    await page.getByTestId('confirm').getByRole('button', { name: 'Confirm' }).click();
    await detail.getByTestId('state').getByText('COMMITTED', { exact: true }).waitFor();
    assert.equal((await shop.get(inDoubt)).state, 'COMMITTED');
  });

  it('aborts a PREPARING transaction only once confirmed', async function () {
    await page.goto(`${h.app.consoleUrl ?? ''}#/tx/${preparing}`);
    const detail = page.getByTestId('detail');
    await detail.getByTestId('state').getByText('PREPARING').waitFor();
    await detail.getByRole('button', { name: 'Abort…' }).click();
    await page.getByTestId('confirm').getByRole('button', { name: 'Cancel' }).click();
    await page.getByTestId('confirm').waitFor({ state: 'detached' });
    assert.equal((await shop.get(preparing)).state, 'PREPARING', 'cancelled: nothing done');
    await detail.getByRole('button', { name: 'Abort…' }).click();
    await page.locator('input[name=reason]').fill('voter hung');
    await page.getByTestId('confirm').getByRole('button', { name: 'Confirm' }).click();
    await page
      .getByTestId('notice')
      .getByText(/Aborted/)
      .waitFor();
    await detail.getByTestId('state').getByText('ABORTED', { exact: true }).waitFor();
    await shot('08-aborted');
    assert.equal((await shop.get(preparing)).state, 'ABORTED');
  });

  it('goes back to signing in when the token expires', async function () {
    const tab = await page.context().newPage();
    try {
      await tab.goto(h.app.consoleUrl ?? '');
      const short = await rig.sign('bea-ops', { roles: ['operator'] }, { expiresIn: '3s' });
      await tab.locator('textarea[name=token]').fill(short);
      await tab.getByRole('button', { name: 'Sign in' }).click();
      assert.equal(await tab.getByTestId('who').innerText(), 'bea-ops (token)');
      // The next poll after the expiry is refused, and the page asks again.
      await tab.getByTestId('signin').waitFor({ timeout: 20_000 });
      assert.match(await tab.getByTestId('signin-error').innerText(), /expired/);
    } finally {
      await tab.close();
    }
  });

  it('refuses a page whose own name was rebound to the console (DNS rebinding)', async function () {
    // The browser resolves a foreign name to this machine, as a rebinding
    // page's name does: it sends that name as Host and Origin.
    const rebinding = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--host-resolver-rules=MAP rebind.evil.test 127.0.0.1'],
    });
    try {
      const tab = await (await rebinding.newContext({ ignoreHTTPSErrors: true })).newPage();
      const rebound = (h.app.consoleUrl ?? '').replace('127.0.0.1', 'rebind.evil.test');
      const answer = await tab.goto(rebound);
      assert.equal(answer?.status(), 421);
      assert.match(await tab.content(), /not served under the name 'rebind\.evil\.test/);
      const api = await tab.evaluate(async () => {
        const r = await fetch('/api/transactions');
        return r.status;
      });
      assert.equal(api, 421);
    } finally {
      await rebinding.close();
    }
  });
});
