// Residential care in a real headless Chromium, on the demo: a social worker asks for a
// place in an RSD, back office verifies the documents (ISEE, medical assessment,
// consent) and admits from the waiting list, the facility operator fills a month of
// presences, and back office approves the pre-bill, which becomes a payment certificate.

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

async function signOut(page) {
  await page.context().close();
}

/** Submits the form with this id and waits for the page that answers. */
async function submit(page, formId) {
  await Promise.all([page.waitForLoadState('load'), page.locator(`#${formId} button[type=submit]`).click()]);
}

/** `YYYY-MM` of the month `back` months before today (UTC, as the server counts). */
function month(back) {
  const d = new Date();
  const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - back, 1));
  return m.toISOString().slice(0, 7);
}

function daysIn(ym) {
  const [y, m] = ym.split('-').map(Number);
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

test('a placement goes from the request to a month of presences and an approved certificate', async () => {
  const requestedOn = `${month(3)}-01`;
  const admitted = month(2);

  // --- The social worker picks one of her open cases, assessed, opened before the request date.
  let page = await signIn('assistente');
  const cases = await (await page.request.get(base + '/api/v1/cases?status=open&mine=true&limit=500')).json();
  let caseId;
  for (const c of cases.filter((c) => c.opened_on <= requestedOn)) {
    const file = await (await page.request.get(`${base}/api/v1/cases/${c.id}`)).json();
    if (file.assessments.length > 0) {
      caseId = c.id;
      break;
    }
  }
  assert.ok(caseId, 'the demo has an assessed open case old enough');
  await page.goto(`${base}/app/cases/${caseId}`);
  await page.selectOption('#pl-facility_type', 'RSD');
  await page.fill('#pl-requested_on', requestedOn);
  await page.selectOption('#pl-household_score', '3');
  // Missing reason and household note: refused field by field, nothing saved.
  await submit(page, 'placement-form');
  const refusal = await page.locator('.flash').innerText();
  assert.match(refusal, /Motivo/);
  assert.match(refusal, /Situazione familiare, in breve/);
  assert.equal(await page.locator('#placements + p.muted').count(), 1, 'no request was created');
  await page.selectOption('#pl-facility_type', 'RSD');
  await page.fill('#pl-requested_on', requestedOn);
  await page.selectOption('#pl-household_score', '3');
  await page.fill('#pl-reason', 'Disabilità grave, la famiglia non regge più il carico di cura');
  await page.fill('#pl-household_note', 'Madre anziana, unica caregiver');
  await submit(page, 'placement-form');
  await page.waitForURL(/\/app\/residential\/requests\/\d+$/);
  const requestUrl = page.url();
  assert.match(await page.locator('h1').innerText(), /Richiesta di inserimento #\d+ — .+ documenti da verificare/);
  await signOut(page);

  // --- Back office verifies the three documents; the ISEE needs its value.
  page = await signIn('backoffice');
  await page.goto(base + '/app/residential');
  const requestId = requestUrl.split('/').pop();
  assert.match(await page.locator('#to-check ~ table').first().innerText(), new RegExp(`#${requestId}`));
  await page.goto(requestUrl);
  const checkedOn = `${month(3)}-06`;
  await page.fill('#doc-isee-checked_on', checkedOn);
  await submit(page, 'check-isee');
  assert.match(await page.locator('.flash').innerText(), /ISEE/);
  await page.fill('#doc-isee-isee', '15000');
  await page.fill('#doc-isee-checked_on', checkedOn);
  await submit(page, 'check-isee');
  for (const kind of ['medical', 'consent']) {
    await page.fill(`#doc-${kind}-checked_on`, checkedOn);
    await submit(page, `check-${kind}`);
  }
  assert.match(await page.locator('h1').innerText(), /in graduatoria/);
  assert.match(await page.locator('#position').innerText(), /Posizione 1, punteggio [\d.]+, \d+ giorni di attesa/);
  const scoreTable = await page.locator('#position ~ table').first().innerText();
  assert.match(scoreTable, /Bisogno/);
  assert.match(scoreTable, /Situazione familiare\s+3\s+0\.750/);

  // The waiting list explains every position.
  await page.goto(base + '/app/residential/waitlists/RSD');
  assert.match(await page.locator('main table').first().innerText(), new RegExp(`#${requestId}`));

  // Admission at the start of the month before last into the demo's RSD.
  await page.goto(requestUrl);
  await page.fill('#admitted_on', `${admitted}-01`);
  await submit(page, 'admit-form');
  assert.match(await page.locator('h1').innerText(), /ammessa/);
  assert.match(await page.locator('#stays ~ table').first().innerText(), /RSD Villa Serena\s+[\d-]+/);
  const facilityHref = await page.locator('#stays ~ table a[href^="/app/facilities/"]').first().getAttribute('href');
  await signOut(page);

  // --- The facility operator records the month: absent on days 3–5, present otherwise.
  page = await signIn('operatore');
  await page.goto(`${base}${facilityHref}/presences/${admitted}`);
  const row = page.locator('tr[data-stay]');
  assert.equal(await row.count(), 1);
  const stay = await row.getAttribute('data-stay');
  for (const day of ['03', '04', '05']) {
    await page.selectOption(`select[name="s${stay}_${admitted}-${day}"]`, 'absent');
  }
  await Promise.all([page.waitForLoadState('load'), page.click('#fill-present')]);
  const cells = await row.locator('select').evaluateAll((ss) => ss.map((s) => s.value));
  const n = daysIn(admitted);
  assert.equal(cells.length, n);
  assert.equal(cells.filter((v) => v === 'absent').length, 3);
  assert.equal(cells.filter((v) => v === 'present').length, n - 3);
  await signOut(page);

  // --- Back office: last month is not recorded, so it cannot be approved; the month before is.
  page = await signIn('backoffice');
  await page.goto(`${base}${facilityHref}/prebills/${month(1)}`);
  assert.match(await page.locator('#blockers').innerText(), /giorni non registrati/);
  assert.equal(await page.locator('#approve-form').count(), 0);
  await page.goto(`${base}${facilityHref}/prebills/${admitted}`);
  const bill = await page.locator('main table').first().innerText();
  // RSD Villa Serena: 150 € a day, absences paid in full for the first 10 days.
  const total = n * 150;
  assert.match(bill, new RegExp(`${n - 3}\\s+3\\s+0\\s+0\\s+15000,00 €\\s+${total},00 €`));
  await submit(page, 'approve-form');
  await page.waitForURL(/\/app\/certificates\/\d+$/);
  const cert = await page.locator('#certificate').innerText();
  assert.match(cert, new RegExp(`Certificato di pagamento CP-015146-${admitted.replace('-', '')}-\\d{5}`));
  assert.match(await page.locator('#total').innerText(), new RegExp(`${total},00 €`));
  // The certified month is closed to changes.
  await page.goto(`${base}${facilityHref}/presences/${admitted}`);
  assert.match(await page.locator('#certified').innerText(), /Mese certificato/);
  assert.equal(await page.locator('#grid-form').count(), 0);
  await signOut(page);
});
