import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { FakeFleet } from '../support/fake-participant.ts';

/** Debian's browser; nothing is downloaded. */
const CHROMIUM = process.env.TWOPC_CHROMIUM ?? '/usr/bin/chromium';

/** A right-to-left override that flips the rest of a row, a CR, an ESC sequence, an 8-bit CSI. */
const PLANT = '\u202eDETTIMMOC\u202c\rFAKE\u001b[2J\u009b31m\u2066x\u2069\u0007';
/** Characters that act instead of showing: C0 but \n, DEL, C1, bidirectional controls. */
const ACTIVE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

describe('operator console in a real browser: stored text shown with its control characters escaped', function () {
  this.timeout(60_000);
  let h: Harness;
  let browser: Browser;
  let page: Page;
  const fleet = new FakeFleet();

  /** The rendered text of the page, as the DOM holds it. */
  const text = (): Promise<string> => page.locator('body').evaluate((b) => b.textContent ?? '');

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url), {
      consoleListen: '127.0.0.1:0',
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage();
  });
  after(async function () {
    await browser?.close();
    await fleet.stopAll();
    await h?.stop();
  });

  it('the list, the detail and the timeline escape a label, an abort reason and a vote reason', async function () {
    const voter = await fleet.start('voter', { vote: 'ABORT', abortReason: PLANT });
    const other = await fleet.start('other');
    const voted = await h.client.begin({
      labels: { note: PLANT },
      participants: [voter.ref, other.ref],
    });
    await h.client.commit(voted.txnId);
    const aborted = await h.client.begin({});
    await h.client.abort(aborted.txnId, PLANT);

    await page.goto(h.app.consoleUrl ?? '');
    await page.locator(`tr[data-txn="${aborted.txnId}"]`).waitFor();
    const list = await text();
    assert.equal(ACTIVE.exec(list)?.[0], undefined, `the list: ${JSON.stringify(list)}`);
    assert.match(list, /\\u202eDETTIMMOC\\u202c\\rFAKE\\x1b\[2J\\x9b31m/);

    await page.goto(`${h.app.consoleUrl ?? ''}#/tx/${voted.txnId}`);
    await page
      .getByTestId('timeline')
      .getByText(/voter voted ABORT/)
      .waitFor();
    const detail = await text();
    assert.equal(ACTIVE.exec(detail)?.[0], undefined, `the detail: ${JSON.stringify(detail)}`);
    assert.match(detail, /note=\\u202eDETTIMMOC/);
  });
});
