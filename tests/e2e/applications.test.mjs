// Citizens' online applications in a real headless Chromium, on the demo: a citizen
// signs in with her fiscal code, is refused a bad submission field by field, gets a
// parking permit approved automatically and sees the time to decision; her income
// support waits in the back office's queue, the back office decides it, and she sees
// the decision.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from './server.mjs';

let demo;
let base;

// The demo citizen resident in Milan without applications (case-app seed.rs).
const LAURA = 'BNCLRA58D52F205U';
const PASSWORD = 'mosaico-demo';

before(async () => {
  demo = await startDemo(2000);
  base = demo.base;
});

after(async () => {
  await demo?.stop();
});

function daysAgo(n) {
  return new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
}

async function citizen() {
  const context = await demo.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(base + '/citizen');
  await page.waitForURL(/\/citizen\/login/);
  await page.fill('#fiscal_code', 'bnclra58d52f205u'); // lower case is fine
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(base + '/citizen');
  return page;
}

async function submit(page, formId) {
  await Promise.all([page.waitForLoadState('load'), page.locator(`#${formId} button[type=submit]`).click()]);
}

test('a wrong password is refused on the citizens\' sign-in', async () => {
  const context = await demo.browser.newContext();
  const page = await context.newPage();
  await page.goto(base + '/citizen/login');
  await page.fill('#fiscal_code', LAURA);
  await page.fill('#password', 'sbagliata');
  await page.click('button[type=submit]');
  assert.match(await page.locator('.flash').innerText(), /Codice fiscale o password non validi/);
  await context.close();
});

