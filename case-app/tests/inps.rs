//! The INPS flows from real store data, on SQLite and PostgreSQL: each file is
//! validated against its XSD with `xmllint` (from `libxml2-utils`, required), the
//! extra rules reject what they must with their reasons, SINBA carries no fiscal code,
//! nothing is sent when every record fails, flows are numbered, registered and
//! audited, and other enti's records stay out. Then the HTTP face through the router:
//! the JSON routes (set-up, register, SINA and SINBA schemes, means tests), the back
//! office's page `/app/inps` and the case page's section; last, the demo's seed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use common::*;
use http_body_util::BodyExt as _;
use mosaico_case_app::inps::{BenefitMeansInput, Flow, FlowKind, InpsEnteInput, Period, Report, SinaInput, SinbaInput};
use mosaico_case_app::input::*;
use mosaico_case_app::{Actor, CaseError, CaseState, Person, router, today};
use mosaico_domain::Sex;
use serde_json::{Value, json};
use tower::ServiceExt as _;

on_both_backends!(
    a_psa_flow_from_the_store_passes_the_xsd,
    a_sinba_flow_names_no_child_and_passes_the_xsd,
    records_breaking_a_rule_are_reported_and_left_out,
    a_flow_where_every_record_fails_is_refused,
    flows_are_numbered_registered_and_audited,
    other_enti_records_are_invisible,
    only_back_office_and_coordinators_produce_flows,
    schemes_and_means_tests_are_checked_field_by_field,
    the_api_records_what_the_flows_need,
    the_inps_page_reports_records_left_out_and_offers_the_flow,
    the_set_up_form_refuses_bad_fields_one_by_one_and_writes_nothing,
    the_case_page_records_sina_and_sinba_schemes,
);

// ---- Helpers ----

const FROM: &str = "2024-01-01";
const TO: &str = "2024-06-30";

fn period() -> Period {
    Period::parse(FROM, TO).unwrap()
}

/// `../shared/spec/inps` of the repository, found from the crate upwards.
fn spec_dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .map(|a| a.join("shared/spec/inps"))
        .find(|p| p.join("SINBA.xsd").is_file() && p.join("PS_PSA_SINA201806.xsd").is_file())
        .unwrap_or_else(|| panic!("no shared/spec/inps with the INPS XSDs above {}", crate_dir.display()))
}

/// Writes the flow to a file named by it and validates it with `xmllint --schema`.
fn validate(flow: &Flow, kind: FlowKind) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(&flow.file_name);
    std::fs::write(&file, &flow.xml).unwrap();
    let xsd = spec_dir().join(kind.xsd());
    let out = match Command::new("xmllint").arg("--noout").arg("--schema").arg(&xsd).arg(&file).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!(
                "xmllint is not installed: install libxml2-utils (apt-get install libxml2-utils) to validate INPS flows"
            )
        }
        Err(e) => panic!("xmllint: {e}"),
    };
    let xml = String::from_utf8(flow.xml.clone()).unwrap();
    assert!(
        out.status.success(),
        "{} does not validate against {}:\n{}\n{xml}",
        flow.file_name,
        xsd.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    xml
}

async fn set_up(f: &Fixture) {
    let setup: InpsEnteInput = json(json!({"code": "F205", "belfiore": "F205", "operator_cf": "01199250158"}));
    f.store.set_inps_ente(&f.back_office, None, &setup).await.unwrap();
}

/// A case of `person` with an approved plan for 2024 (opened on 2 January 2024),
/// recorded by `worker` and approved by `approver`.
async fn case_with_plan(f: &Fixture, worker: &Actor, approver: &Actor, person: i64, area: &str) -> (i64, i64) {
    let contact: ContactInput = json(json!({"person_id": person, "contact_date": "2024-01-02", "channel": "desk",
        "requester": "self", "request": "Richiesta di sostegno", "area": area, "outcome": "case_opened"}));
    let case = f.store.record_contact(worker, &contact).await.unwrap().1.unwrap().id;
    let a: AssessmentInput = json(json!({"assessed_on": "2024-01-03", "instrument": "colloquio", "health": 2,
        "autonomy": 2, "household": 1, "housing": 1, "income": 2, "work": 0, "network": 2}));
    f.store.add_assessment(worker, case, &a).await.unwrap();
    let plan: PlanInput = json(json!({"goals": ["g"], "actions": ["a"], "team": ["t"], "submit": true,
        "start_date": "2024-01-05", "end_date": "2024-12-31", "review_date": "2024-06-01"}));
    let plan = f.store.add_plan(worker, case, &plan).await.unwrap().id;
    f.store.decide_plan(approver, plan, &json(json!({"decision": "approve"}))).await.unwrap();
    (case, plan)
}

/// Records an intervention; `extra` overrides fields (area, end_date, quota_utente…).
async fn intervention(
    f: &Fixture,
    worker: &Actor,
    case: (i64, i64),
    service: &str,
    qty: f64,
    cost: &str,
    extra: Value,
) -> i64 {
    let mut body = json!({"plan_id": case.1, "service_code": service, "start_date": "2024-01-10",
        "quantity": qty, "unit_cost": cost});
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    f.store.add_intervention(worker, case.0, &json(body)).await.unwrap().id
}

async fn complete_sina(f: &Fixture, case: i64) {
    let sina: SinaInput = json(json!({"assessed_on": "2024-01-04", "mobility": 2, "daily_living": 2, "cognitive": 1,
        "behaviour": 1, "health_care": 2, "income": 2, "support": 1, "source": 2, "instrument": 1,
        "invalidity": [2, 6], "invalidity_source": 1}));
    f.store.record_sina(&f.worker, case, &sina).await.unwrap();
}

async fn person_with(
    f: &Fixture,
    actor: &Actor,
    surname: &str,
    given: &str,
    birth: &str,
    sex: Sex,
    set: Value,
) -> Person {
    let mut input = person_input(surname, given, birth, sex);
    if let Some(c) = set.get("citizenship").and_then(Value::as_str) {
        input.citizenship = Some(c.to_owned());
    }
    if let Some(c) = set.get("fiscal_code").and_then(Value::as_str) {
        input.fiscal_code = Some(c.to_owned());
    }
    match f.store.create_person(actor, &input).await.unwrap() {
        mosaico_case_app::Created::Person(p) => *p,
        mosaico_case_app::Created::Duplicates(d) => panic!("duplicates {d:?}"),
    }
}

fn reasons_of(report: &Report, intervention: i64) -> Vec<(String, String)> {
    report
        .rejected
        .iter()
        .find(|r| r.record.intervention_id == Some(intervention))
        .unwrap_or_else(|| panic!("intervention {intervention} is not rejected: {report:?}"))
        .reasons
        .iter()
        .map(|r| (r.field.clone(), r.code.to_owned()))
        .collect()
}

fn included_interventions(report: &Report) -> Vec<i64> {
    report.included.iter().filter_map(|r| r.intervention_id).collect()
}

fn assert_conflict<T: std::fmt::Debug>(r: Result<T, CaseError>, code: &str) -> String {
    match r {
        Err(CaseError::Conflict { code: c, message }) if c == code => message,
        other => panic!("expected conflict {code}, got {other:?}"),
    }
}

fn assert_fields<T: std::fmt::Debug>(r: Result<T, CaseError>, fields: &[&str]) {
    match r {
        Err(CaseError::Invalid(errors)) => {
            let got: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(got, fields, "{errors:?}");
        }
        other => panic!("expected invalid {fields:?}, got {other:?}"),
    }
}

fn today_stamp() -> String {
    today().format("%Y%m%d").to_string()
}

// ---- Tests ----

