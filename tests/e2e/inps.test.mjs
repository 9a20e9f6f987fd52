// The INPS flows as back office meets them on the demo: the pre-send report of the last
// full quarter lists the records left out with their reasons, the PSA flow downloads
// under its flow id, validates against INPS's XSD, and joins the register.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

const xsd = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'spec', 'inps', 'PS_PSA_SINA201806.xsd');

test('back office reads the pre-send report, downloads the PSA flow and finds it in the register', async () => {
  const context = await demo.browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(base + '/app/login');
  await page.fill('#username', 'backoffice');
  await page.fill('#password', 'mosaico-demo');
  await Promise.all([page.waitForURL(base + '/app'), page.click('button[type=submit]')]);
  await page.getByRole('link', { name: 'Flussi INPS' }).click();
  await page.waitForURL(/\/app\/inps/);

  // The report of the default period (the last full quarter): records in and out.
  const counts = await page.locator('#counts-psa').innerText();
  const [, included, rejected] = counts.match(/(\d+) record\S* nel flusso, (\d+) scartat/) ?? [];
  assert.ok(Number(included) > 0, counts);
  assert.ok(Number(rejected) > 0, counts);
  const reasons = await page.locator('#rejected-psa-list table').innerText();
  assert.match(reasons, /SINA/);
  // Each rejected record links to its case, where the social worker can fix it.
  assert.ok((await page.locator('#rejected-psa-list a[href^="/app/cases/"]').count()) > 0);

  // The flow downloads under its id and passes the XSD.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#download-psa button[type=submit]').click(),
  ]);
  const name = download.suggestedFilename();
  assert.match(name, /^F205\.PSA\.INPS\.\d{8}\.\d{7}\.xml$/);
  const file = join(demo.dataDir, name);
  await download.saveAs(file);
  const xml = readFileSync(file, 'utf8');
  assert.equal((xml.match(/<Beneficiario /g) ?? []).length > 0, true);
  execFileSync('xmllint', ['--noout', '--schema', xsd, file], { stdio: 'pipe' });

  // The register shows the flow just produced.
  await page.reload();
  assert.match(await page.locator('#register ~ table').first().innerText(), new RegExp(name.replace('.xml', '').replaceAll('.', '\\.')));
  await context.close();
});

test('a social worker has no INPS page', async () => {
  const context = await demo.browser.newContext();
  const page = await context.newPage();
  await page.goto(base + '/app/login');
  await page.fill('#username', 'assistente');
  await page.fill('#password', 'mosaico-demo');
  await Promise.all([page.waitForURL(base + '/app'), page.click('button[type=submit]')]);
  assert.equal(await page.getByRole('link', { name: 'Flussi INPS' }).count(), 0);
  const res = await page.goto(base + '/app/inps');
  assert.equal(res.status(), 403);
  await context.close();
});