test('a citizen gets a parking permit approved automatically, then follows her income support to the office\'s decision', async () => {
  let page = await citizen();
  assert.match(await page.locator('h1').innerText(), /Buongiorno, Laura Bianchi/);
  assert.match(await page.locator('#mine ~ p.muted, #mine ~ table').first().innerText(), /Nessuna domanda/);

  // --- Parking permit: a bad submission first (no certificate, an impossible date).
  await page.getByRole('link', { name: /Contrassegno di parcheggio/ }).click();
  await page.waitForURL(/\/citizen\/apply\/parking_permit$/);
  await page.fill('#email', '');
  await page.fill('#phone', '02 1234567');
  await submit(page, 'apply-form');
  const refusal = page.locator('.flash');
  assert.match(await refusal.innerText(), /Non salvato/);
  assert.match(await refusal.locator('[data-field=email]').innerText(), /E-mail per le notifiche: obbligatorio/);
  assert.match(await refusal.locator('[data-field=certificate_issued_on]').innerText(), /obbligatorio/);
  assert.match(await refusal.locator('[data-field=doc_medical_certificate]').innerText(),
    /Certificato medico-legale.*allegare il documento/);
  // What was typed is still there.
  assert.equal(await page.inputValue('#phone'), '02 1234567');

  // --- Now complete: the certificate uploaded, approved at once.
  await page.fill('#email', 'laura.bianchi@example.org');
  await page.fill('#certificate_issued_on', daysAgo(12));
  await page.setInputFiles('#doc_medical_certificate', {
    name: 'certificato-medico-legale.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 certificato'),
  });
  const started = Date.now();
  await submit(page, 'apply-form');
  await page.waitForURL(/\/citizen\/applications\/\d+$/);
  const parkingUrl = page.url();
  assert.ok(Date.now() - started < 30_000, 'decided while the citizen waits');
  assert.match(await page.locator('#status').innerText(), /accolta \(automatica\)/);
  assert.match(await page.locator('dl').innerText(), /decisione automatica/);
  const time = await page.locator('#time-to-decision').innerText();
  assert.match(time, /^\d+ (ms|s)$/, `time to decision in seconds at most: ${time}`);
  assert.match(await page.locator('#checks ~ table').first().innerText(), /Residenza\s+superato/);
  assert.match(await page.locator('#documents ~ table').first().innerText(), /certificato-medico-legale\.pdf/);
  const notifications = await page.locator('#notifications ~ table').first().innerText();
  assert.match(notifications, /ricevuta/);
  assert.match(notifications, /laura\.bianchi@example\.org[\s\S]*accolta/);

  // --- Income support: goes to the office.
  await page.goto(base + '/citizen/apply/income_support');
  await page.fill('#isee', '7350,00');
  await page.fill('#household_members', '3');
  await page.setInputFiles('#doc_isee_attestation', {
    name: 'attestazione-isee.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 ISEE'),
  });
  await submit(page, 'apply-form');
  await page.waitForURL(/\/citizen\/applications\/\d+$/);
  const incomeUrl = page.url();
  const incomeId = incomeUrl.match(/(\d+)$/)[1];
  assert.match(await page.locator('#status').innerText(), /in istruttoria/);
  assert.match(await page.locator('#time-to-decision').innerText(), /in attesa/);
  assert.match(await page.locator('#reasons + ul').innerText(), /valutazione del nucleo/);
  await page.goto(base + '/citizen');
  const mine = await page.locator('#mine ~ table').first().innerText();
  assert.match(mine, /Contrassegno[\s\S]*accolta \(automatica\)/);
  assert.match(mine, /Sostegno al reddito\s+in istruttoria/);
  await page.context().close();

  // --- The back office finds it in the queue, with the timing figures, and decides.
  const context = await demo.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const bo = await context.newPage();
  await bo.goto(base + '/app/applications');
  await bo.waitForURL(/\/app\/login/);
  await bo.fill('#username', 'backoffice');
  await bo.fill('#password', PASSWORD);
  await bo.click('button[type=submit]');
  await bo.waitForURL(base + '/app/applications');
  const timings = await bo.locator('#timings + table').innerText();
  assert.match(timings, /Contrassegno di parcheggio per persone con disabilità\s+0\s+[1-9]\d*\s+[1-9]\d*\s+\d+ (ms|s)/);
  const queue = await bo.locator('#queue-filter ~ table').first().innerText();
  assert.match(queue, new RegExp(`#${incomeId}\\s+Sostegno al reddito\\s+Laura Bianchi ${LAURA}\\s+in istruttoria`));
  // The filters: the approved permits are not in review.
  await bo.selectOption('#service', 'parking_permit');
  await bo.selectOption('#status', 'auto_approved');
  await submit(bo, 'queue-filter');
  assert.match(await bo.locator('#queue-filter ~ table').first().innerText(), /Laura Bianchi[\s\S]*accolta \(automatica\)/);

  await bo.goto(`${base}/app/applications/${incomeId}`);
  assert.match(await bo.locator('#checks ~ table').first().innerText(), /ISEE\s+superato\s+ISEE 7\.350,00 € entro la soglia di 9\.360,00 €/);
  // A rejection without a reason is refused; the approval goes through.
  await bo.selectOption('#decision', 'reject');
  await submit(bo, 'decision-form');
  assert.match(await bo.locator('.flash [data-field=note]').innerText(), /obbligatorio/);
  await bo.selectOption('#decision', 'approve');
  await bo.fill('#note', 'Nucleo verificato con l\'assistente sociale');
  await submit(bo, 'decision-form');
  assert.match(await bo.locator('#status').innerText(), /accolta/);
  assert.match(await bo.locator('dl').innerText(), /Luca Ferri/);
  assert.equal(await bo.locator('#decision-form').count(), 0, 'decided once');
  await context.close();

  // --- The citizen sees the decision, its time and the notification.
  page = await citizen();
  await page.goto(incomeUrl);
  assert.match(await page.locator('#status').innerText(), /^accolta$/);
  assert.match(await page.locator('#time-to-decision').innerText(), /^\d+ (ms|s|min)/);
  assert.match(await page.locator('dl').innerText(), /Nucleo verificato con l'assistente sociale/);
  assert.match(await page.locator('#notifications ~ table').first().innerText(), /L'ufficio ha accolto/);
  await page.goto(parkingUrl);
  assert.match(await page.locator('#status').innerText(), /accolta \(automatica\)/);
  await page.context().close();
});