async fn a_psa_flow_from_the_store_passes_the_xsd(f: &Fixture) {
    set_up(f).await;
    let anna = f.person(&f.worker, "Bianchi", "Anna", "1940-03-08", Sex::F).await;
    let case = case_with_plan(f, &f.worker, &f.coordinator, anna.id, "anziani").await;
    let sad = intervention(f, &f.worker, case, "SAD", 20.0, "22.00", json!({"quota_utente": "40.00"})).await;
    let pasti = intervention(f, &f.worker, case, "PASTI", 22.0, "7.50", json!({"end_date": "2024-03-31"})).await;
    complete_sina(f, case.0).await;
    let means: BenefitMeansInput = json(json!({"means_test": 1, "dsu_protocol": "INPS-ISEE-2024-00012345A-00",
        "dsu_date": "2024-01-08", "isee": "9800.00", "isee_members": 1}));
    f.store.record_benefit_means(&f.back_office, sad, &means).await.unwrap();

    let ugo = f.person(&f.worker, "D'Angelo", "Ugo", "1980-11-21", Sex::M).await;
    let case2 = case_with_plan(f, &f.worker, &f.coordinator, ugo.id, "poverta_disagio_adulti").await;
    let contr = intervention(f, &f.worker, case2, "CONTR_ECO", 1.0, "300", json!({})).await;
    let trasp = intervention(f, &f.worker, case2, "TRASP", 4.0, "15", json!({"area": "poverta_disagio_adulti"})).await;
    let sil = intervention(f, &f.worker, case2, "SIL", 8.0, "25", json!({"end_date": "2024-01-20"})).await;

    let flow = f.store.inps_flow(&f.back_office, FlowKind::Psa, None, period()).await.unwrap();
    let xml = validate(&flow, FlowKind::Psa);
    assert!(flow.rejected().is_empty(), "{:?}", flow.rejected());
    let mut got = included_interventions(&flow.report);
    got.sort_unstable();
    let mut want = vec![sad, pasti, contr, trasp, sil];
    want.sort_unstable();
    assert_eq!(got, want);

    // Named by its flow id, which is the flow's Nome.
    assert_eq!(flow.flow_id, format!("F205.PSA.INPS.{}.0000001", today_stamp()));
    assert_eq!(flow.file_name, format!("{}.xml", flow.flow_id));
    assert!(xml.contains(&format!("Nome=\"{}\"", flow.flow_id)));
    assert!(xml.contains("CFOperatore=\"01199250158\"") && xml.contains("Denominazione=\"Milano\""));

    // The beneficiaries, once each, with what the case file says.
    assert_eq!(xml.matches(&format!("CodiceFiscale=\"{}\"", anna.fiscal_code)).count(), 1);
    assert!(xml.contains("Cognome=\"D&apos;Angelo\""), "apostrophes escaped");
    assert!(xml.contains("LuogoNascita=\"F205\"") && xml.contains("CodiceCittadinanza=\"100\""));
    assert!(xml.contains("Genere=\"2\"") && xml.contains("AnnoNascita=\"1940\""));
    // SAD: periodic, still running (its plan ends on 31 December), six months of the period.
    let sad_xml = element(&xml, &format!("ProtocolloDomanda=\"015146-{}-{sad}\"", case.0));
    for attr in [
        "CodicePrestazione=\"C1.01\"",
        "CaratterePrestazione=\"1\"",
        "DataInizioPrestazione=\"2024-01-10\"",
        "DataFinePrestazione=\"2024-12-31\"",
        "PeriodoErogazione=\"6\"",
        "ImportoMensile=\"440.00\"",
        "ImportoQuotaEnte=\"400.00\"",
        "ImportoQuotaUtente=\"40.00\"",
        "OreServizioMensile=\"20\"",
        "PresaCarico=\"1\"",
        "AreaUtenza=\"2\"",
        "PresenzaProvaMezzi=\"1\"",
        "NumeroProtocolloDSU=\"INPS-ISEE-2024-00012345A-00\"",
        "AnnoProtocolloDSU=\"2024\"",
        "DataDSU=\"2024-01-08\"",
        "<SINA Mobilita=\"2\"",
        "<InvCiv>6</InvCiv>",
    ] {
        assert!(sad_xml.contains(attr), "SAD lacks {attr}: {sad_xml}");
    }
    let pasti_xml = element(&xml, &format!("ProtocolloDomanda=\"015146-{}-{pasti}\"", case.0));
    assert!(pasti_xml.contains("PeriodoErogazione=\"3\"") && pasti_xml.contains("DataFinePrestazione=\"2024-03-31\""));
    assert!(pasti_xml.contains("<CodicePrestazione>C1.05</CodicePrestazione>"), "the needs list the case's benefits");
    let trasp_xml = element(&xml, &format!("ProtocolloDomanda=\"015146-{}-{trasp}\"", case2.0));
    for attr in [
        "CaratterePrestazione=\"2\"",
        "DataErogazionePrestazione=\"2024-01-10\"",
        "ImportoPrestazione=\"60.00\"",
        "AreaUtenza=\"3\"",
    ] {
        assert!(trasp_xml.contains(attr), "TRASP lacks {attr}: {trasp_xml}");
    }
    assert!(!trasp_xml.contains("<SINA"), "no SINA scheme for Ugo's case");

    // A later period: what ended or was delivered once in January is not in it; what
    // runs is, for the months of that period.
    let spring = Period::parse("2024-02-01", "2024-06-30").unwrap();
    let report = f.store.inps_report(&f.back_office, FlowKind::Psa, None, spring).await.unwrap();
    let mut got = included_interventions(&report);
    got.sort_unstable();
    let mut want = vec![sad, pasti, contr];
    want.sort_unstable();
    assert_eq!(got, want, "SIL ended and TRASP was delivered in January");

    // The next flow takes the next number.
    let again = f.store.inps_flow(&f.coordinator, FlowKind::Psa, None, period()).await.unwrap();
    assert_eq!(again.flow_id, format!("F205.PSA.INPS.{}.0000002", today_stamp()));
}

/// The `PrestazioniSociali` element whose start tag holds `needle`.
fn element(xml: &str, needle: &str) -> String {
    let at = xml.find(needle).unwrap_or_else(|| panic!("{needle} not in the flow:\n{xml}"));
    let start = xml[..at].rfind("<PrestazioniSociali").unwrap();
    let tag_end = at + xml[at..].find('>').unwrap();
    let end = if xml.as_bytes()[tag_end - 1] == b'/' {
        tag_end + 1
    } else {
        at + xml[at..].find("</PrestazioniSociali>").unwrap()
    };
    xml[start..end].to_owned()
}

async fn a_sinba_flow_names_no_child_and_passes_the_xsd(f: &Fixture) {
    set_up(f).await;
    let w = &f.worker;
    let mother = person_with(f, w, "Rossi", "Carla", "1985-02-14", Sex::F, json!({"citizenship": "RO"})).await;
    let father = f.person(w, "Rossi", "Luca", "1983-09-30", Sex::M).await;
    let child = f.person(w, "Rossi", "Marco", "2014-05-05", Sex::M).await;
    let sister = f.person(w, "Rossi", "Sara", "2016-07-07", Sex::F).await;
    let h = f.store.set_household(w, mother.id, None, "intestataria").await.unwrap().household_id;
    f.store.set_household(w, father.id, h, "coniuge").await.unwrap();
    f.store.set_household(w, child.id, h, "figlio/a").await.unwrap();
    f.store.set_household(w, sister.id, h, "figlio/a").await.unwrap();
    // An alert about the child came before the first contact.
    let alert: AlertInput = json(json!({"source": "school", "reporter": "IC Giacosa", "received_on": "2023-11-20",
        "subject": "Marco", "description": "Assenze ripetute", "urgency": "medium", "person_id": child.id}));
    f.store.create_alert(w, &alert).await.unwrap();

    let case = case_with_plan(f, w, &f.coordinator, child.id, "famiglia_minori").await;
    let adm = intervention(f, w, case, "ADM", 6.0, "24", json!({})).await;
    let means: BenefitMeansInput = json(json!({"means_test": 1, "isee": "5200", "isee_members": 4}));
    f.store.record_benefit_means(&f.back_office, adm, &means).await.unwrap();
    let scheme: SinbaInput = json(json!({"assessed_on": "2024-01-04", "scheme": {
        "MinoreStranieroNoAcc": 2, "CondizioneMinore": 1, "LuogoVita": 1, "ScuolaFrequentata": 5,
        "CondizioneLavoro": 1, "Disabilita": 2, "FonteSegnalazione": 13, "ValutazioneMinore": 13,
        "ValutazioneFamigliaMinore": 2, "SegnalazioneAutoritaGiudiziaria": 2, "ProvvedimentoGiudiziario": 2,
        "TitoloStudioMadre": 5, "CollaborazioniInterventi": 7}}));
    f.store.record_sinba(w, case.0, &scheme).await.unwrap();
    // An adult with benefits is not a SINBA record.
    let adult_case = case_with_plan(f, w, &f.coordinator, mother.id, "famiglia_minori").await;
    intervention(f, w, adult_case, "CONTR_FAM", 1.0, "200", json!({})).await;

    let flow = f.store.inps_flow(&f.back_office, FlowKind::Sinba, None, period()).await.unwrap();
    let xml = validate(&flow, FlowKind::Sinba);
    assert_eq!(flow.flow_id, format!("F205.SINBA.INPS.{}.0000001", today_stamp()));
    assert_eq!(flow.file_name, format!("{}.xml", flow.flow_id));
    assert_eq!((flow.included().len(), flow.rejected().len()), (1, 0), "{:?}", flow.rejected());
    assert_eq!((flow.included()[0].person_id, flow.included()[0].case_id), (child.id, case.0));

    for p in [&mother, &father, &child, &sister] {
        assert!(!xml.contains(&p.fiscal_code), "SINBA holds the fiscal code of {}", p.given_name);
        assert!(!xml.contains(&p.fiscal_code[..11]), "not even part of it");
        assert!(!xml.contains(&p.given_name), "SINBA names {}", p.given_name);
    }
    assert!(!xml.contains("Rossi") && !xml.contains("CodiceFiscale"));
    let id = xml.split("IDBeneficiario=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(id.len() == 20 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    for attr in [
        "<CodicePrestazione>C1.03</CodicePrestazione>",
        "<ComposizioneFamiglia>1</ComposizioneFamiglia>",
        "<ComposizioneFamiglia>2</ComposizioneFamiglia>",
        "<ComposizioneFamiglia>3</ComposizioneFamiglia>",
        "CodiceCittadinanzaMadre=\"235\"",
        "CodiceCittadinanzaPadre=\"100\"",
        "DataPrimaSegnalazione=\"11/2023\"",
        "FasciaEtaBeneficiario=\"4\"",
        "FasciaISEEBeneficiario=\"3\"",
        "NumeroComponentiISEE=\"4\"",
        "AnnoNascita=\"2014\"",
        "LuogoVita=\"1\"",
        "TitoloStudioMadre=\"5\"",
    ] {
        assert!(xml.contains(attr), "SINBA lacks {attr}:\n{xml}");
    }
    // The same child, the same pseudonym, flow after flow.
    let again = f.store.inps_flow(&f.back_office, FlowKind::Sinba, None, period()).await.unwrap();
    assert!(String::from_utf8(again.xml).unwrap().contains(&format!("IDBeneficiario=\"{id}\"")));
    assert!(again.flow_id.ends_with(".0000002"));
}

