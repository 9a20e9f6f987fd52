// The planners' page in a real headless Chromium: choose a target and a service, see
// the hex map of demand, accessibility and gap with the NIL outlines, the ranked NIL,
// and download the rows.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDemo } from './server.mjs';

let demo;
let base;

before(async () => {
  demo = await startDemo(30000);
  base = demo.base;
});

after(async () => {
  await demo?.stop();
});

test('a planner reaches the page from the map and sees the gap of the over-75s living alone', async () => {
  const page = await demo.browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });
  await page.goto(base + '/');
  await page.locator('a#planner').click();
  await page.waitForURL(/\/planner/);
  assert.equal(await page.locator('#target').inputValue(), 'anziani_75_soli');
  assert.equal(await page.locator('#measure').inputValue(), 'gap');
  assert.match(await page.locator('h2#what').innerText(), /^Anziani di 75 anni e più che vivono soli — Scopertura$/);
  const hexes = await page.locator('svg#map path.hex').count();
  assert.ok(hexes >= 500, `only ${hexes} hexes`);
  assert.equal(await page.locator('svg#map path.nil').count(), 88);
  // The ranked table: NIL by decreasing gap.
  const rows = page.locator('table#ranked tbody tr');
  assert.equal(await rows.count(), 20);
  const gaps = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.children[4].textContent.replace(/\./g, '').replace(',', '.'))));
  assert.ok(gaps.every((g, i) => i === 0 || gaps[i - 1] >= g), `not ranked: ${gaps}`);
  assert.ok(gaps[0] > 0, 'the first NIL has a gap');
  assert.deepEqual(external, [], 'the page fetched from outside the server');
  await page.screenshot({ path: join(demo.dataDir, 'planner.png'), fullPage: true });
});

test('choosing another target, service and measure redraws the map', async () => {
  const page = await demo.browser.newPage({ viewport: { width: 1400, height: 1100 } });
  await page.goto(base + '/planner');
  await page.locator('#target').selectOption('prima_infanzia');
  await page.locator('#service').selectOption('NIDO');
  await page.locator('#measure').selectOption('accessibility');
  await page.getByRole('button', { name: 'Mostra' }).click();
  await page.waitForURL(/target=prima_infanzia/);
  assert.match(page.url(), /service=NIDO/);
  assert.match(await page.locator('h2#what').innerText(), /Accessibilità$/);
  // Accessibility: coloured hexes, grey where no nursery place is within reach.
  const coloured = await page.locator('svg#map path.hex:not(.suppressed):not(.empty)').count();
  assert.ok(coloured > 100, `${coloured} coloured hexes`);
  const title = await page.locator('svg#map path.hex:not(.suppressed):not(.empty) title').first().textContent();
  assert.match(title, /% della media del territorio · 89[0-9a-f]{13}$/);
  const places = await page.locator('#totals dd').nth(3).innerText();
  assert.ok(Number(places.replace(/\./g, '')) > 0, `places ${places}`);
});

test('the download buttons give the rows as CSV, GeoJSON and Arrow', async () => {
  const page = await demo.browser.newPage();
  await page.goto(base + '/planner?lang=en');
  assert.equal(await page.locator('h1').innerText(), 'Demand, supply and gaps');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('a.download[data-format="csv"]').first().click(),
  ]);
  const path = await download.path();
  const { readFileSync } = await import('node:fs');
  const csv = readFileSync(path, 'utf8');
  assert.match(csv.split('\n')[0], /^id,name,hex_id,nil_id,municipio,comune_istat,rank,potential,suppressed,accessibility,relative,gap,gap_share$/);
  assert.ok(csv.trim().split('\n').length > 500);
  const geo = await page.evaluate(async () => {
    const a = [...document.querySelectorAll('a.download[data-format="geojson"]')].at(-1);
    const r = await fetch(a.href);
    return { type: r.headers.get('content-type'), body: await r.json() };
  });
  assert.equal(geo.type, 'application/geo+json');
  assert.ok(geo.body.features.length >= 70, `${geo.body.features.length} NIL`);
  assert.equal(geo.body.features[0].properties.rank, 1);
  const arrow = await page.evaluate(async () => {
    const r = await fetch(document.querySelector('a.download[data-format="arrow"]').href);
    return { type: r.headers.get('content-type'), size: (await r.arrayBuffer()).byteLength };
  });
  assert.equal(arrow.type, 'application/vnd.apache.arrow.stream');
  assert.ok(arrow.size > 10000);
});
