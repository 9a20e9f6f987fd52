// A whole case in a real headless Chromium, as a social worker and a coordinator
// would walk it on the demo: register a person, first contact (A), assessment (B),
// plan (C) and its approval, an intervention (D), the diary, a document, and the
// closure (E) — with the refusals a real user meets on the way.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
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
  const context = await demo.browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(base + '/app');
  await page.waitForURL(/\/app\/login/);
  await page.fill('#username', user);
  await page.fill('#password', 'mosaico-demo');
  await page.click('button[type=submit]');
  await page.waitForURL(base + '/app');
  return page;
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Esci' }).click();
  await page.waitForURL(/\/app\/login/);
  await page.context().close();
}

/** Submits the form with this id and waits for the page that answers. */
async function submit(page, formId) {
  await Promise.all([page.waitForLoadState('load'), page.locator(`#${formId} button[type=submit]`).click()]);
}

test('wrong passwords are refused, and pages need a session', async () => {
  const context = await demo.browser.newContext();
  const page = await context.newPage();
  const res = await page.goto(base + '/app/cases/1');
  assert.match(page.url(), /\/app\/login\?next=%2Fapp%2Fcases%2F1$/);
  assert.equal(res.status(), 200);
  await page.fill('#username', 'assistente');
  await page.fill('#password', 'sbagliata');
  await page.click('button[type=submit]');
  assert.match(await page.locator('.flash').innerText(), /Nome utente o password non validi/);
  await context.close();
});