async fn records_breaking_a_rule_are_reported_and_left_out(f: &Fixture) {
    set_up(f).await;
    let (w, c) = (&f.worker, &f.coordinator);
    let ok = f.person(w, "Galli", "Irma", "1941-01-01", Sex::F).await;
    let ok_case = case_with_plan(f, w, c, ok.id, "anziani").await;
    let good = intervention(f, w, ok_case, "SAD", 10.0, "21", json!({})).await;

    // A periodic benefit of no value, beside a good one of the same person.
    let z1 = f.person(w, "Neri", "Aldo", "1939-02-02", Sex::M).await;
    let z1_case = case_with_plan(f, w, c, z1.id, "anziani").await;
    let zero_periodic = intervention(f, w, z1_case, "SAD", 10.0, "0", json!({})).await;
    let z1_good = intervention(f, w, z1_case, "PASTI", 20.0, "7", json!({})).await;
    // A one-off of no value.
    let z2 = f.person(w, "Sala", "Bice", "1975-03-03", Sex::F).await;
    let z2_case = case_with_plan(f, w, c, z2.id, "disabili").await;
    let zero_one_off = intervention(f, w, z2_case, "TRASP", 2.0, "0", json!({})).await;
    // Taken in charge under multiutenza, which has no INPS area.
    let z3 = f.person(w, "Villa", "Dino", "1970-04-04", Sex::M).await;
    let z3_case = case_with_plan(f, w, c, z3.id, "multiutenza").await;
    let no_area = intervention(f, w, z3_case, "SEGR", 1.0, "30", json!({})).await;
    // A SINA scheme recorded only in part.
    let z4 = f.person(w, "Riva", "Elda", "1936-05-05", Sex::F).await;
    let z4_case = case_with_plan(f, w, c, z4.id, "anziani").await;
    let partial_sina = intervention(f, w, z4_case, "SAD", 12.0, "21", json!({})).await;
    let sina: SinaInput = json(json!({"assessed_on": "2024-01-04", "mobility": 3, "invalidity": "2"}));
    f.store.record_sina(w, z4_case.0, &sina).await.unwrap();
    // A citizenship without an ISTAT code.
    let z5 = person_with(f, w, "Amato", "Fabio", "1990-06-06", Sex::M, json!({"citizenship": "Atlantide"})).await;
    let z5_case = case_with_plan(f, w, c, z5.id, "poverta_disagio_adulti").await;
    let no_country = intervention(f, w, z5_case, "CONTR_ECO", 1.0, "250", json!({})).await;
    // A temporary fiscal code: no birth place.
    let z6 = person_with(f, w, "Longo", "Gina", "1988-07-07", Sex::F, json!({"fiscal_code": "12345678903"})).await;
    let z6_case = case_with_plan(f, w, c, z6.id, "poverta_disagio_adulti").await;
    let temporary = intervention(f, w, z6_case, "CONTR_ECO", 1.0, "250", json!({})).await;

    let flow = f.store.inps_flow(&f.back_office, FlowKind::Psa, None, period()).await.unwrap();
    let xml = validate(&flow, FlowKind::Psa);
    let mut included = included_interventions(&flow.report);
    included.sort_unstable();
    assert_eq!(included, [good, z1_good]);
    assert_eq!(flow.rejected().len(), 6);

    let p = "PrestazioniSociali";
    assert_eq!(reasons_of(&flow.report, zero_periodic), [(format!("{p}.ImportoMensile"), "periodic_needs".into())]);
    assert_eq!(reasons_of(&flow.report, zero_one_off), [(format!("{p}.ImportoPrestazione"), "one_off_needs".into())]);
    assert_eq!(reasons_of(&flow.report, no_area), [(format!("{p}.AreaUtenza"), "presa_carico_needs_area".into())]);
    let sina_reasons = reasons_of(&flow.report, partial_sina);
    let sina_fields: Vec<&str> = sina_reasons.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        sina_fields,
        [
            "SINA.AttivitaVitaQuotidiana",
            "SINA.DisturbiComportamentali",
            "SINA.AreaReddituale",
            "SINA.AreaSupporto",
            "SINA.FonteDerivazioneValutazione",
            "SINA.StrumentoValutazione",
            "SINA.NecessitaCureSanitarie"
        ],
        "mobility was assessed; every other dimension is missing"
    );
    assert!(sina_reasons.iter().all(|(_, code)| code == "sina_needs"));
    assert_eq!(
        reasons_of(&flow.report, no_country),
        [("Anagrafica.CodiceCittadinanza".to_owned(), "unknown_citizenship".to_owned())]
    );
    let why = &flow.rejected().iter().find(|r| r.record.intervention_id == Some(no_country)).unwrap().reasons[0];
    assert!(why.message.contains("Atlantide"), "{}", why.message);
    assert_eq!(reasons_of(&flow.report, temporary), [("Anagrafica.LuogoNascita".to_owned(), "required".to_owned())]);

    // What was left out is not in the file; the person with a good benefit is, once.
    for (case, i) in [
        (z1_case.0, zero_periodic),
        (z2_case.0, zero_one_off),
        (z3_case.0, no_area),
        (z4_case.0, partial_sina),
        (z5_case.0, no_country),
        (z6_case.0, temporary),
    ] {
        assert!(!xml.contains(&format!("ProtocolloDomanda=\"015146-{case}-{i}\"")), "intervention {i} was sent");
    }
    for p in [&z2, &z3, &z4, &z5, &z6] {
        assert!(!xml.contains(&p.fiscal_code), "{} has nothing to send", p.surname);
    }
    assert_eq!(xml.matches(&z1.fiscal_code).count(), 1);

    // The pre-send report says the same, without numbering anything.
    let report = f.store.inps_report(&f.back_office, FlowKind::Psa, None, period()).await.unwrap();
    assert_eq!(serde_json::to_value(&report).unwrap(), serde_json::to_value(&flow.report).unwrap());
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM inps_flows").await, 1);
}

