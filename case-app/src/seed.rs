//! Demo seeding: tenancy, one user per role, and a few hundred case files drawn from
//! the synthetic civil registry (`registry.csv` of `mosaico samples generate`), each
//! written through the same operations the pages use, so every demo record passed the
//! same checks a social worker's would.

use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate};
use mosaico_domain::AreaUtenza;
use mosaico_domain::services::{self, Spending};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde_json::json;

use crate::input::*;
use crate::model::{Actor, Role};
use crate::{CaseError, Created, Result, Store, today};

/// The demo password of every demo user.
pub const DEMO_PASSWORD: &str = "mosaico-demo";

/// The demo users: user name, full name, role, ente (or `None` for the ambito).
pub const DEMO_USERS: &[(&str, &str, Role, Option<&str>)] = &[
    ("assistente", "Giulia Conti (AS)", Role::SocialWorker, Some(mosaico_domain::MILANO)),
    ("assistente2", "Marco Sala (AS)", Role::SocialWorker, Some(mosaico_domain::MILANO)),
    ("coordinatore", "Paola Riva (coord.)", Role::Coordinator, Some(mosaico_domain::MILANO)),
    ("backoffice", "Luca Ferri (back office)", Role::BackOffice, Some(mosaico_domain::MILANO)),
    ("operatore", "Anna Villa (struttura)", Role::FacilityOperator, Some(mosaico_domain::MILANO)),
    ("dirigente", "Roberto Galli (dirigente)", Role::Manager, Some(mosaico_domain::MILANO)),
    ("pianificatore", "Chiara Longo (pianificazione)", Role::Planner, Some(mosaico_domain::MILANO)),
    ("statistico", "Davide Pini (statistica)", Role::Statistician, Some(mosaico_domain::MILANO)),
    ("admin", "Amministratore di sistema", Role::Admin, Some(mosaico_domain::MILANO)),
    ("assistente.sesto", "Elena Neri (AS Sesto)", Role::SocialWorker, Some("015209")),
];

/// A demo citizen with an online account (password [`DEMO_PASSWORD`]), on Milan's
/// portal. `resident`: registered in Milan's registry, so their applications pass the
/// residence check.
#[derive(Debug, Clone, Copy)]
pub struct DemoApplicant {
    /// Codice fiscale: what they sign in with at `/citizen/login`.
    pub fiscal_code: &'static str,
    /// Surname.
    pub surname: &'static str,
    /// Given name.
    pub given_name: &'static str,
    /// Date of birth.
    pub birth_date: &'static str,
    /// `M` or `F`.
    pub sex: &'static str,
    /// Whether the registry has them as residents of Milan.
    pub resident: bool,
    /// What the seed submits for them, if anything.
    pub seeded_application: Option<&'static str>,
}

/// The demo citizens. Laura Bianchi has no application yet (the browser suite applies
/// as her); Paolo Verdi is not resident (his parking-permit application was rejected
/// automatically); Anna Esposito's income support waits in the back-office queue.
pub const DEMO_APPLICANTS: &[DemoApplicant] = &[
    DemoApplicant {
        fiscal_code: "BNCLRA58D52F205U",
        surname: "Bianchi",
        given_name: "Laura",
        birth_date: "1958-04-12",
        sex: "F",
        resident: true,
        seeded_application: None,
    },
    DemoApplicant {
        fiscal_code: "VRDPLA70P03F205Z",
        surname: "Verdi",
        given_name: "Paolo",
        birth_date: "1970-09-03",
        sex: "M",
        resident: false,
        seeded_application: Some("parking_permit"),
    },
    DemoApplicant {
        fiscal_code: "SPSNNA81E45F205L",
        surname: "Esposito",
        given_name: "Anna",
        birth_date: "1981-05-05",
        sex: "F",
        resident: true,
        seeded_application: Some("income_support"),
    },
];

/// What was seeded.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Seeded {
    /// Persons registered.
    pub persons: usize,
    /// Cases opened.
    pub cases: usize,
    /// Of which closed.
    pub closed: usize,
    /// Interventions recorded.
    pub interventions: usize,
    /// Alerts recorded.
    pub alerts: usize,
    /// Residential facilities registered.
    pub facilities: usize,
    /// Placement requests made.
    pub placement_requests: usize,
    /// Residents admitted.
    pub residents: usize,
}

/// A row of the civil-registry export.
#[derive(Debug, Clone, Deserialize)]
struct RegistryRow {
    codice_fiscale: String,
    cognome: String,
    nome: String,
    sesso: String,
    data_nascita: String,
    luogo_nascita: String,
    cittadinanza: String,
    relazione_parentela: String,
    indirizzo: String,
    latitudine: String,
    longitudine: String,
    codice_istat_comune: String,
}

