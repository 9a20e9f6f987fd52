//! Demo seeding: tenancy, one user per role, and a few hundred case files drawn from
//! the synthetic civil registry (`registry.csv` of `mosaico samples generate`), each
//! written through the same operations the pages use, so every demo record passed the
//! same checks a social worker's would.

use std::path::Path;

use chrono::{Duration, NaiveDate};
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

    let rows = read_registry(registry)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut picked: Vec<&RegistryRow> =
        rows.iter().filter(|r| r.codice_istat_comune == mosaico_domain::MILANO && !r.latitudine.is_empty()).collect();
    picked.shuffle(&mut rng);
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
    Ok(out)
}

fn from<T: serde::de::DeserializeOwned + Default>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap_or_default()
}

fn read_registry(path: &Path) -> Result<Vec<RegistryRow>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| CaseError::Internal(format!("{}: {e}", path.display())))?;
    r.deserialize()
        .enumerate()
        .map(|(i, row)| row.map_err(|e| CaseError::Internal(format!("{} line {}: {e}", path.display(), i + 2))))
        .collect()
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