async fn a_flow_where_every_record_fails_is_refused(f: &Fixture) {
    let p = f.person(&f.worker, "Fumagalli", "Rino", "1945-08-08", Sex::M).await;
    let case = case_with_plan(f, &f.worker, &f.coordinator, p.id, "anziani").await;
    assert_conflict(f.store.inps_flow(&f.back_office, FlowKind::Psa, None, period()).await, "inps_not_configured");
    set_up(f).await;
    let msg =
        assert_conflict(f.store.inps_flow(&f.back_office, FlowKind::Psa, None, period()).await, "inps_no_records");
    assert!(msg.contains("015146"), "{msg}");
    let zero = intervention(f, &f.worker, case, "SAD", 10.0, "0", json!({})).await;
    let msg =
        assert_conflict(f.store.inps_flow(&f.back_office, FlowKind::Psa, None, period()).await, "inps_all_rejected");
    assert!(msg.contains("every one of the 1 records"), "{msg}");
    // SINBA: an adult's benefit is no child's record.
    assert_conflict(f.store.inps_flow(&f.back_office, FlowKind::Sinba, None, period()).await, "inps_no_records");
    // Nothing numbered or registered; the report still says why.
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM inps_flows").await, 0);
    let report = f.store.inps_report(&f.back_office, FlowKind::Psa, None, period()).await.unwrap();
    assert!(report.included.is_empty());
    assert_eq!(
        reasons_of(&report, zero),
        [("PrestazioniSociali.ImportoMensile".to_owned(), "periodic_needs".to_owned())]
    );
    // A child without a SINBA scheme or household is refused too, with the reasons.
    let child = f.person(&f.worker, "Fumagalli", "Nina", "2019-09-09", Sex::F).await;
    let child_case = case_with_plan(f, &f.worker, &f.coordinator, child.id, "famiglia_minori").await;
    intervention(f, &f.worker, child_case, "ADM", 4.0, "24", json!({})).await;
    assert_conflict(f.store.inps_flow(&f.back_office, FlowKind::Sinba, None, period()).await, "inps_all_rejected");
    let report = f.store.inps_report(&f.back_office, FlowKind::Sinba, None, period()).await.unwrap();
    let fields: Vec<&str> = report.rejected[0].reasons.iter().map(|r| r.field.as_str()).collect();
    assert_eq!(fields, ["SINBA.Famiglia", "SINBA"]);
}

async fn flows_are_numbered_registered_and_audited(f: &Fixture) {
    set_up(f).await;
    let p = f.person(&f.worker, "Cattaneo", "Ada", "1944-04-04", Sex::F).await;
    let case = case_with_plan(f, &f.worker, &f.coordinator, p.id, "anziani").await;
    intervention(f, &f.worker, case, "TELESOC", 1.0, "20", json!({})).await;
    f.store.inps_report(&f.back_office, FlowKind::Psa, None, period()).await.unwrap();
    let flow = f.store.inps_flow(&f.back_office, FlowKind::Psa, Some(A), period()).await.unwrap();
    validate(&flow, FlowKind::Psa);
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM inps_flows WHERE kind = 'PSA' AND seq = 1 AND included = 1").await, 1);
    let log = f.store.audit_log(&f.admin, &json(json!({"entity": "inps_flow"}))).await.unwrap();
    let produced = log.iter().find(|e| e.action == "produce").expect("the production is audited");
    assert_eq!((produced.username.as_str(), produced.ente.as_deref()), ("backoffice", Some(A)));
    let detail = produced.detail.as_deref().unwrap_or("");
    assert!(detail.starts_with(&flow.flow_id), "{detail}");
    assert!(detail.contains("1 records, 0 left out"), "{detail}");
    assert!(log.iter().any(|e| e.action == "report" && e.username == "backoffice"), "the report read is audited");
    // The set-up is audited too, and its key never shows.
    let setup = f.store.inps_ente(&f.back_office, None).await.unwrap().unwrap();
    assert_eq!((setup.code.as_str(), setup.belfiore.as_str(), setup.name.as_str()), ("F205", "F205", "Milano"));
    assert!(!serde_json::to_string(&setup).unwrap().contains("key"));
    let log = f.store.audit_log(&f.admin, &json(json!({"entity": "inps_ente"}))).await.unwrap();
    assert_eq!(log.len(), 1);
    // Changing the set-up keeps the pseudonyms: the key stays.
    let before = pseudonym_key(f).await;
    let change: InpsEnteInput = json(json!({"code": "MI01", "belfiore": "F205", "operator_cf": "01199250158"}));
    f.store.set_inps_ente(&f.coordinator, None, &change).await.unwrap();
    assert_eq!(pseudonym_key(f).await, before);
    let next = f.store.inps_flow(&f.back_office, FlowKind::Psa, None, period()).await.unwrap();
    assert_eq!(next.flow_id, format!("MI01.PSA.INPS.{}.0000002", today_stamp()), "numbers run per ente and kind");
}

async fn pseudonym_key(f: &Fixture) -> String {
    const SQL: &str = "SELECT pseudonym_key FROM inps_enti";
    match &f.raw {
        Raw::Sqlite(p) => sqlx::query_scalar::<_, String>(SQL).fetch_one(p).await,
        Raw::Postgres(p) => sqlx::query_scalar::<_, String>(SQL).fetch_one(p).await,
    }
    .unwrap()
}

async fn other_enti_records_are_invisible(f: &Fixture) {
    set_up(f).await;
    let setup_b: InpsEnteInput = json(json!({"code": "I690", "belfiore": "I690", "operator_cf": "02253070150"}));
    assert_fields(f.store.set_inps_ente(&f.back_office, Some(B), &setup_b).await, &["ente"]);
    f.store.set_inps_ente(&f.ambito, Some(B), &setup_b).await.unwrap();

    let a = f.person(&f.worker, "Brambilla", "Olga", "1942-02-02", Sex::F).await;
    let a_case = case_with_plan(f, &f.worker, &f.coordinator, a.id, "anziani").await;
    intervention(f, &f.worker, a_case, "SAD", 10.0, "21", json!({})).await;
    let b = f.person(&f.worker_b, "Sestese", "Bruno", "1950-05-05", Sex::M).await;
    let b_case = case_with_plan(f, &f.worker_b, &f.ambito, b.id, "anziani").await;
    let b_sad = intervention(f, &f.worker_b, b_case, "SAD", 10.0, "21", json!({})).await;

    let flow_a = f.store.inps_flow(&f.back_office, FlowKind::Psa, None, period()).await.unwrap();
    let xml_a = String::from_utf8(flow_a.xml.clone()).unwrap();
    assert!(xml_a.contains(&a.fiscal_code) && !xml_a.contains(&b.fiscal_code) && !xml_a.contains("Sestese"));
    assert!(flow_a.included().iter().all(|r| r.person_id == a.id));
    // Comune A's staff cannot ask for B's flow, nor reach B's records.
    assert_fields(f.store.inps_flow(&f.back_office, FlowKind::Psa, Some(B), period()).await, &["ente"]);
    assert_fields(f.store.inps_report(&f.coordinator, FlowKind::Psa, Some(B), period()).await, &["ente"]);
    let sina: SinaInput = json(json!({"assessed_on": "2024-01-04", "mobility": 1}));
    assert!(matches!(f.store.record_sina(&f.worker, b_case.0, &sina).await, Err(CaseError::NotFound(_))));
    let means: BenefitMeansInput = json(json!({"means_test": 4}));
    assert!(matches!(f.store.record_benefit_means(&f.back_office, b_sad, &means).await, Err(CaseError::NotFound(_))));
    // The ambito's coordinator produces B's flow: B's records only, under B's code.
    let flow_b = f.store.inps_flow(&f.ambito, FlowKind::Psa, Some(B), period()).await.unwrap();
    let xml_b = validate(&flow_b, FlowKind::Psa);
    assert!(xml_b.contains(&b.fiscal_code) && !xml_b.contains(&a.fiscal_code));
    assert_eq!(flow_b.flow_id, format!("I690.PSA.INPS.{}.0000001", today_stamp()));
    assert_fields(f.store.inps_flow(&f.ambito, FlowKind::Psa, None, period()).await, &["ente"]);
}

