// The landing page in a real headless Chromium: `mosaico demo` is started on a
// free port with its own data folder, and the page must show Milan as a hex map.

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

test('the landing page shows a hex map of Milan with the NIL outlines', async () => {
  const page = await demo.browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });
  await page.goto(base + '/');
  await page.waitForSelector('svg#map');
  const hexes = await page.locator('svg#map path.hex').count();
  assert.ok(hexes >= 1000, `only ${hexes} hexes on the map`);
  assert.equal(await page.locator('svg#map path.nil').count(), 88);
  assert.equal(await page.locator('h2').first().innerText(), 'Dove vivono i residenti');
  // The map is really drawn: it has a size on screen and hexes have colours.
  const box = await page.locator('svg#map').boundingBox();
  assert.ok(box.width > 500 && box.height > 400, `map box ${JSON.stringify(box)}`);
  const fill = await page.locator('svg#map path.hex:not(.suppressed)').first().getAttribute('fill');
  assert.match(fill, /^#[0-9a-f]{6}$/);
  assert.deepEqual(external, [], 'the page fetched from outside the server');
  await page.screenshot({ path: join(demo.dataDir, 'landing.png') });
});

test('a planner switches the measure and the language', async () => {
  const page = await demo.browser.newPage();
  await page.goto(base + '/');
  await page.getByRole('link', { name: 'Anziani 75+' }).click();
  await page.waitForURL(/metric=elderly_75/);
  assert.equal(await page.locator('nav a.on').innerText(), 'Anziani 75+');
  const total = await page.locator('dd').first().innerText();
  assert.ok(Number(total.replace(/\./g, '')) > 1000, `75+ total ${total}`);
  await page.getByRole('link', { name: 'English' }).click();
  await page.waitForURL(/lang=en/);
  assert.equal(await page.locator('h2').first().innerText(), 'Where residents live');
  assert.equal(await page.locator('nav a.on').innerText(), 'Aged 75+');
});

test('a hexagon names its NIL and count on hover', async () => {
  const page = await demo.browser.newPage();
  await page.goto(base + '/');
  const title = await page.locator('svg#map path.hex:not(.suppressed) title').first().textContent();
  assert.match(title, /^NIL .+ · \d+ persone · 89[0-9a-f]{13}$/);
});