test('a social worker and a coordinator take a case from first contact to closure', async () => {
  // --- The social worker registers the person.
  let page = await signIn('assistente');
  assert.match(await page.locator('h1').innerText(), /Buongiorno, Giulia Conti/);
  await page.fill('#q', 'Rossi Mario');
  await page.getByRole('button', { name: 'Cerca' }).click();
  await page.getByRole('link', { name: 'Nuova persona' }).first().click();
  await page.waitForURL(/\/app\/persons\/new/);

  // A wrong check character and an impossible date are named, field by field.
  await page.fill('#surname', 'Rossi');
  await page.fill('#given_name', 'Mario');
  await page.fill('#fiscal_code', 'RSSMRA85T10A562X');
  await page.selectOption('#sex', 'M');
  await page.fill('#birth_date', '1985-12-10');
  await page.fill('#birth_place', 'San Giuliano Milanese');
  await page.fill('#address', 'Via Padova 120');
  await page.fill('#lat', '45.5012');
  await page.fill('#lng', '9.2301');
  await page.locator('form.box button[type=submit]').click();
  await page.waitForLoadState('load');
  const refusal = await page.locator('.flash').innerText();
  assert.match(refusal, /Codice fiscale/);
  assert.match(refusal, /carattere di controllo è «X», gli altri caratteri danno «S»/);
  await page.fill('#fiscal_code', 'RSSMRA85T10A562S');
  await page.locator('form.box button[type=submit]').click();
  await page.waitForLoadState('load');
  if (await page.locator('input[name=confirm_not_duplicate]').count()) {
    // A namesake born the same day in the demo registry: confirm it is someone else.
    await page.check('input[name=confirm_not_duplicate]');
    await page.locator('form.box button[type=submit]').click();
    await page.waitForLoadState('load');
  }
  await page.waitForURL(/\/app\/persons\/\d+$/);
  assert.match(await page.locator('h1').innerText(), /Rossi Mario RSSMRA85T10A562S/);

  // A correction of the address is kept in the history, with who and what.
  await page.getByRole('link', { name: 'Modifica i dati anagrafici' }).click();
  await page.fill('#address', 'Via Padova 122');
  await page.locator('form.box button[type=submit]').click();
  await page.waitForURL(/\/app\/persons\/\d+#history$/);
  const history = await page.locator('#history + table').innerText();
  assert.match(history, /2\s+modifica\s+assistente\s+[\d-]+ [\d:]+\s+address/);
  assert.match(history, /1\s+creazione\s+assistente/);

  // A new household at his address, with him as its head.
  await page.locator('#household-form button[type=submit]').click();
  await page.waitForURL(/#household$/);
  assert.match(await page.locator('#household ~ table').first().innerText(), /Rossi Mario\s+1985-12-10\s+intestatario/);

  // --- A: first contact, which opens the case.
  await page.selectOption('#channel', 'phone');
  await page.selectOption('#requester', 'family');
  await page.selectOption('#area', 'anziani');
  await page.selectOption('#outcome', 'case_opened');
  await page.fill('#request', 'La sorella chiede aiuto: vive solo dopo un ricovero');
  await submit(page, 'contact-form');
  await page.waitForURL(/\/app\/cases\/\d+/);
  const caseUrl = page.url().replace(/#.*$/, '');
  assert.match(await page.locator('h1').innerText(), /Cartella #\d+ — Rossi Mario/);
  assert.match(await page.locator('#contacts ~ table').first().innerText(), /Telefono/);

  // A plan before the assessment is refused with a reason.
  await page.fill('#plan-form [name=goals]', 'Restare a casa');
  await page.fill('#plan-form [name=actions]', 'Assistenza domiciliare');
  await submit(page, 'plan-form');
  assert.match(await page.locator('.flash').innerText(), /valutazione/i);
  // What was typed is still there.
  assert.equal(await page.inputValue('#plan-form [name=goals]'), 'Restare a casa');

  // --- B: assessment.
  for (const [area, grade] of [['health', '3'], ['autonomy', '3'], ['household', '2'], ['housing', '1'],
    ['income', '2'], ['work', '0'], ['network', '3']]) {
    await page.selectOption(`#assessment-form [name=${area}]`, grade);
  }
  await page.fill('#assessment-form [name=notes]', 'Colloquio con la sorella; casa con barriere');
  await submit(page, 'assessment-form');
  assert.match(await page.locator('#assessments ~ table').first().innerText(), /SVAMA[\s\S]*50/);

  // --- C: plan, sent to the coordinator.
  await page.fill('#plan-form [name=goals]', 'Restare a casa in sicurezza\nRiattivare la rete di vicinato');
  await page.fill('#plan-form [name=actions]', 'SAD tre volte a settimana\nTelesoccorso');
  await page.fill('#plan-form [name=team]', 'Giulia Conti (AS)\nInfermiere ADI');
  await page.check('#plan-form input[name=submit]');
  await submit(page, 'plan-form');
  assert.match(await page.locator('.plan').first().innerText(), /da approvare/);
  // No delivery before approval: the form has no plan to choose.
  assert.match(await page.locator('#needs-approved-plan').innerText(), /progetto approvato/);
  await signOut(page);

  // --- The coordinator approves it from the work list.
  page = await signIn('coordinatore');
  const toApprove = page.locator('#plans-to-approve + table a', { hasText: '#' + caseUrl.split('/').pop() });
  await toApprove.click();
  await page.waitForURL(caseUrl);
  await page.getByRole('button', { name: 'Approva' }).click();
  await page.waitForLoadState('load');
  assert.match(await page.locator('.plan').first().innerText(), /approvato/);
  await signOut(page);

  // --- The social worker delivers, writes the diary, attaches a document, closes.
  page = await signIn('assistente');
  await page.locator('#my-cases + table a', { hasText: '#' + caseUrl.split('/').pop() }).click();
  await page.waitForURL(caseUrl);
  await page.selectOption('#intervention-form [name=service_code]', 'SAD');
  await page.fill('#intervention-form [name=quantity]', '10');
  await page.fill('#intervention-form [name=unit_cost]', '22,50');
  await page.fill('#intervention-form [name=quota_utente]', '20');
  await submit(page, 'intervention-form');
  const delivered = await page.locator('#interventions + table').innerText();
  assert.match(delivered, /SAD[\s\S]*225,00 €[\s\S]*205,00 €[\s\S]*20,00 €/);

  await page.selectOption('#diary-form [name=kind]', 'home_visit');
  await page.fill('#diary-form [name=text]', 'Visita domiciliare: SAD avviato, la persona è soddisfatta');
  await submit(page, 'diary-form');
  assert.match(await page.locator('#diary + table').innerText(), /Visita domiciliare: SAD avviato/);

  const report = Buffer.from('Relazione sociale di Mario Rossi\n');
  await page.setInputFiles('#document-form [name=file]', { name: 'relazione.txt', mimeType: 'text/plain', buffer: report });
  await submit(page, 'document-form');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'relazione.txt' }).click()]);
  const saved = join(demo.dataDir, 'downloaded.txt');
  await download.saveAs(saved);
  const { readFileSync } = await import('node:fs');
  assert.equal(createHash('sha256').update(readFileSync(saved)).digest('hex'),
    createHash('sha256').update(report).digest('hex'));

  // Closing with the intervention still running is refused.
  await page.fill('#closure-form [name=outcome]', 'Obiettivi raggiunti');
  await submit(page, 'closure-form');
  assert.match(await page.locator('.flash').innerText(), /interventi in corso/);
  await page.locator('#interventions + table button', { hasText: 'Chiudi' }).click();
  await page.waitForLoadState('load');
  assert.doesNotMatch(await page.locator('#interventions + table').innerText(), /in corso/);
  await page.fill('#closure-form [name=outcome]', 'Rete attivata, SAD concluso');
  await submit(page, 'closure-form');
  assert.match(await page.locator('#closed').innerText(), /Chiusa il .*Obiettivi raggiunti/);
  assert.match(await page.locator('h1').innerText(), /chiusa/);
  assert.equal(await page.locator('#diary-form').count(), 0, 'a closed case takes no more entries');
  await page.screenshot({ path: join(demo.dataDir, 'case.png'), fullPage: true });
  await signOut(page);

  // --- The administrator finds every read and write of the case in the audit log.
  page = await signIn('admin');
  await page.goto(base + '/app/audit?case_id=' + caseUrl.split('/').pop());
  const log = await page.locator('table').innerText();
  for (const [who, action] of [['assistente', 'close'], ['coordinatore', 'approve'], ['assistente', 'download'],
    ['coordinatore', 'read'], ['assistente', 'create']]) {
    assert.match(log, new RegExp(`${who}\\s+\\S+\\s+${action}`), `${who} ${action} missing from the audit`);
  }
  await signOut(page);
});