async fn only_back_office_and_coordinators_produce_flows(f: &Fixture) {
    set_up(f).await;
    let forbidden = |r: &Result<_, CaseError>| matches!(r, Err(CaseError::Forbidden(_)));
    for actor in [&f.worker, &f.planner, &f.admin] {
        assert!(forbidden(&f.store.inps_flow(actor, FlowKind::Psa, None, period()).await.map(|_| ())));
        assert!(forbidden(&f.store.inps_report(actor, FlowKind::Sinba, None, period()).await.map(|_| ())));
        let setup: InpsEnteInput = json(json!({"code": "X1", "belfiore": "F205", "operator_cf": "01199250158"}));
        assert!(forbidden(&f.store.set_inps_ente(actor, None, &setup).await.map(|_| ())));
    }
    assert!(f.store.inps_report(&f.coordinator, FlowKind::Psa, None, period()).await.is_ok());
    assert!(f.store.inps_report(&f.back_office, FlowKind::Sinba, None, period()).await.is_ok());
    // Back office records means tests, never SINA schemes.
    let p = f.person(&f.worker, "Pozzi", "Ivo", "1948-08-08", Sex::M).await;
    let case = case_with_plan(f, &f.worker, &f.coordinator, p.id, "anziani").await;
    let sina: SinaInput = json(json!({"assessed_on": "2024-01-04", "mobility": 1}));
    assert!(matches!(f.store.record_sina(&f.back_office, case.0, &sina).await, Err(CaseError::Forbidden(_))));
    let i = intervention(f, &f.worker, case, "SAD", 1.0, "20", json!({})).await;
    let means: BenefitMeansInput = json(json!({"means_test": 4}));
    assert!(matches!(f.store.record_benefit_means(&f.planner, i, &means).await, Err(CaseError::Forbidden(_))));
}

async fn schemes_and_means_tests_are_checked_field_by_field(f: &Fixture) {
    let adult = f.person(&f.worker, "Colombo", "Pia", "1950-01-01", Sex::F).await;
    let case = case_with_plan(f, &f.worker, &f.coordinator, adult.id, "anziani").await;
    let bad: SinaInput = json(json!({"assessed_on": "2023-12-01", "mobility": 4, "source": "x", "invalidity": [9]}));
    assert_fields(f.store.record_sina(&f.worker, case.0, &bad).await, &["mobility", "source", "invalidity[0]"]);
    let early: SinaInput = json(json!({"assessed_on": "2023-12-01"}));
    assert_fields(f.store.record_sina(&f.worker, case.0, &early).await, &["assessed_on"]);
    let good: SinaInput = json(json!({"assessed_on": "2024-01-04", "mobility": 1, "invalidity": "5,1"}));
    let s = f.store.record_sina(&f.worker, case.0, &good).await.unwrap();
    assert_eq!((s.mobility, s.daily_living, s.invalidity.as_str()), (Some(1), None, "1,5"));

    let scheme: SinbaInput = json(json!({"assessed_on": "2024-01-04", "scheme": {"LuogoVita": 1}}));
    assert_conflict(f.store.record_sinba(&f.worker, case.0, &scheme).await, "not_a_minor");
    let child = f.person(&f.worker, "Colombo", "Teo", "2018-03-03", Sex::M).await;
    let child_case = case_with_plan(f, &f.worker, &f.coordinator, child.id, "famiglia_minori").await;
    let bad: SinbaInput = json(json!({"assessed_on": "2024-01-04",
        "scheme": {"LuogoVita": 9, "Colore": 1, "DataSegnalazione": "2024-13"}}));
    assert_fields(
        f.store.record_sinba(&f.worker, child_case.0, &bad).await,
        &["scheme.Colore", "scheme.DataSegnalazione", "scheme.LuogoVita"],
    );
    let s = f.store.record_sinba(&f.worker, child_case.0, &scheme).await.unwrap();
    assert_eq!(s.scheme.get("LuogoVita").map(String::as_str), Some("1"));

    let i = intervention(f, &f.worker, case, "SAD", 1.0, "20", json!({})).await;
    let bad: BenefitMeansInput = json(json!({"means_test": 0, "dsu_date": "2024-02-30"}));
    assert_fields(f.store.record_benefit_means(&f.back_office, i, &bad).await, &["means_test", "dsu_date"]);
    let m: BenefitMeansInput = json(json!({"means_test": 3}));
    assert_eq!(f.store.record_benefit_means(&f.back_office, i, &m).await.unwrap().means_test, 3);
    let m: BenefitMeansInput = json(json!({"means_test": 4}));
    assert_eq!(f.store.record_benefit_means(&f.worker, i, &m).await.unwrap().means_test, 4, "replaced");
    let audit = f.store.audit_log(&f.admin, &json(json!({"case_id": case.0.to_string()}))).await.unwrap();
    for entity in ["sina_assessment", "benefit_means"] {
        assert!(audit.iter().any(|e| e.entity == entity), "{entity} not audited");
    }
}

// ---- HTTP ----

mod http {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use http_body_util::BodyExt as _;
    use mosaico_case_app::{CaseState, router};
    use serde_json::{Value, json};
    use tower::ServiceExt as _;

    use super::*;