/// Creates the demo tenancy and users (if the database has no user yet) and `cases`
/// case files from `registry`. Deterministic for a given `seed` and day.
pub async fn demo(store: &Store, registry: &Path, cases: usize, seed: u64) -> Result<Seeded> {
    if store.user_count().await? > 0 {
        return Ok(Seeded::default());
    }
    store.upsert_ambito("MI", "Ambito territoriale di Milano", &[(mosaico_domain::MILANO, "Milano")]).await?;
    store
        .upsert_ambito(
            "NORD-MI",
            "Ambito Nord Milano",
            &[("015209", "Sesto San Giovanni"), ("015077", "Cinisello Balsamo")],
        )
        .await?;
    for (user, name, role, ente) in DEMO_USERS {
        let scope = ente.ok_or("MI");
        store.create_user(user, name, *role, scope, DEMO_PASSWORD).await?;
    }
    let login = |u: &'static str| async move { store.login(u, DEMO_PASSWORD, "seed").await.map(|s| s.actor) };
    let workers = [login("assistente").await?, login("assistente2").await?];
    let coordinator = login("coordinatore").await?;
    let back_office = login("backoffice").await?;

    // The registry can hold millions of rows: the Milanese ones with a home are
    // shuffled as row numbers, and only the rows used are read back.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut eligible: Vec<usize> = Vec::new();
    scan_registry(registry, |i, r, at| {
        if r.get(at.comune).is_some_and(|c| c == mosaico_domain::MILANO.as_bytes())
            && r.get(at.latitude).is_some_and(|l| !l.is_empty())
        {
            eligible.push(i);
        }
        Ok(())
    })?;
    eligible.shuffle(&mut rng);
    eligible.truncate(cases + 12);
    let wanted: std::collections::HashSet<usize> = eligible.iter().copied().collect();
    let rows = registry_rows(registry, &wanted)?;
    let picked: Vec<&RegistryRow> = eligible.iter().filter_map(|i| rows.get(i)).collect();
    let today = today();
    let mut out = Seeded::default();
    for (i, row) in picked.iter().take(cases).enumerate() {
        let worker = &workers[i % workers.len()];
        let Some(person_id) = register(store, worker, row).await? else { continue };
        out.persons += 1;
        let age = NaiveDate::parse_from_str(&row.data_nascita, "%Y-%m-%d").map_or(40, |b| (today - b).num_days() / 365);
        let area = area_for(age, &row.cittadinanza, &mut rng);
        let story = Story::draw(&mut rng, today);
        if let Some(case) = story.play(store, worker, &coordinator, person_id, area, &mut rng, &mut out).await? {
            out.cases += 1;
            let _ = case;
        }
    }
    for (i, row) in picked.iter().skip(cases).take(12).enumerate() {
        let sources = ["school", "hospital", "police", "other"];
        let alert: AlertInput = from(json!({
            "source": (sources[i % sources.len()]),
            "reporter": (["IC Giacosa", "Ospedale Niguarda, pronto soccorso", "Polizia locale, comando zona 2", "Parrocchia"][i % 4]),
            "received_on": (today - Duration::days(rng.random_range(0..20))).to_string(),
            "subject": format!("{} {}, {}", row.nome, row.cognome, row.indirizzo),
            "description": (["Assenze ripetute e segni di trascuratezza", "Anziana sola dimessa senza rete familiare",
                "Intervento per lite in famiglia con minori presenti", "Persona senza dimora che chiede un posto letto"][i % 4]),
            "urgency": (["medium", "high", "high", "low"][i % 4]),
        }));
        store.create_alert(&back_office, &alert).await?;
        out.alerts += 1;
    }
    residential(store, &workers, &back_office, today, &mut out).await?;
    inps(store, registry, &workers, &back_office, today, &mut out).await?;
    out.persons += seed_applicants(store, &back_office).await?;
    budgets(store, &login("dirigente").await?).await?;
    Ok(out)
}

/// Milano's yearly budget per area di utenza, in euros: round figures near what the
/// demo sample (100,000 residents) spends in a year, so the dashboard's bars have
/// something to be measured against.
const MILANO_BUDGETS: [(&str, &str); 7] = [
    ("famiglia_minori", "2.400.000"),
    ("disabili", "3.000.000"),
    ("dipendenze", "400.000"),
    ("anziani", "4.500.000"),
    ("immigrati_nomadi", "600.000"),
    ("poverta_disagio_adulti", "1.500.000"),
    ("multiutenza", "300.000"),
];

