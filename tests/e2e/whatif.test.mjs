// The planners' what-if pages in a real headless Chromium: ask where to open three new
// day centres for the over-75s living alone, see the chosen sites on the "after" map and
// in the table, save them as a scenario; build a scenario by hand; compare the two.

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

const number = (s) => Number(s.replace(/\./g, '').replace(',', '.').replace('%', ''));

test('where to open three day centres for the over-75s living alone, then save them as a scenario', async () => {
  const page = await demo.browser.newPage({ viewport: { width: 1400, height: 1100 } });
  await page.goto(base + '/planner/locate');
  assert.equal(await page.locator('#target').inputValue(), 'anziani_75_soli');
  assert.equal(await page.locator('#service').inputValue(), 'CDI');
  await page.locator('#k').fill('3');
  await page.locator('#radius').fill('1.5');
  await page.getByRole('button', { name: 'Trova i siti' }).click();
  await page.waitForURL(/k=3/);
  assert.match(await page.locator('h2#answer').innerText(), /^3 nuovi CDI per Anziani di 75 anni e più che vivono soli$/);
  assert.match(await page.locator('#quality').innerText(), /Coprono [\d.]+ persone/);
  const rows = page.locator('table#sites tbody tr');
  assert.equal(await rows.count(), 3);
  const covered = await rows.evaluateAll((trs) => trs.map((tr) => tr.children[4].textContent));
  const n = covered.map(number);
  assert.ok(n[0] > 0 && n[0] >= n[1] && n[1] >= n[2], `covered: ${covered}`);
  // Before and after: the sites are marked on the "after" map only; places grow by 3 × 30.
  assert.equal(await page.locator('svg#map-after g.site').count(), 3);
  assert.equal(await page.locator('svg#map-before g.site').count(), 0);
  assert.ok(await page.locator('svg#map-after path.hex').count() > 100);
  const places = await page.locator('#totals tr[data-row="pl_places"] td').allInnerTexts();
  assert.equal(number(places[2]) - number(places[1]), 90, `places: ${places}`);
  const served = await page.locator('#totals tr[data-row="wi_served"] td').allInnerTexts();
  assert.ok(number(served[2]) >= number(served[1]), `served: ${served}`);
  await page.screenshot({ path: join(demo.dataDir, 'locate.png'), fullPage: true });
  // Saved as a scenario: its page shows the three openings and the same maps.
  await page.locator('#save-sites').getByRole('button', { name: 'Salva come scenario' }).click();
  await page.waitForURL(/\/planner\/scenarios\/3_nuovi_cdi/);
  assert.equal(await page.locator('#scenario-changes li').count(), 4, 'three openings and the catchment');
  assert.match(await page.locator('#scenario-changes li').first().innerText(), /^Apre CDI/);
  assert.ok(await page.locator('svg#map-before path.hex').count() > 100);
});

test('a planner builds a scenario by hand, sees it beside today, and compares it', async () => {
  const page = await demo.browser.newPage({ viewport: { width: 1400, height: 1100 } });
  await page.goto(base + '/planner/scenarios');
  await page.locator('#name').fill('Un CDI a Quarto Oggiaro');
  const open = page.locator('fieldset.open').first();
  await open.locator('select[name="open_type_1"]').selectOption('CDI');
  await open.locator('input[name="open_places_1"]').fill('40');
  await open.locator('select[name="open_nil_1"]').selectOption('80');
  await page.locator('input[name="catchment_km"]').fill('2');
  await page.locator('input[name="years"]').fill('3');
  await page.getByRole('button', { name: 'Salva e calcola' }).click();
  await page.waitForURL(/\/planner\/scenarios\/un_cdi_a_quarto_oggiaro/);
  const changes = await page.locator('#scenario-changes li').allInnerTexts();
  assert.deepEqual(changes.length, 3, `${changes}`);
  assert.match(changes[0], /Apre CDI\s+con 40 posti in NIL 80/);
  const places = await page.locator('#totals tr[data-row="pl_places"] td').allInnerTexts();
  assert.equal(number(places[2]) - number(places[1]), 40);
  // Cohort ageing three years ahead: more over-75s living alone.
  const demand = await page.locator('#totals tr[data-row="pl_potential"] td').allInnerTexts();
  assert.ok(number(demand[2]) > number(demand[1]), `demand: ${demand}`);
  assert.ok(await page.locator('table#changes tbody tr').count() > 0);

  // The same name again is refused on the form, which keeps what was typed.
  await page.goto(base + '/planner/scenarios');
  await page.locator('#name').fill('Un CDI a Quarto Oggiaro');
  await page.getByRole('button', { name: 'Salva e calcola' }).click();
  assert.match(await page.locator('#error').innerText(), /exists already/);
  assert.equal(await page.locator('#name').inputValue(), 'Un CDI a Quarto Oggiaro');

  // Compare the saved scenarios side by side with today.
  await page.goto(base + '/planner/scenarios');
  const boxes = page.locator('table#scenarios input[type="checkbox"]');
  assert.ok(await boxes.count() >= 1);
  for (let i = 0; i < await boxes.count(); i++) await boxes.nth(i).check();
  await page.getByRole('button', { name: 'Confronta gli scenari scelti' }).click();
  await page.waitForURL(/\/planner\/compare/);
  const head = await page.locator('table#compare-totals thead th').allInnerTexts();
  assert.equal(head[1], 'Oggi');
  assert.ok(head.includes('Un CDI a Quarto Oggiaro'), `${head}`);
  assert.ok(await page.locator('table#compare-nil tbody tr').count() > 50, 'the NIL with demand or places');
  await page.screenshot({ path: join(demo.dataDir, 'compare.png'), fullPage: true });
});