    async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let res = app.clone().oneshot(req).await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        let body = String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
        (status, headers, body)
    }

    async fn cookie(app: &axum::Router, user: &str) -> String {
        let (status, headers, body) = call(
            app,
            Request::post("/api/v1/session")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"username": user, "password": PASSWORD}).to_string()))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned()
    }

    async fn get(app: &axum::Router, cookie: &str, uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        call(app, Request::get(uri).header(header::COOKIE, cookie).body(Body::empty()).unwrap()).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_file_is_named_by_its_flow_id_and_the_report_is_json() {
        let f = sqlite().await;
        set_up(&f).await;
        let p = f.person(&f.worker, "Gatti", "Elio", "1943-03-03", Sex::M).await;
        let case = case_with_plan(&f, &f.worker, &f.coordinator, p.id, "anziani").await;
        intervention(&f, &f.worker, case, "SAD", 10.0, "21", json!({})).await;
        intervention(&f, &f.worker, case, "SAD", 10.0, "0", json!({})).await;
        let app = router(CaseState { store: f.store.clone(), secure_cookies: true });
        let office = cookie(&app, "backoffice").await;
        let q = format!("ente={A}&from={FROM}&to={TO}");

        let (status, headers, body) = get(&app, &office, &format!("/api/v1/inps/psa/report?{q}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let report: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((report["kind"].as_str(), report["included"].as_array().unwrap().len()), (Some("psa"), 1));
        assert_eq!(report["rejected"][0]["reasons"][0]["field"], "PrestazioniSociali.ImportoMensile");
        assert!(headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap().starts_with("application/json"));

        let (status, headers, body) = get(&app, &office, &format!("/api/v1/inps/psa?{q}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let id = headers.get("x-inps-flow-id").unwrap().to_str().unwrap().to_owned();
        assert_eq!(id, format!("F205.PSA.INPS.{}.0000001", today_stamp()));
        assert_eq!(
            headers.get(header::CONTENT_DISPOSITION).unwrap().to_str().unwrap(),
            format!("attachment; filename=\"{id}.xml\"")
        );
        assert_eq!(headers.get("x-inps-rejected").unwrap(), "1");
        assert!(headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap().starts_with("application/xml"));
        assert!(body.starts_with("<?xml") && body.contains(&format!("Nome=\"{id}\"")));

        // Refusals keep the API's error shape.
        let (status, _, body) = get(&app, &office, &format!("/api/v1/inps/psa?ente={A}&from=2024-01-02&to={TO}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["fields"][0]["field"], "from");
        let (status, _, _) = get(&app, &office, &format!("/api/v1/inps/sina?{q}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, body) = get(&app, &office, &format!("/api/v1/inps/sinba?{q}")).await;
        assert_eq!(
            (status, serde_json::from_str::<Value>(&body).unwrap()["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("inps_no_records"))
        );
        let worker = cookie(&app, "worker").await;
        let (status, _, _) = get(&app, &worker, &format!("/api/v1/inps/psa?{q}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) =
            call(&app, Request::get(format!("/api/v1/inps/psa?{q}")).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        f.finish().await;
    }
}

// ---- HTTP: the JSON routes and the pages, through the router ----

/// A signed-in user of the router: the session cookie and its CSRF token.
struct Web {
    app: axum::Router,
    cookie: String,
    csrf: String,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The fields a 422 names.
    fn fields(&self) -> Vec<String> {
        let j = self.json();
        j["error"]["fields"]
            .as_array()
            .map(|a| a.iter().map(|x| x["field"].as_str().unwrap_or("").to_owned()).collect())
            .unwrap_or_default()
    }

    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).map_or("", |v| v.to_str().unwrap())
    }

    /// The part of the page from `start` to the next `end`.
    fn between(&self, start: &str, end: &str) -> &str {
        let at = self.body.find(start).unwrap_or_else(|| panic!("{start} not in the page:\n{}", self.body));
        let rest = &self.body[at..];
        &rest[..rest.find(end).unwrap_or(rest.len())]
    }
}

async fn answer(app: &axum::Router, req: Request<Body>) -> Answer {
    let res = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let body = String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Answer { status, headers, body }
}

impl Web {
    async fn login(f: &Fixture, user: &str) -> Web {
        let app = router(CaseState { store: f.store.clone(), secure_cookies: true });
        let r = answer(
            &app,
            Request::post("/api/v1/session")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"username": user, "password": PASSWORD}).to_string()))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let cookie = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
        let csrf = r.json()["csrf_token"].as_str().unwrap().to_owned();
        Web { app, cookie, csrf }
    }

    async fn get(&self, uri: &str) -> Answer {
        self.send(Method::GET, uri, None).await
    }

    async fn send(&self, method: Method, uri: &str, body: Option<Value>) -> Answer {
        let b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::COOKIE, &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .header(header::CONTENT_TYPE, "application/json");
        answer(&self.app, b.body(body.map_or_else(Body::empty, |v| Body::from(v.to_string()))).unwrap()).await
    }

    /// Posts a page form with the session's CSRF token (unless the fields carry one).
    async fn form(&self, uri: &str, fields: &[(&str, &str)]) -> Answer {
        let mut enc = url::form_urlencoded::Serializer::new(String::new());
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            enc.append_pair("csrf", &self.csrf);
        }
        for (k, v) in fields {
            enc.append_pair(k, v);
        }
        let req = Request::post(uri)
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(enc.finish()))
            .unwrap();
        answer(&self.app, req).await
    }
}

const GOOD_SETUP: &str = "01199250158";

async fn the_api_records_what_the_flows_need(f: &Fixture) {
    let office = Web::login(f, "backoffice").await;
    let worker = Web::login(f, "worker").await;

    // The set-up: none yet; a bad one is refused field by field and writes nothing.
    assert_eq!(office.get("/api/v1/inps/setup").await.status, StatusCode::NOT_FOUND);
    let bad = json!({"code": "F 205", "belfiore": "2050", "operator_cf": GOOD_SETUP});
    let r = office.send(Method::PUT, "/api/v1/inps/setup", Some(bad)).await;
    assert_eq!((r.status, r.fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["code".into(), "belfiore".into()]));
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM inps_enti").await, 0);
    assert_eq!(office.get("/api/v1/inps/setup").await.status, StatusCode::NOT_FOUND);
    let good = json!({"code": "f205", "belfiore": "f205", "operator_cf": GOOD_SETUP});
    let r = office.send(Method::PUT, &format!("/api/v1/inps/setup?ente={A}"), Some(good.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.json()["code"].as_str(), r.json()["name"].as_str()), (Some("F205"), Some("Milano")));
    assert!(!r.body.contains("key"), "the pseudonym key never leaves the store: {}", r.body);
    let r = office.get("/api/v1/inps/setup").await;
    assert_eq!((r.status, r.json()["belfiore"].as_str()), (StatusCode::OK, Some("F205")));
    assert_eq!(worker.get("/api/v1/inps/setup").await.status, StatusCode::FORBIDDEN);
    assert_eq!(worker.send(Method::PUT, "/api/v1/inps/setup", Some(good)).await.status, StatusCode::FORBIDDEN);

    // A SINA scheme for an adult's case: refused field by field, then recorded.
    let olga = f.person(&f.worker, "Brivio", "Olga", "1941-01-01", Sex::F).await;
    let case = case_with_plan(f, &f.worker, &f.coordinator, olga.id, "anziani").await;
    let sad = intervention(f, &f.worker, case, "SAD", 20.0, "22.00", json!({})).await;
    let uri = format!("/api/v1/cases/{}/sina", case.0);
    let r = worker
        .send(Method::POST, &uri, Some(json!({"assessed_on": "2024-01-04", "mobility": 4, "invalidity": [9]})))
        .await;
    assert_eq!(
        (r.status, r.fields()),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["mobility".into(), "invalidity[0]".into()])
    );
    let r = worker.send(Method::POST, &uri, Some(json!({"assessed_on": "2023-12-01", "mobility": 1}))).await;
    assert_eq!(r.fields(), ["assessed_on"], "before the case was opened");
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM sina_assessments").await, 0);
    let sina = json!({"assessed_on": "2024-01-04", "mobility": 2, "daily_living": 2, "behaviour": 1, "health_care": 2,
        "income": 2, "support": 1, "source": 2, "instrument": 1, "invalidity": [6, 2]});
    let r = worker.send(Method::POST, &uri, Some(sina.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!((r.json()["mobility"].as_i64(), r.json()["invalidity"].as_str()), (Some(2), Some("2,6")));
    assert_eq!(office.send(Method::POST, &uri, Some(sina)).await.status, StatusCode::FORBIDDEN, "not back office's");
    let r = worker
        .send(
            Method::POST,
            &format!("/api/v1/cases/{}/sinba", case.0),
            Some(json!({"assessed_on": "2024-01-04",
        "scheme": {"LuogoVita": 1}})),
        )
        .await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_a_minor")));

    // A SINBA scheme for a child's case.
    let teo = f.person(&f.worker, "Brivio", "Teo", "2016-06-06", Sex::M).await;
    let child = case_with_plan(f, &f.worker, &f.coordinator, teo.id, "famiglia_minori").await;
    let uri = format!("/api/v1/cases/{}/sinba", child.0);
    let r =
        worker.send(Method::POST, &uri, Some(json!({"assessed_on": "2024-01-04", "scheme": {"LuogoVita": 9}}))).await;
    assert_eq!((r.status, r.fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["scheme.LuogoVita".into()]));
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM sinba_assessments").await, 0);
    let r = worker
        .send(
            Method::POST,
            &uri,
            Some(json!({"assessed_on": "2024-01-04",
        "scheme": {"LuogoVita": 1, "DataSegnalazione": "2023-11"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["scheme"], json!({"LuogoVita": "1", "DataSegnalazione": "11/2023"}));

    // A means test: refused, recorded by back office, replaced by the social worker.
    let uri = format!("/api/v1/interventions/{sad}/means");
    let r = office.send(Method::PUT, &uri, Some(json!({"means_test": 5, "isee": "abc"}))).await;
    assert_eq!((r.status, r.fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["means_test".into(), "isee".into()]));
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM benefit_means").await, 0);
    let r = office
        .send(
            Method::PUT,
            &uri,
            Some(json!({"means_test": 1, "dsu_protocol": "INPS-ISEE-2024-00012345A-00",
            "dsu_date": "2024-01-08", "isee": "9800,00", "isee_members": 1})),
        )
        .await;
    assert_eq!((r.status, r.json()["isee_cents"].as_i64()), (StatusCode::OK, Some(980_000)), "{}", r.body);
    let r = worker.send(Method::PUT, &uri, Some(json!({"means_test": 4}))).await;
    assert_eq!((r.status, r.json()["means_test"].as_i64()), (StatusCode::OK, Some(4)));
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM benefit_means").await, 1, "replaced, not added");

    // The register: empty, then the flow produced, with who and how many.
    let r = office.get("/api/v1/inps/flows").await;
    assert_eq!((r.status, r.json()), (StatusCode::OK, json!([])));
    let produced = office.get(&format!("/api/v1/inps/psa?from={FROM}&to={TO}")).await;
    assert_eq!(produced.status, StatusCode::OK, "{}", produced.body);
    assert!(produced.body.contains("<SINA Mobilita=\"2\""), "the scheme recorded through the API is in the flow");
    let r = office.get(&format!("/api/v1/inps/flows?ente={A}")).await;
    let flows = r.json();
    assert_eq!(flows.as_array().map(Vec::len), Some(1), "{}", r.body);
    assert_eq!(flows[0]["flow_id"].as_str(), produced.headers.get("x-inps-flow-id").map(|v| v.to_str().unwrap()));
    assert_eq!(
        (flows[0]["kind"].as_str(), flows[0]["included"].as_i64(), flows[0]["rejected"].as_i64()),
        (Some("PSA"), Some(1), Some(0))
    );
    assert_eq!(
        (flows[0]["period_from"].as_str(), flows[0]["produced_by"].as_str()),
        (Some(FROM), Some("User backoffice"))
    );
    assert_eq!(worker.get("/api/v1/inps/flows").await.status, StatusCode::FORBIDDEN);
}

async fn the_inps_page_reports_records_left_out_and_offers_the_flow(f: &Fixture) {
    set_up(f).await;
    let w = &f.worker;
    // Anna passes; Bruno's SINA scheme is incomplete; Carla's benefit has no amount.
    let anna = f.person(w, "Fontana", "Anna", "1938-03-03", Sex::F).await;
    let anna_case = case_with_plan(f, w, &f.coordinator, anna.id, "anziani").await;
    intervention(f, w, anna_case, "SAD", 20.0, "22.00", json!({})).await;
    complete_sina(f, anna_case.0).await;
    let bruno = f.person(w, "Fontana", "Bruno", "1936-06-06", Sex::M).await;
    let bruno_case = case_with_plan(f, w, &f.coordinator, bruno.id, "anziani").await;
    let bruno_sad = intervention(f, w, bruno_case, "SAD", 10.0, "22.00", json!({})).await;
    let partial: SinaInput = json(json!({"assessed_on": "2024-01-04", "mobility": 2}));
    f.store.record_sina(w, bruno_case.0, &partial).await.unwrap();
    let carla = f.person(w, "Fontana", "Carla", "1960-09-09", Sex::F).await;
    let carla_case = case_with_plan(f, w, &f.coordinator, carla.id, "poverta_disagio_adulti").await;
    intervention(f, w, carla_case, "CONTR_ECO", 1.0, "0", json!({})).await;

    let office = Web::login(f, "backoffice").await;
    let page = office.get("/app/inps?from=2024-01&to=2024-06").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<a href=\"/app/inps\">Flussi INPS</a>"), "in the header for back office");
    assert!(page.between("id=\"counts-psa\"", "</p>").contains("1 record nel flusso, 2 scartati"));
    // Every rejected record, linked to its case, with each reason.
    let rejected = page.between("id=\"rejected-psa-list\"", "</table>");
    assert!(rejected.contains(&format!("href=\"/app/cases/{}\"", bruno_case.0)), "{rejected}");
    assert!(rejected.contains(&format!("href=\"/app/cases/{}\"", carla_case.0)), "{rejected}");
    assert!(!rejected.contains(&format!("href=\"/app/cases/{}\"", anna_case.0)), "Anna's record passes");
    assert!(rejected.contains(&format!("#{bruno_sad}")));
    for reason in [
        "<code>SINA.AttivitaVitaQuotidiana</code>: scheda SINA incompleta",
        "<code>SINA.InvaliditaCivile</code>: dato obbligatorio mancante",
        "<code>PrestazioniSociali.ImportoMensile</code>: una prestazione periodica richiede",
    ] {
        assert!(rejected.contains(reason), "{reason} not in {rejected}");
    }
    assert!(page.between("id=\"included-psa\"", "</details>").contains(&format!("/app/cases/{}", anna_case.0)));
    // The download button calls the flow's own route for the period.
    let download = page.between("id=\"download-psa\"", "</form>");
    assert!(page.body.contains("<form method=\"get\" action=\"/api/v1/inps/psa\" id=\"download-psa\">"));
    for hidden in [
        format!("name=\"ente\" value=\"{A}\""),
        "name=\"from\" value=\"2024-01-01\"".into(),
        "name=\"to\" value=\"2024-06-30\"".into(),
    ] {
        assert!(download.contains(&hidden), "{hidden} not in {download}");
    }
    assert!(page.body.contains("id=\"nothing-sinba\""), "no child with benefits: nothing to send in SINBA");
    assert!(!page.body.contains("id=\"download-sinba\""));
    assert!(page.between("id=\"register\"", "</p>").contains("Nessun flusso prodotto finora."));

    // What the button asks for, then the register lists it.
    let file = office.get(&format!("/api/v1/inps/psa?ente={A}&from=2024-01-01&to=2024-06-30")).await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.body);
    let header = |name: &str| file.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!((header("x-inps-included"), header("x-inps-rejected")), ("1".into(), "2".into()));
    let id = file.headers.get("x-inps-flow-id").unwrap().to_str().unwrap().to_owned();
    let page = office.get("/app/inps?from=2024-01&to=2024-06").await;
    let register = page.between("id=\"register\"", "</table>");
    assert!(register.contains(&format!("<code>{id}</code>")) && register.contains("User backoffice"), "{register}");
    assert!(register.contains("2024-01-01 – 2024-06-30"), "{register}");

    // English on request; a bad period is refused beside its field.
    let en = office.get("/app/inps?from=2024-01&to=2024-06&lang=en").await;
    assert!(en.body.contains("1 records in the flow, 2 left out"), "{}", en.body);
    let bad = office.get("/app/inps?from=2024-01&to=2025-06&lang=it").await;
    assert!(bad.between("data-field-error=\"to\"", "</p>").contains("al massimo 12 mesi"), "{}", bad.body);
    assert!(!bad.body.contains("id=\"counts-psa\""));

    // A coordinator sees the page; a social worker gets 403 and no link.
    assert_eq!(Web::login(f, "coordinator").await.get("/app/inps").await.status, StatusCode::OK);
    let worker = Web::login(f, "worker").await;
    let denied = worker.get("/app/inps?from=2024-01&to=2024-06").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(!denied.body.contains("counts-psa") && !denied.body.contains(&bruno.fiscal_code));
    assert!(!worker.get("/app").await.body.contains("href=\"/app/inps\""));
    // Without a session, the sign-in.
    let anon = answer(&office.app, Request::get("/app/inps").body(Body::empty()).unwrap()).await;
    assert_eq!((anon.status, anon.location()), (StatusCode::SEE_OTHER, "/app/login?next=%2Fapp%2Finps"));
}

async fn the_set_up_form_refuses_bad_fields_one_by_one_and_writes_nothing(f: &Fixture) {
    let office = Web::login(f, "backoffice").await;
    let page = office.get("/app/inps").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("id=\"setup-missing\""));
    assert!(page.body.contains("id=\"report-psa-refused\""), "no report before the set-up");

    // A bad Belfiore code: refused beside that field only, what was typed shown again.
    let r =
        office.form("/app/inps/setup", &[("code", "F205"), ("belfiore", "2050"), ("operator_cf", GOOD_SETUP)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let beside = r.between("data-field-error=\"belfiore\"", "</p>");
    assert!(beside.contains("«2050» non è un codice catastale (una lettera e tre cifre, es. F205)"), "{beside}");
    assert!(r.body.contains("<li data-field=\"belfiore\"><b>Codice catastale (Belfiore)</b>"), "the banner names it");
    assert!(!r.body.contains("data-field-error=\"code\"") && !r.body.contains("data-field-error=\"operator_cf\""));
    assert!(r.between("id=\"belfiore\"", ">").contains("value=\"2050\" aria-invalid=\"true\""), "{}", r.body);
    assert!(r.between("id=\"code\"", ">").contains("value=\"F205\""));
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM inps_enti").await, 0, "nothing written");

    // Every bad field at once, each with its own message.
    let r = office.form("/app/inps/setup", &[("code", "F 205"), ("belfiore", ""), ("operator_cf", "XYZ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.between("data-field-error=\"code\"", "</p>").contains("solo lettere e cifre"));
    assert!(r.between("data-field-error=\"belfiore\"", "</p>").contains("obbligatorio"));
    assert!(
        r.between("data-field-error=\"operator_cf\"", "</p>")
            .contains("non è un codice fiscale accettato dall&#39;INPS")
    );

    // A forged form and a social worker are refused; nothing is written either way.
    let r = office
        .form(
            "/app/inps/setup",
            &[("csrf", "forged"), ("code", "F205"), ("belfiore", "F205"), ("operator_cf", GOOD_SETUP)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let worker = Web::login(f, "worker").await;
    let r =
        worker.form("/app/inps/setup", &[("code", "F205"), ("belfiore", "F205"), ("operator_cf", GOOD_SETUP)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM inps_enti").await, 0);
    assert!(f.store.audit_log(&f.admin, &json(json!({"entity": "inps_ente"}))).await.unwrap().is_empty());

    // A good one is saved and shown.
    let r = office
        .form(
            "/app/inps/setup?from=2024-01&to=2024-06",
            &[("code", "f205"), ("belfiore", "f205"), ("operator_cf", GOOD_SETUP)],
        )
        .await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, "/app/inps?ente=015146&from=2024-01&to=2024-06#setup")
    );
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM inps_enti WHERE code = 'F205' AND belfiore = 'F205'").await, 1);
    let page = office.get("/app/inps?from=2024-01&to=2024-06").await;
    assert!(page.body.contains("id=\"setup-saved\"") && page.between("id=\"code\"", ">").contains("value=\"F205\""));
    assert!(page.body.contains("id=\"counts-psa\""), "the report once set up");
}

async fn the_case_page_records_sina_and_sinba_schemes(f: &Fixture) {
    let w = &f.worker;
    let worker = Web::login(f, "worker").await;
    let ada = f.person(w, "Galli", "Ada", "1939-09-09", Sex::F).await;
    let case = case_with_plan(f, w, &f.coordinator, ada.id, "anziani").await.0;
    let page = worker.get(&format!("/app/cases/{case}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let section = page.between("id=\"inps\"", "</form>");
    assert!(section.contains("Scheda SINA") && section.contains("Nessuna scheda registrata."), "{section}");
    assert!(section.contains("<select id=\"sina-mobility\" name=\"mobility\">"), "{section}");
    assert!(section.contains("<option value=\"1\">1 · si sposta da solo</option>"));
    assert!(section.contains("name=\"invalidity\" value=\"6\"") && !section.contains("scheme.LuogoVita"));

    // Refused: beside each bad field, what was chosen kept, nothing written.
    let uri = format!("/app/cases/{case}/sina");
    let bad = [("assessed_on", "2024-01-04"), ("mobility", "7"), ("income", "2"), ("invalidity", "9")];
    let r = worker.form(&uri, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.between("data-field-error=\"mobility\"", "</p>").contains("«7» non è un codice da 1 a 3"), "{}", r.body);
    assert!(r.between("data-field-error=\"invalidity\"", "</p>").contains("«9» non è un codice da 1 a 8"));
    assert!(r.body.contains("<li data-field=\"mobility\"><b>Mobilità</b>"));
    assert!(r.between("id=\"sina-income\"", "</select>").contains("<option value=\"2\" selected>"));
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM sina_assessments").await, 0);

    // Recorded, and shown with its labels.
    let good = [
        ("assessed_on", "2024-01-04"),
        ("mobility", "2"),
        ("daily_living", "2"),
        ("behaviour", "1"),
        ("health_care", "2"),
        ("income", "2"),
        ("support", "1"),
        ("source", "2"),
        ("instrument", "1"),
        ("invalidity", "6"),
        ("invalidity", "2"),
        ("cognitive", ""),
    ];
    let r = worker.form(&uri, &good).await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, format!("/app/cases/{case}#inps").as_str()),
        "{}",
        r.body
    );
    let stored = f.store.case_inps(w, case).await.unwrap().sina.unwrap();
    assert_eq!((stored.mobility, stored.cognitive, stored.invalidity.as_str()), (Some(2), None, "2,6"));
    let page = worker.get(&format!("/app/cases/{case}")).await;
    let section = page.between("id=\"inps\"", "</form>");
    assert!(section.contains("valutazione del 2024-01-04") && section.contains("2 · si sposta assistito"), "{section}");
    assert!(
        section.contains("<option value=\"2\" selected>2 · si sposta assistito</option>"),
        "the form starts from it"
    );

    // A child's case has the SINBA scheme instead.
    let leo = f.person(w, "Galli", "Leo", "2015-05-05", Sex::M).await;
    let child = case_with_plan(f, w, &f.coordinator, leo.id, "famiglia_minori").await.0;
    let kept: SinbaInput = json(json!({"assessed_on": "2024-01-03", "scheme": {"TitoloStudioMadre": 5}}));
    f.store.record_sinba(w, child, &kept).await.unwrap();
    let page = worker.get(&format!("/app/cases/{child}")).await;
    let section = page.between("id=\"inps\"", "</form>");
    assert!(section.contains("Scheda SINBA") && !section.contains("name=\"mobility\""), "{section}");
    assert!(section.contains("<option value=\"1\">1 · nella sua famiglia</option>"), "{section}");
    assert!(section.contains("name=\"scheme.TitoloStudioMadre\" value=\"5\""), "kept when the form is saved");
    let uri = format!("/app/cases/{child}/sinba");
    let r = worker
        .form(&uri, &[("assessed_on", "2024-01-04"), ("scheme.LuogoVita", "9"), ("scheme.DataSegnalazione", "2024-13")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.between("data-field-error=\"scheme.LuogoVita\"", "</p>").contains("«9» non è un codice da 1 a 8"));
    assert!(r.body.contains("data-field-error=\"scheme.DataSegnalazione\""));
    assert!(r.body.contains("<li data-field=\"scheme.LuogoVita\"><b>Luogo di vita</b>"));
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM sinba_assessments").await, 1, "only the one before");
    let mut fields: Vec<(String, &str)> = vec![
        ("assessed_on".into(), "2024-01-04"),
        ("scheme.DataSegnalazione".into(), "2023-12"),
        ("scheme.TitoloStudioMadre".into(), "5"),
        ("scheme.DataProvvedimentoGiudiziario".into(), ""),
    ];
    for (k, v) in [
        ("MinoreStranieroNoAcc", "2"),
        ("CondizioneMinore", "1"),
        ("LuogoVita", "1"),
        ("ScuolaFrequentata", "5"),
        ("CondizioneLavoro", "1"),
        ("Disabilita", "2"),
        ("FonteSegnalazione", "13"),
        ("ValutazioneMinore", "2"),
        ("ValutazioneFamigliaMinore", "12"),
        ("SegnalazioneAutoritaGiudiziaria", "2"),
        ("ProvvedimentoGiudiziario", "2"),
    ] {
        fields.push((format!("scheme.{k}"), v));
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let r = worker.form(&uri, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let scheme = f.store.case_inps(w, child).await.unwrap().sinba.unwrap().scheme;
    assert_eq!(scheme.len(), 13, "{scheme:?}");
    assert_eq!((scheme["DataSegnalazione"].as_str(), scheme["TitoloStudioMadre"].as_str()), ("12/2023", "5"));

    // Back office records no scheme (nor sees the case).
    let office = Web::login(f, "backoffice").await;
    assert_eq!(office.form(&format!("/app/cases/{case}/sina"), &good).await.status, StatusCode::FORBIDDEN);
}

// ---- The demo ----

/// The demo's seed sets Milano up and records SINA and SINBA schemes and means tests,
/// so that the PSA flow of the last full quarter holds records and leaves some out for
/// an incomplete SINA scheme, and the SINBA flow holds the children whose scheme and
/// household are recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_quarter_has_records_in_and_out_of_each_flow() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        mosaico_case_app::Store::open(&format!("sqlite://{}", dir.path().join("demo.db").display())).await.unwrap();
    let registry = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data-samples/milano-5k/registry.csv");
    let seeded = mosaico_case_app::seed::demo(&store, &registry, 300, 42).await.unwrap();
    assert!(seeded.cases > 200, "{seeded:?}");
    let office = store.login("backoffice", mosaico_case_app::seed::DEMO_PASSWORD, "test").await.unwrap().actor;
    let quarter = Period::last_full_quarter(today());
    let psa = store.inps_report(&office, FlowKind::Psa, None, quarter).await.unwrap();
    let sinba = store.inps_report(&office, FlowKind::Sinba, None, quarter).await.unwrap();
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    for r in &psa.rejected {
        for why in &r.reasons {
            *codes.entry(format!("{} {}", why.field, why.code)).or_default() += 1;
        }
    }
    assert!(!psa.included.is_empty() && !psa.rejected.is_empty(), "{psa:?}");
    assert!(codes.keys().any(|k| k.ends_with("sina_needs")), "an incomplete SINA scheme leaves records out: {codes:?}");
    assert!(!sinba.included.is_empty(), "{sinba:?}");
    // The flows the demo would send pass their XSDs.
    let flow = store.inps_flow(&office, FlowKind::Psa, None, quarter).await.unwrap();
    validate(&flow, FlowKind::Psa);
    assert!(flow.xml.windows(5).any(|w| w == b"<SINA"), "complete SINA schemes travel with their benefits");
    let flow = store.inps_flow(&office, FlowKind::Sinba, None, quarter).await.unwrap();
    validate(&flow, FlowKind::Sinba);
}
