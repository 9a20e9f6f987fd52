// The Piano di Zona as a manager meets it on the demo: from the case-file menu to the
// report of a year, its tables and three-year trend, the files to download (XLSX, ISTAT
// CSV), the same report again at its recorded version, an empty year said as such and
// a bad filter answered with the form and a message.

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
  const context = await demo.browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(base + '/app/login');
  await page.fill('#username', user);
  await page.fill('#password', 'mosaico-demo');
  await Promise.all([page.waitForURL(base + '/app'), page.click('button[type=submit]')]);
  return { context, page };
}

test('a manager opens the Piano di Zona of a year, downloads it and makes it again at its version', async () => {
  const { context, page } = await signIn('dirigente');
  await page.getByRole('link', { name: 'Report', exact: true }).click();
  await page.waitForURL(/\/reports/);
  await page.fill('input[name=from]', '2025-01');
  await page.fill('input[name=to]', '2025-12');
  await Promise.all([page.waitForURL(/from=2025-01/), page.getByRole('button', { name: 'Mostra' }).click()]);
  assert.match(await page.locator('h2').first().innerText(), /Piano di Zona — periodo 2025/);

  // The scope's table: a total line with users and spending, and the quotas.
  const total = page.locator('table.pdz tr.total').last();
  const cells = await total.locator('td').allInnerTexts();
  assert.equal(cells[0], 'Totale');
  const users = Number(cells[2].replaceAll('.', ''));
  assert.ok(users > 100, `total users ${cells[2]}`);
  assert.ok(await page.locator('#trend tbody tr').count() >= 7, 'a trend row per area');
  assert.ok(await page.locator('#coverage tbody tr').count() >= 80, 'a coverage row per NIL');

  // The workbook and the ISTAT CSV download with the report's version.
  const stamp = await page.locator('.stamp').innerText();
  const version = stamp.match(/versione (\S+)/)[1];
  const [xlsx] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'XLSX', exact: true }).click()]);
  assert.match(xlsx.suggestedFilename(), /^piano_di_zona_015146_202501_202512\.xlsx$/);
  const csv = await page.evaluate(async (href) => (await fetch(href)).text(),
    await page.getByRole('link', { name: 'Tavole ISTAT CSV' }).getAttribute('href'));
  assert.match(csv.split('\n')[0], /^anno_o_periodo,codice_istat_comune,comune,area_utenza/);
  assert.ok(csv.includes(`,015146,Milano,`));

  // The same report at its version shows the same total.
  await page.getByRole('link', { name: 'rifai il report con gli stessi dati' }).click();
  await page.waitForURL(/version=/);
  assert.equal(new URL(page.url()).searchParams.get('version'), version);
  const again = await page.locator('table.pdz tr.total').last().locator('td').allInnerTexts();
  assert.deepEqual(again, cells);
  await context.close();
});

test('an empty year is said so, a bad filter keeps the form, a social worker is refused', async () => {
  const { context, page } = await signIn('dirigente');
  // The last twelve months by default, with the RSA waiting list the demo keeps.
  await page.goto(base + '/reports');
  const waiting = await page.locator('#waiting tbody tr').allInnerTexts();
  assert.ok(waiting.some((r) => r.includes('RSA')), waiting.join(' | '));
  assert.equal(await page.locator('#map-coverage path.area').count(), 88);

  await page.goto(base + '/reports?year=2012');
  assert.match(await page.locator('#empty').innerText(), /Nessun intervento nel periodo 2012/);
  assert.equal(await page.locator('table.pdz').count(), 0);

  const resp = await page.goto(base + '/reports?ambito=ZZ');
  assert.equal(resp.status(), 400);
  assert.match(await page.getByRole('alert').innerText(), /ambito: 'ZZ' is not an ambito in your scope; yours: MI/);
  assert.equal(await page.locator('form.filters').count(), 1);
  await context.close();

  const worker = await signIn('assistente');
  assert.equal(await worker.page.getByRole('link', { name: 'Report', exact: true }).count(), 0, 'no menu entry');
  const refused = await worker.page.goto(base + '/reports');
  assert.equal(refused.status(), 403);
  await worker.context.close();
});
