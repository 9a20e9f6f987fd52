// The managers' dashboard in a real headless Chromium, on the demo: the manager opens it
// from the case-management nav, sees the charts (SVG with titles), changes the period
// and the ente, sorts a table by its header link, sets a year's budget through the form
// and finds it in the table; a social worker is refused.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from './server.mjs';

let demo;
let base;

before(async () => {
  demo = await startDemo(5000);
  base = demo.base;
});

after(async () => {
  await demo?.stop();
});

async function signIn(user) {
  const context = await demo.browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(base + '/app/login');
  await page.fill('#username', user);
  await page.fill('#password', 'mosaico-demo');
  await Promise.all([page.waitForURL(base + '/app'), page.click('button[type=submit]')]);
  return page;
}

/** The first column of a table's body rows. */
async function firstColumn(page, id) {
  return page.locator(`#${id} tbody tr td:first-child`).allTextContents();
}

test('a manager reads the dashboard, filters, sorts and sets a budget', async () => {
  const page = await signIn('dirigente');
  await Promise.all([page.waitForLoadState('load'), page.click('#nav-dashboard')]);
  assert.match(page.url(), /\/dashboard$/);
  for (const id of ['chart-flows', 'chart-spending', 'chart-quota', 'chart-nil']) {
    const svg = page.locator(`svg#${id}`);
    assert.equal(await svg.count(), 1, id);
    assert.equal(await svg.getAttribute('role'), 'img');
    assert.ok((await svg.getAttribute('aria-label')).length > 5, id);
    assert.ok((await svg.locator('title').first().textContent()).length > 5, id);
  }
  assert.match(await page.locator('#marks-legend').textContent(), /dato oscurato \(meno di 5 casi\)/);

  // The period and the ente.
  await page.fill('#from', '2025-01');
  await page.fill('#to', '2025-12');
  await page.selectOption('#ente', '015146');
  await Promise.all([page.waitForLoadState('load'), page.click('#filters button[type=submit]')]);
  assert.match(page.url(), /ente=015146/);
  assert.match(page.url(), /from=2025-01/);
  assert.match(await page.locator('#scope').textContent(), /Milano · periodo 2025/);
  assert.equal(await page.locator('#chart-flows').count(), 1);

  // Sort the spending table by budget, then the other way round.
  const before = await firstColumn(page, 'spending-table');
  await Promise.all([page.waitForLoadState('load'), page.click('#spending-table th[data-col=budget] a')]);
  assert.equal(await page.locator('#spending-table th[data-col=budget]').getAttribute('aria-sort'), 'ascending');
  const asc = await firstColumn(page, 'spending-table');
  await Promise.all([page.waitForLoadState('load'), page.click('#spending-table th[data-col=budget] a')]);
  assert.equal(await page.locator('#spending-table th[data-col=budget]').getAttribute('aria-sort'), 'descending');
  const desc = await firstColumn(page, 'spending-table');
  assert.deepEqual([...asc].reverse(), desc);
  assert.notDeepEqual(before, desc);
  assert.equal(desc[0], 'Anziani'); // the largest budget of the demo's seed
  assert.match(page.url(), /from=2025-01&to=2025-12/); // the filters are kept

  // A bad amount is refused with the field's error; a good one is saved and shown.
  await page.fill('#budget-year', '2025');
  for (const [area, euros] of [['famiglia_minori', '1.000.000'], ['disabili', '1.000.000'], ['dipendenze', '100.000'],
    ['immigrati_nomadi', '100.000'], ['poverta_disagio_adulti', '500.000'], ['multiutenza', '50.000']]) {
    await page.fill(`#budget-${area}`, euros);
  }
  await page.fill('#budget-anziani', 'molti');
  await Promise.all([page.waitForLoadState('load'), page.click('#budget-form button[type=submit]')]);
  assert.equal(await page.locator('#err-anziani').count(), 1);
  assert.equal(await page.inputValue('#budget-disabili'), '1.000.000');
  await page.fill('#budget-anziani', '9.000.000');
  await Promise.all([page.waitForLoadState('load'), page.click('#budget-form button[type=submit]')]);
  assert.equal(await page.locator('#notice').count(), 1);
  const row = page.locator('#spending-table tbody tr', { hasText: 'Anziani' });
  assert.equal((await row.locator('td').nth(6).textContent()).trim(), '9.000.000');
  assert.match(await page.locator('#chart-spending').innerHTML(), /<rect|<polyline|<path/);
  await page.context().close();
});

test('a social worker is refused', async () => {
  const page = await signIn('assistente');
  assert.equal(await page.locator('#nav-dashboard').count(), 0);
  const resp = await page.goto(base + '/dashboard');
  assert.equal(resp.status(), 403);
  const api = await page.request.get(base + '/api/v1/dashboard');
  assert.equal(api.status(), 403);
  await page.context().close();
});