/// Sets Milano's budgets for 2024–2026, through the same operation as the dashboard's form.
async fn budgets(store: &Store, manager: &Actor) -> Result<()> {
    for year in 2024..=2026 {
        let mut fields = serde_json::Map::new();
        fields.insert("year".into(), json!(year.to_string()));
        for (area, euros) in MILANO_BUDGETS {
            fields.insert(area.into(), json!(euros));
        }
        let input: crate::budgets::BudgetInput = from(serde_json::Value::Object(fields));
        store.set_budgets(manager, &input).await?;
    }
    Ok(())
}

/// The demo's facilities, a waiting list for RSA places, a few residents admitted two
/// months ago with their presences, and the month before last certified.
async fn residential(
    store: &Store,
    workers: &[Actor],
    back_office: &Actor,
    today: NaiveDate,
    out: &mut Seeded,
) -> Result<()> {
    use crate::residential::*;
    let facilities = [
        ("RSA-01", "RSA Pio Albergo Trivulzio — Nucleo Verde", "RSA", "Via Trivulzio 15", 60, "98.50", 10, 70),
        ("RSA-02", "RSA Casa di Riposo Niguarda", "RSA", "Via Ornato 40", 80, "105.00", 7, 60),
        ("RSA-03", "RSA Corvetto", "RSA", "Via dei Cinquecento 20", 45, "112.00", 15, 80),
        ("RSD-01", "RSD Villa Serena", "RSD", "Via Padova 155", 30, "150.00", 10, 70),
        ("CSS-01", "CSS Il Melograno", "CSS", "Via Gallarate 90", 10, "105.00", 10, 70),
        ("CDI-01", "CDI Lambrate", "CDI", "Via Conte Rosso 12", 30, "38.00", 5, 50),
    ];
    let mut ids = Vec::new();
    for (code, name, ty, address, places, fee, full_days, pct) in facilities {
        let f = store
            .create_facility(
                back_office,
                &from(json!({
                    "code": code, "name": name, "facility_type": ty, "address": address, "places": places,
                    "daily_fee": fee, "absence_full_days": full_days, "absence_rate_pct": pct,
                })),
            )
            .await?;
        ids.push(f.id);
    }
    store.assign_operator(back_office, "operatore", ids[0]).await?;
    store.assign_operator(back_office, "operatore", ids[3]).await?;

    // Requests for RSA places from the social workers' open cases with an assessment.
    let mut requests = Vec::new();
    for w in workers {
        for c in store.cases(w, "open", true, 500).await? {
            if requests.len() >= 14 {
                break;
            }
            let k = requests.len() as i64;
            let requested_on = today - Duration::days(150 - 9 * k);
            if c.opened_on > requested_on {
                // Opened after the request would be dated: not a candidate.
                continue;
            }
            let input: PlacementInput = from(json!({
                "facility_type": "RSA", "requested_on": requested_on.to_string(),
                "reason": "Non autosufficienza; il domicilio non garantisce più l'assistenza necessaria",
                "household_score": (k % 5).to_string(),
                "household_note": (["coniuge anziano", "figli lontani", "vive con badante", "sola", "sola, senza rete"][k as usize % 5]),
            }));
            match store.request_placement(w, c.id, &input).await {
                Ok(file) => requests.push((file.request.id, requested_on)),
                // A case without an assessment, or a closed one: not a candidate.
                Err(CaseError::Invalid(_) | CaseError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
    }
    // Back office verifies the documents of all but the last three, a week after each request.
    let n = requests.len();
    for (i, (id, requested_on)) in requests.iter().enumerate().take(n.saturating_sub(3)) {
        let on = (*requested_on + Duration::days(7)).min(today);
        for kind in DOCUMENT_KINDS {
            let mut check = json!({ "status": "verified", "checked_on": on.to_string() });
            if kind == "isee" {
                check["isee"] = json!(format!("{}", 6_000 + 3_100 * i));
            }
            store.check_placement_document(back_office, *id, kind, &from(check)).await?;
        }
    }
    // The four longest on the list were admitted to the first RSA at the start of the
    // month before last.
    let admitted_on = Month::of(today).previous().previous().first();
    let list = store.waitlist(back_office, None, "RSA").await?;
    let mut admitted = 0;
    for e in list.entries.iter().filter(|e| e.listed_on <= admitted_on).take(4) {
        let input: AdmitInput =
            from(json!({ "facility_id": ids[0].to_string(), "admitted_on": admitted_on.to_string() }));
        store.admit(back_office, e.request_id, &input).await?;
        admitted += 1;
    }
    // Presences from the admission to yesterday: present, with an absence now and then.
    let stays = store.facility(back_office, ids[0]).await?.1;
    let mut month = Month::of(admitted_on);
    while month.first() < today {
        let mut entries = Vec::new();
        for (k, st) in stays.iter().enumerate() {
            for day in month.days().into_iter().filter(|d| *d < today && st.covers(*d)) {
                let absent = (day.ordinal() as usize + 7 * k) % 23 < 2 || (k == 1 && (12..26).contains(&day.day()));
                let status = if absent { "absent" } else { "present" };
                entries.push(PresenceEntry { stay_id: st.id, day: day.to_string(), status: status.into() });
            }
        }
        store.record_presences(back_office, ids[0], &month.to_string(), &PresenceInput { entries }).await?;
        month = Month::of(month.next_first());
    }
    if admitted > 0 {
        let m = Month::of(admitted_on).to_string();
        store.approve_prebill(back_office, ids[0], &m, &from(json!({ "note": "Demo" }))).await?;
    }
    out.facilities = ids.len();
    out.placement_requests = n;
    out.residents = admitted;
    Ok(())
}

/// The demo citizens' accounts, their registry records, and their applications; the
/// number of persons registered.
async fn seed_applicants(store: &Store, registrar: &Actor) -> Result<usize> {
    use crate::applications::{ApplicationInput, Upload};
    let mut registered = 0;
    for a in DEMO_APPLICANTS {
        if a.resident {
            let input: PersonInput = from(json!({
                "fiscal_code": a.fiscal_code, "surname": a.surname, "given_name": a.given_name, "sex": a.sex,
                "birth_date": a.birth_date, "birth_place": "Milano", "citizenship": "Italia",
                "residence_istat": mosaico_domain::MILANO, "address": "Via Padova 21", "lat": 45.4951, "lng": 9.2212,
                "confirm_not_duplicate": true,
            }));
            if let Created::Person(_) = store.create_person(registrar, &input).await? {
                registered += 1;
            }
        }
        let email = format!("{}.{}@example.org", a.given_name.to_lowercase(), a.surname.to_lowercase());
        let name = format!("{} {}", a.given_name, a.surname);
        let applicant =
            store.create_applicant(mosaico_domain::MILANO, a.fiscal_code, &name, &email, DEMO_PASSWORD).await?;
        let pdf = |kind: &str| Upload {
            kind: kind.to_owned(),
            filename: format!("{kind}.pdf"),
            content_type: "application/pdf".to_owned(),
            content: format!("%PDF-1.4 demo {kind} of {}", a.fiscal_code).into_bytes(),
        };
        match a.seeded_application {
            Some("parking_permit") => {
                let input: ApplicationInput = from(json!({"service": "parking_permit", "email": email,
                    "certificate_issued_on": (today() - Duration::days(20)).to_string()}));
                store.submit_application(&applicant, &input, vec![pdf("medical_certificate")]).await?;
            }
            Some("income_support") => {
                let input: ApplicationInput = from(json!({"service": "income_support", "email": email,
                    "isee": "7200,00", "household_members": 3}));
                store.submit_application(&applicant, &input, vec![pdf("isee_attestation")]).await?;
            }
            _ => {}
        }
    }
    Ok(registered)
}

fn from<T: serde::de::DeserializeOwned + Default>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap_or_default()
}

/// Where the fields the seed looks at sit in a registry row.
struct RegistryAt {
    fiscal_code: usize,
    household: usize,
    relation: usize,
    latitude: usize,
    comune: usize,
}

/// Calls `f` with each row of the registry (numbered from 0) as raw fields, without
/// decoding the rest: the file can hold millions of rows.
fn scan_registry(
    path: &Path,
    mut f: impl FnMut(usize, &csv::ByteRecord, &RegistryAt) -> Result<()>,
) -> Result<csv::ByteRecord> {
    let failed = |e: csv::Error| CaseError::Internal(format!("{}: {e}", path.display()));
    let mut r = csv::Reader::from_path(path).map_err(failed)?;
    let headers = r.byte_headers().map_err(failed)?.clone();
    let at = |name: &str| {
        headers
            .iter()
            .position(|h| h == name.as_bytes())
            .ok_or_else(|| CaseError::Internal(format!("{}: no column '{name}'", path.display())))
    };
    let at = RegistryAt {
        fiscal_code: at("codice_fiscale")?,
        household: at("id_famiglia")?,
        relation: at("relazione_parentela")?,
        latitude: at("latitudine")?,
        comune: at("codice_istat_comune")?,
    };
    let mut rec = csv::ByteRecord::new();
    let mut i = 0;
    while r
        .read_byte_record(&mut rec)
        .map_err(|e| CaseError::Internal(format!("{} line {}: {e}", path.display(), i + 2)))?
    {
        f(i, &rec, &at)?;
        i += 1;
    }
    Ok(headers)
}

/// The rows numbered in `wanted`, decoded, by row number.
fn registry_rows(
    path: &Path,
    wanted: &std::collections::HashSet<usize>,
) -> Result<std::collections::HashMap<usize, RegistryRow>> {
    let mut chosen = Vec::new();
    let headers = scan_registry(path, |i, rec, _| {
        if wanted.contains(&i) {
            chosen.push((i, rec.clone()));
        }
        Ok(())
    })?;
    chosen
        .into_iter()
        .map(|(i, rec)| {
            rec.deserialize(Some(&headers))
                .map(|row| (i, row))
                .map_err(|e| CaseError::Internal(format!("{} line {}: {e}", path.display(), i + 2)))
        })
        .collect()
}

/// The registry row of a parent (head of household or spouse) living with `child`: of
/// the household's other members, the one with the smallest fiscal code. `None` when
/// the child is not in the registry or lives with neither.
fn registry_parent(path: &Path, child: &str) -> Result<Option<RegistryRow>> {
    // The child's household, as the last row of their fiscal code says it.
    let mut home: Option<Vec<u8>> = None;
    scan_registry(path, |_, r, at| {
        if r.get(at.fiscal_code) == Some(child.as_bytes()) {
            home = r.get(at.household).map(<[u8]>::to_vec);
        }
        Ok(())
    })?;
    let Some(home) = home else { return Ok(None) };
    // Each member's last row says where they live; the parent's first row is theirs,
    // kept as read so that no third pass is needed.
    let mut last: std::collections::BTreeMap<Vec<u8>, bool> = std::collections::BTreeMap::new();
    let mut first: std::collections::HashMap<Vec<u8>, (usize, csv::ByteRecord)> = std::collections::HashMap::new();
    let headers = scan_registry(path, |i, r, at| {
        let (Some(cf), Some(hh)) = (r.get(at.fiscal_code), r.get(at.household)) else { return Ok(()) };
        if hh == home.as_slice() || last.contains_key(cf) {
            let parent = hh == home.as_slice() && matches!(r.get(at.relation), Some(b"IS" | b"CG"));
            last.insert(cf.to_vec(), parent);
            first.entry(cf.to_vec()).or_insert_with(|| (i, r.clone()));
        }
        Ok(())
    })?;
    let parent = last.into_iter().find(|(cf, parent)| *parent && cf.as_slice() != child.as_bytes());
    let Some((i, rec)) = parent.and_then(|(cf, _)| first.remove(&cf)) else { return Ok(None) };
    rec.deserialize(Some(&headers))
        .map(Some)
        .map_err(|e| CaseError::Internal(format!("{} line {}: {e}", path.display(), i + 2)))
}

async fn register(store: &Store, actor: &Actor, row: &RegistryRow) -> Result<Option<i64>> {
    let input: PersonInput = from(json!({
        "fiscal_code": row.codice_fiscale, "surname": row.cognome, "given_name": row.nome, "sex": row.sesso,
        "birth_date": row.data_nascita, "birth_place": row.luogo_nascita,
        "citizenship": if row.cittadinanza == "IT" { "Italia".to_owned() } else { row.cittadinanza.clone() },
        "residence_istat": row.codice_istat_comune, "address": row.indirizzo,
        "lat": row.latitudine, "lng": row.longitudine,
        "household_role": match row.relazione_parentela.as_str() {
            "IS" => "intestatario", "CG" => "coniuge", "FG" => "figlio/a", "GE" => "genitore", _ => "altro" },
    }));
    match store.create_person(actor, &input).await? {
        Created::Person(p) => Ok(Some(p.id)),
        Created::Duplicates(_) => Ok(None),
    }
}

fn area_for(age: i64, citizenship: &str, rng: &mut ChaCha8Rng) -> AreaUtenza {
    if age >= 65 {
        return AreaUtenza::Anziani;
    }
    if age < 18 {
        return AreaUtenza::FamigliaMinori;
    }
    let r: f64 = rng.random();
    match () {
        _ if citizenship != "IT" && r < 0.4 => AreaUtenza::ImmigratiNomadi,
        _ if r < 0.3 => AreaUtenza::Disabili,
        _ if r < 0.4 => AreaUtenza::Dipendenze,
        _ => AreaUtenza::PovertaDisagioAdulti,
    }
}

/// How far a demo case got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// First contact with information only: no case.
    InformationOnly,
    /// Case opened, not assessed yet.
    Opened,
    /// Assessed, plan drafted and submitted, waiting for the coordinator.
    PlanSubmitted,
    /// Plan approved, interventions running.
    Active,
    /// Closed after its interventions ended.
    Closed,
}

#[derive(Debug)]
struct Story {
    stage: Stage,
    opened: NaiveDate,
}

impl Story {
    fn draw(rng: &mut ChaCha8Rng, today: NaiveDate) -> Self {
        let r: f64 = rng.random();
        let stage = match r {
            _ if r < 0.10 => Stage::InformationOnly,
            _ if r < 0.18 => Stage::Opened,
            _ if r < 0.30 => Stage::PlanSubmitted,
            _ if r < 0.75 => Stage::Active,
            _ => Stage::Closed,
        };
        let back = match stage {
            Stage::Opened | Stage::PlanSubmitted => rng.random_range(5..60),
            _ => rng.random_range(60..700),
        };
        Story { stage, opened: today - Duration::days(back) }
    }

    #[allow(clippy::too_many_arguments)]
    async fn play(
        &self,
        store: &Store,
        worker: &Actor,
        coordinator: &Actor,
        person_id: i64,
        area: AreaUtenza,
        rng: &mut ChaCha8Rng,
        out: &mut Seeded,
    ) -> Result<Option<i64>> {
        let today = today();
        let day = |offset: i64| (self.opened + Duration::days(offset)).min(today);
        let requests = [
            (AreaUtenza::Anziani, "Chiede aiuto per l'igiene personale e i pasti: vive sola dopo una caduta"),
            (AreaUtenza::FamigliaMinori, "La madre chiede sostegno educativo e un posto al nido"),
            (AreaUtenza::Disabili, "La famiglia chiede un centro diurno dopo la fine della scuola"),
            (AreaUtenza::Dipendenze, "Inviato dal SerD per un progetto di reinserimento"),
            (AreaUtenza::ImmigratiNomadi, "Chiede orientamento per il permesso di soggiorno e un alloggio"),
            (AreaUtenza::PovertaDisagioAdulti, "Sfratto esecutivo, chiede un contributo per l'affitto"),
        ];
        let request = requests.iter().find(|(a, _)| *a == area).map_or("Richiesta di sostegno", |(_, r)| *r);
        let outcome = if self.stage == Stage::InformationOnly { "information" } else { "case_opened" };
        let contact: ContactInput = from(json!({
            "person_id": person_id, "contact_date": self.opened.to_string(),
            "channel": (["desk", "phone", "referral", "email"][rng.random_range(0..4)]),
            "requester": (["self", "family", "other_service"][rng.random_range(0..3)]),
            "request": request, "area": area.code(), "outcome": outcome,
        }));
        let (_, case) = store.record_contact(worker, &contact).await?;
        let Some(case) = case else { return Ok(None) };
        if self.stage == Stage::Opened {
            return Ok(Some(case.id));
        }
        let grades: Vec<i64> = (0..7).map(|_| rng.random_range(0..5)).collect();
        let assessment: AssessmentInput = from(json!({
            "assessed_on": day(rng.random_range(3..15)).to_string(),
            "instrument": if area == AreaUtenza::Anziani { "SVAMA" } else if area == AreaUtenza::Disabili { "SVAMDI" } else { "colloquio" },
            "health": grades[0], "autonomy": grades[1], "household": grades[2], "housing": grades[3],
            "income": grades[4], "work": grades[5], "network": grades[6],
            "notes": "Colloquio in sede e visita domiciliare.",
        }));
        let a = store.add_assessment(worker, case.id, &assessment).await?;
        let start = a.assessed_on + Duration::days(rng.random_range(1..10));
        let start = start.min(today);
        // Most reviews are ahead; some fall within the next 30 days, a few are overdue.
        let review = match rng.random_range(0..10) {
            0 => (today - Duration::days(rng.random_range(1..20))).max(start),
            1..=3 => today + Duration::days(rng.random_range(0..30)),
            _ => today + Duration::days(rng.random_range(30..150)),
        };
        let end = (start + Duration::days(365)).max(review);
        let mut offered: Vec<&services::Service> =
            services::services_for(area).filter(|s| s.facility.is_none()).collect();
        if offered.is_empty() {
            // Areas served only in facilities (dipendenze): the segretariato's follow-up.
            offered.extend(services::service("SEGR"));
        }
        let chosen: Vec<&services::Service> = offered.choose_multiple(rng, 2.min(offered.len())).copied().collect();
        let plan: PlanInput = from(json!({
            "goals": ["Ridurre il rischio di isolamento", "Sostenere l'autonomia nella vita quotidiana"],
            "actions": chosen.iter().map(|s| s.name.to_owned()).collect::<Vec<_>>(),
            "team": [worker.full_name.clone(), "Referente ASST".to_owned()],
            "start_date": start.to_string(), "end_date": end.to_string(), "review_date": review.min(end).to_string(),
            "submit": true,
        }));
        let plan = store.add_plan(worker, case.id, &plan).await?;
        if self.stage == Stage::PlanSubmitted {
            return Ok(Some(case.id));
        }
        store.decide_plan(coordinator, plan.id, &from(json!({"decision": "approve"}))).await?;
        let mut ids = Vec::new();
        for svc in &chosen {
            let qty = rng.random_range(svc.monthly_qty.0..=svc.monthly_qty.1).max(1);
            let cost = rng.random_range(svc.unit_cost.0..=svc.unit_cost.1.max(svc.unit_cost.0 + 0.01));
            let amount = f64::from(qty) * cost;
            let share = if svc.spending == Spending::Transfers { 0.0 } else { 0.2 };
            let utente = if rng.random_bool(0.4) { (amount * share * 100.0).floor() / 100.0 } else { 0.0 };
            let i: InterventionInput = from(json!({
                "plan_id": plan.id, "service_code": svc.code, "area": area.code(), "start_date": start.to_string(),
                "quantity": qty, "unit_cost": format!("{cost:.2}"), "quota_utente": format!("{utente:.2}"),
            }));
            let i = store.add_intervention(worker, case.id, &i).await?;
            ids.push(i.id);
            out.interventions += 1;
        }
        let diary: DiaryInput = from(json!({
            "entry_date": day(rng.random_range(15..40)).max(start).min(today).to_string(),
            "kind": (["home_visit", "phone", "interview", "meeting"][rng.random_range(0..4)]),
            "text": "Verifica dell'andamento degli interventi con la persona e la famiglia.",
        }));
        store.add_diary_entry(worker, case.id, &diary).await?;
        if self.stage == Stage::Closed {
            let close = (start + Duration::days(rng.random_range(30..300))).min(today);
            for id in ids {
                store.end_intervention(worker, id, &from(json!({"end_date": close.to_string()}))).await?;
            }
            let closure: ClosureInput = from(json!({
                "closed_on": close.to_string(),
                "reason": (["goals_reached", "moved_away", "refused", "transferred"][rng.random_range(0..4)]),
                "outcome": "Obiettivi del progetto verificati con la persona.",
            }));
            store.close_case(worker, case.id, &closure).await?;
            out.closed += 1;
        }
        Ok(Some(case.id))
    }
}

/// The demo's INPS flows: Milano set up (INPS code F205, Belfiore F205, the Comune's
/// fiscal code as operator), and for the last full quarter
///
/// - a SINA scheme for the open cases of elderly and disabled persons with benefits in
///   it: complete for most, recorded in part (mobility, daily living, behaviour) for
///   every fourth from the second, so the PSA report shows benefits left out for an
///   incomplete scheme beside those that pass;
/// - the means test of benefits subject to ISEE (DSU protocol, date, value, members),
///   checked by back office;
/// - for the first children of the SINBA report, their parent from the registry in
///   their household and a SINBA scheme: complete for three, in part for the fourth.
async fn inps(
    store: &Store,
    registry: &Path,
    workers: &[Actor],
    back_office: &Actor,
    today: NaiveDate,
    out: &mut Seeded,
) -> Result<()> {
    use std::collections::BTreeSet;

    use crate::inps::{BenefitMeansInput, FlowKind, InpsEnteInput, Period, SinaInput, SinbaInput, codes};

    let Some(worker) = workers.first() else { return Ok(()) };
    let setup: InpsEnteInput = from(json!({"code": "F205", "belfiore": "F205", "operator_cf": "01199250158"}));
    store.set_inps_ente(back_office, None, &setup).await?;
    let quarter = Period::last_full_quarter(today);
    let psa = store.inps_report(back_office, FlowKind::Psa, None, quarter).await?;
    let records: Vec<&crate::inps::RecordRef> =
        psa.included.iter().chain(psa.rejected.iter().map(|r| &r.record)).collect();

    // SINA for the cases of the elderly and disabled.
    let frail: BTreeSet<i64> = records
        .iter()
        .filter(|r| {
            r.service_code
                .as_deref()
                .and_then(services::service)
                .is_some_and(|s| matches!(s.area, AreaUtenza::Anziani | AreaUtenza::Disabili))
        })
        .map(|r| r.case_id)
        .collect();
    let mut k = 0usize;
    for case_id in frail {
        let n = |m: usize| (k % m + 1) as i64;
        let sina: SinaInput = if k % 4 == 1 {
            from(json!({"assessed_on": quarter.to.to_string(), "mobility": n(3), "daily_living": n(3), "behaviour": 1}))
        } else {
            from(json!({
                "assessed_on": quarter.to.to_string(), "mobility": n(3), "daily_living": (k % 2 + 2),
                "cognitive": n(3), "behaviour": (k % 3 / 2 + 1), "health_care": n(3), "income": (k % 2 + 1),
                "support": n(3), "source": (if k.is_multiple_of(3) { 1 } else { 2 }), "instrument": 1,
                "invalidity": [([2, 1, 3, 6][k % 4])], "invalidity_source": 1,
            }))
        };
        match store.record_sina(&workers[k % workers.len()], case_id, &sina).await {
            Ok(_) => k += 1,
            // A closed case takes no new scheme.
            Err(CaseError::Conflict { .. } | CaseError::Invalid(_)) => continue,
            Err(e) => return Err(e),
        }
    }

    // Means tests of the benefits subject to ISEE, checked by back office.
    let mut seen = BTreeSet::new();
    let mut m = 0usize;
    for r in &records {
        let Some(i) = r.intervention_id else { continue };
        let isee = r.service_code.as_deref().and_then(codes::benefit).is_some_and(|b| b.means_test == 1);
        if !isee || !seen.insert(i) || m >= 60 {
            continue;
        }
        let dsu = quarter.from - Duration::days(20 + (m % 40) as i64);
        let means: BenefitMeansInput = from(json!({
            "means_test": 1, "dsu_protocol": format!("INPS-ISEE-{}-{:08}A-00", dsu.year(), 1_200_000 + 7_919 * m),
            "dsu_date": dsu.to_string(), "isee": format!("{}.00", 4_800 + 1_375 * (m % 17)),
            "isee_members": (m % 4 + 1),
        }));
        store.record_benefit_means(back_office, i, &means).await?;
        m += 1;
    }

    // SINBA for the first children, each in a household with their parent.
    let sinba = store.inps_report(back_office, FlowKind::Sinba, None, quarter).await?;
    let mut children: Vec<(i64, i64)> = sinba
        .included
        .iter()
        .chain(sinba.rejected.iter().map(|r| &r.record))
        .map(|r| (r.case_id, r.person_id))
        .collect();
    children.sort_unstable();
    let mut recorded = 0usize;
    for (case_id, child_id) in children {
        if recorded >= 4 {
            break;
        }
        let complete = recorded < 3;
        let scheme = if complete {
            json!({"MinoreStranieroNoAcc": 2, "CondizioneMinore": 1, "LuogoVita": 1,
                "ScuolaFrequentata": ([4, 5, 6][recorded % 3]), "CondizioneLavoro": 1, "Disabilita": 2,
                "FonteSegnalazione": ([13, 3, 8][recorded % 3]), "ValutazioneMinore": ([2, 13, 1][recorded % 3]),
                "ValutazioneFamigliaMinore": ([2, 12, 13][recorded % 3]), "SegnalazioneAutoritaGiudiziaria": 2,
                "ProvvedimentoGiudiziario": 2})
        } else {
            json!({"LuogoVita": 1, "FonteSegnalazione": 13})
        };
        let input: SinbaInput = from(json!({"assessed_on": quarter.to.to_string(), "scheme": scheme}));
        match store.record_sinba(worker, case_id, &input).await {
            Ok(_) => recorded += 1,
            // A closed case, or a child who came of age by the quarter's end.
            Err(CaseError::Conflict { .. } | CaseError::Invalid(_)) => continue,
            Err(e) => return Err(e),
        }
        if !complete {
            continue;
        }
        let child = store.person(worker, child_id).await?;
        let Some(parent) = registry_parent(registry, &child.fiscal_code)? else { continue };
        let parent = &parent;
        let parent = match register(store, worker, parent).await? {
            Some(id) => {
                out.persons += 1;
                store.person(worker, id).await?
            }
            None => match store.search_persons(worker, &parent.codice_fiscale, 1).await?.into_iter().next() {
                Some(p) => p,
                None => continue,
            },
        };
        let household = match parent.household_id {
            Some(h) => h,
            None => {
                let role = if parent.sex == "F" { "intestataria" } else { "intestatario" };
                match store.set_household(worker, parent.id, None, role).await?.household_id {
                    Some(h) => h,
                    None => continue,
                }
            }
        };
        store.set_household(worker, child.id, Some(household), "figlio/a").await?;
    }
    tracing::info!(
        sina = k,
        means_tests = m,
        sinba = recorded,
        "INPS schemes seeded for {} – {}",
        quarter.from,
        quarter.to
    );
    Ok(())
}
