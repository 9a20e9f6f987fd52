// The landing page in a real headless Chromium: `mosaico demo` is started on a
// free port with its own data folder, and the page must show Milan as a hex map.
//
// MOSAICO_BIN picks the binary (default: target/debug/mosaico from the repository root).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const bin = process.env.MOSAICO_BIN ?? join(root, 'target', 'debug', 'mosaico');
const dataDir = mkdtempSync(join(tmpdir(), 'mosaico-e2e-'));
let server;
let browser;
let base;

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

async function waitFor(url, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (server.exitCode !== null) throw new Error(`mosaico exited with ${server.exitCode}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['demo', '--port', String(port), '--persons', '30000'], {
    cwd: root,
    env: { ...process.env, MOSAICO_DATA_DIR: dataDir, MOSAICO_LOG: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitFor(`${base}/healthz`, 180_000);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGINT');
  rmSync(dataDir, { recursive: true, force: true });
});

test('the landing page shows a hex map of Milan with the NIL outlines', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
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
  await page.screenshot({ path: join(dataDir, 'landing.png') });
});

test('a planner switches the measure and the language', async () => {
  const page = await browser.newPage();
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
  const page = await browser.newPage();
  await page.goto(base + '/');
  const title = await page.locator('svg#map path.hex:not(.suppressed) title').first().textContent();
  assert.match(title, /^NIL .+ · \d+ persone · 89[0-9a-f]{13}$/);
});
