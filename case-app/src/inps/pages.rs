//! The pages of the INPS flows, under `/app/`:
//!
//! - `/app/inps` (back office and coordinators, [`Permission::InpsSend`]): the ente's
//!   set-up (INPS code, Belfiore code, operator's fiscal code), a period of whole
//!   months (the last full quarter by default), for each flow the pre-send report —
//!   the records it holds and every rejected record with each reason, linked to its
//!   case so the social worker can mend it — a download button (the flow's own GET
//!   route, which produces and registers a numbered flow), and the register of flows
//!   already produced;
//! - on the case page, the social worker's section: the SINA scheme of an adult or the
//!   SINBA scheme of a child, the coded values as selects labelled from the catalogue.
//!
//! Plain HTML forms with the session's CSRF token; a refused form comes back with the
//! reasons above the page and beside each field, with what was typed, and nothing
//! written.

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mosaico_domain::i18n::{Lang, escape, t};
use serde::Deserialize;

use super::records::{SINBA_MONTHS, SINBA_SCHEME};
use super::{FlowKind, InpsEnteInput, Period, Report, SinaAssessment, SinaInput, SinbaAssessment, SinbaInput, codes};
use crate::http::{CaseState, status_and_code};
use crate::model::{CaseFile, Permission};
use crate::pages::{
    PageLang, PageSession, Refill, WithCsrf, case_link, check_csrf, code_label, csrf_input, error_page, field_message,
    flash, heads, layout, message_of, render_case_with, scoped, see_other, table, tr,
};
use crate::{CaseError, Session, today};

pub(crate) fn routes() -> Router<CaseState> {
    Router::new()
        .route("/app/inps", get(inps_page))
        .route("/app/inps/setup", post(setup_submit))
        .route("/app/cases/{id}/sina", post(sina_submit))
        .route("/app/cases/{id}/sinba", post(sinba_submit))
}

// ---- Fields with their own messages ----

/// The messages of a refusal about `field` (or its items `field[i]`), shown under it.
fn field_errors(l: Lang, e: Option<&CaseError>, field: &str) -> String {
    let Some(CaseError::Invalid(fields)) = e else { return String::new() };
    let msgs: Vec<String> = fields
        .iter()
        .filter(|f| f.field == field || f.field.strip_prefix(field).is_some_and(|rest| rest.starts_with('[')))
        .map(|f| escape(&field_message(l, f)))
        .collect();
    if msgs.is_empty() {
        return String::new();
    }
    format!(
        "<p class=\"field-error\" data-field-error=\"{}\" style=\"color:#b42318;margin:2px 0 0;font-size:13px\">{}</p>",
        escape(field),
        msgs.join("; ")
    )
}

fn dom_id(name: &str) -> String {
    name.replace('.', "-")
}

/// A labelled input with its messages.
fn input(l: Lang, name: &str, label_key: &str, kind: &str, value: &str, err: Option<&CaseError>) -> String {
    let msg = field_errors(l, err, name);
    format!(
        "<div><label for=\"{id}\">{}</label><input id=\"{id}\" name=\"{}\" type=\"{kind}\" value=\"{}\"{}>{msg}</div>",
        tr(l, label_key),
        escape(name),
        escape(value),
        if msg.is_empty() { "" } else { " aria-invalid=\"true\"" },
        id = dom_id(name),
    )
}

/// A select of the codes `1..=max`, each labelled `<prefix>_<code>` from the catalogue,
/// with a blank first option (not assessed yet).
fn code_select(
    l: Lang,
    name: &str,
    label_key: &str,
    prefix: &str,
    max: u8,
    selected: &str,
    err: Option<&CaseError>,
) -> String {
    let msg = field_errors(l, err, name);
    let mut h = format!(
        "<div><label for=\"{id}\">{}</label><select id=\"{id}\" name=\"{}\"{}><option value=\"\">{}</option>",
        tr(l, label_key),
        escape(name),
        if msg.is_empty() { "" } else { " aria-invalid=\"true\"" },
        tr(l, "inps_not_assessed"),
        id = dom_id(name),
    );
    for code in 1..=max {
        let c = code.to_string();
        h.push_str(&format!(
            "<option value=\"{c}\"{}>{c} · {}</option>",
            if c == selected.trim() { " selected" } else { "" },
            tr(l, &format!("{prefix}_{c}"))
        ));
    }
    h.push_str(&format!("</select>{msg}</div>"));
    h
}

/// The label of a code, or a dash when blank.
fn code_text(l: Lang, prefix: &str, code: Option<&str>) -> String {
    match code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => {
            let key = format!("{prefix}_{c}");
            let said = t(l, &key);
            if said == key { escape(c) } else { format!("{} · {}", escape(c), escape(&said)) }
        }
        None => "<span class=\"muted\">—</span>".to_owned(),
    }
}

fn query(ente: &str, from: &str, to: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("ente", ente)
        .append_pair("from", from)
        .append_pair("to", to)
        .finish()
}

// ---- The back office's page ----

/// The ente and the period asked for: months as `YYYY-MM` (or whole dates).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct InpsQuery {
    #[serde(default)]
    ente: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

/// `YYYY-MM` as its first day; anything else as typed (the period's check says why).
fn month_start(s: &str) -> String {
    let s = s.trim();
    if is_month(s) { format!("{s}-01") } else { s.to_owned() }
}

/// `YYYY-MM` as its last day; anything else as typed.
fn month_end(s: &str) -> String {
    let s = s.trim();
    if !is_month(s) {
        return s.to_owned();
    }
    let first = chrono::NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok();
    first
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .and_then(|d| d.pred_opt())
        .map_or_else(|| s.to_owned(), |d| d.to_string())
}

fn is_month(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7 && b[4] == b'-' && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
}

/// What a month input shows for a date typed or chosen.
fn month_value(s: &str) -> String {
    let s = s.trim();
    if s.len() == 10 && is_month(&s[..7]) { s[..7].to_owned() } else { s.to_owned() }
}

async fn inps_page(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Query(q): Query<InpsQuery>,
) -> Response {
    render_inps(&s, lang, &session, &q, None, None).await
}

async fn render_inps(
    s: &CaseState,
    lang: PageLang,
    session: &Session,
    q: &InpsQuery,
    refused: Option<&CaseError>,
    sent: Option<&InpsEnteInput>,
) -> Response {
    let l = lang.0;
    let a = &session.actor;
    if !a.role.can(Permission::InpsSend) {
        return error_page(l, Some(session), &CaseError::Forbidden("produce INPS flows"));
    }
    let asked = q.ente.as_deref().map(str::trim).filter(|e| !e.is_empty()).or(a.enti.first().map(String::as_str));
    let ente = match a.ente_for(asked) {
        Ok(e) => e,
        Err(e) => return error_page(l, Some(session), &e),
    };
    let setup = match s.store.inps_ente(a, Some(&ente)).await {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(session), &e),
    };
    let enti = s.store.enti(a).await.unwrap_or_default();
    let ente_name = enti.iter().find(|e| e.istat == ente).map_or_else(|| ente.clone(), |e| e.name.clone());
    let quarter = Period::last_full_quarter(today());
    let from = q.from.clone().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| quarter.from.to_string());
    let to = q.to.clone().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| quarter.to.to_string());
    let period = Period::parse(&month_start(&from), &month_end(&to));
    let csrf = csrf_input(session);

    let mut b = format!("<h1>{}</h1>", tr(l, "inps_title"));
    if let Some(e) = refused {
        b.push_str(&flash(l, e));
    }
    b.push_str(&format!("<p class=\"muted\">{}</p>", tr(l, "inps_intro")));

    // The ente's set-up.
    b.push_str(&format!("<h2 id=\"setup\">{} — {}</h2>", tr(l, "inps_setup"), escape(&ente_name)));
    match &setup {
        None => b.push_str(&format!("<div class=\"flash\" id=\"setup-missing\">{}</div>", tr(l, "inps_setup_missing"))),
        Some(x) => b.push_str(&format!(
            "<p class=\"muted\" id=\"setup-saved\">{} {}</p>",
            tr(l, "inps_setup_saved_at"),
            x.updated_at.format("%Y-%m-%d %H:%M")
        )),
    }
    let value = |sent_value: Option<&Option<String>>, stored: Option<&str>| -> String {
        match sent_value {
            Some(v) => v.clone().unwrap_or_default(),
            None => stored.unwrap_or("").to_owned(),
        }
    };
    let code = value(sent.map(|x| &x.code), setup.as_ref().map(|x| x.code.as_str()));
    let belfiore = value(sent.map(|x| &x.belfiore), setup.as_ref().map(|x| x.belfiore.as_str()));
    let operator = value(sent.map(|x| &x.operator_cf), setup.as_ref().map(|x| x.operator_cf.as_str()));
    let errors = sent.and(refused);
    b.push_str(&format!(
        "<form class=\"box\" method=\"post\" action=\"/app/inps/setup?{}\" id=\"setup-form\">{csrf}<p class=\"muted\">{}</p>\
         <div class=\"grid\">{}{}{}</div><button type=\"submit\">{}</button></form>",
        escape(&query(&ente, &from, &to)),
        tr(l, "inps_setup_help"),
        input(l, "code", "inps_f_code", "text", &code, errors),
        input(l, "belfiore", "f_belfiore", "text", &belfiore, errors),
        input(l, "operator_cf", "f_operator_cf", "text", &operator, errors),
        tr(l, "ca_save"),
    ));

    // The period.
    b.push_str(&format!("<h2 id=\"period\">{}</h2>", tr(l, "inps_period")));
    let period_error = period.as_ref().err();
    let mut chooser = String::new();
    if enti.len() > 1 {
        chooser.push_str(&format!(
            "<div><label for=\"ente\">{}</label><select id=\"ente\" name=\"ente\">",
            tr(l, "f_ente")
        ));
        for e in &enti {
            chooser.push_str(&format!(
                "<option value=\"{}\"{}>{}</option>",
                escape(&e.istat),
                if e.istat == ente { " selected" } else { "" },
                escape(&e.name)
            ));
        }
        chooser.push_str("</select></div>");
    } else {
        chooser.push_str(&format!("<input type=\"hidden\" name=\"ente\" value=\"{}\">", escape(&ente)));
    }
    b.push_str(&format!(
        "<form class=\"box\" method=\"get\" action=\"/app/inps\" id=\"period-form\"><div class=\"grid\">{chooser}{}{}</div>\
         <button type=\"submit\">{}</button></form>",
        input(l, "from", "inps_f_from", "month", &month_value(&from), period_error),
        input(l, "to", "inps_f_to", "month", &month_value(&to), period_error),
        tr(l, "inps_show"),
    ));

    // The pre-send reports.
    if let Ok(p) = period {
        for kind in [FlowKind::Psa, FlowKind::Sinba] {
            let key = kind.code().to_ascii_lowercase();
            b.push_str(&format!(
                "<h2 id=\"flow-{key}\">{} · {} – {}</h2>",
                tr(l, &format!("inps_flow_{key}")),
                p.from,
                p.to
            ));
            match s.store.inps_report(a, kind, Some(&ente), p).await {
                Ok(r) => b.push_str(&report_section(l, &r, &ente)),
                Err(e) => b.push_str(&format!(
                    "<div class=\"flash\" id=\"report-{key}-refused\">{}</div>",
                    escape(&message_of(l, &e))
                )),
            }
        }
    }

    // The register.
    b.push_str(&format!("<h2 id=\"register\">{}</h2>", tr(l, "inps_register")));
    match s.store.inps_flows(a, Some(&ente)).await {
        Ok(list) => {
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|f| {
                    vec![
                        format!("<code>{}</code>", escape(&f.flow_id)),
                        escape(&f.kind),
                        format!("{} – {}", f.period_from, f.period_to),
                        f.included.to_string(),
                        f.rejected.to_string(),
                        escape(&f.produced_by),
                        f.produced_at.format("%Y-%m-%d %H:%M").to_string(),
                    ]
                })
                .collect();
            b.push_str(&table(
                &heads(
                    l,
                    &[
                        "inps_col_flow",
                        "inps_col_kind",
                        "inps_col_period",
                        "inps_col_included",
                        "inps_col_rejected",
                        "ca_col_by",
                        "ca_col_when",
                    ],
                ),
                &rows,
                &t(l, "inps_register_empty"),
            ));
        }
        Err(e) => b.push_str(&flash(l, &e)),
    }
    let status = refused.map_or(StatusCode::OK, |e| status_and_code(e).0);
    (status, layout(lang, Some(session), &t(l, "inps_nav"), &b)).into_response()
}

/// A flow's pre-send report: counts, the download, every rejected record with each
/// reason (linked to its case), and the records the flow holds.
fn report_section(l: Lang, r: &Report, ente: &str) -> String {
    let key = r.kind.code().to_ascii_lowercase();
    let mut b = format!(
        "<p class=\"counts\" id=\"counts-{key}\">{}</p>",
        escape(
            &t(l, "inps_counts")
                .replace("{included}", &r.included.len().to_string())
                .replace("{rejected}", &r.rejected.len().to_string())
        )
    );
    if r.included.is_empty() {
        b.push_str(&format!("<p class=\"muted\" id=\"nothing-{key}\">{}</p>", tr(l, "inps_nothing_to_send")));
    } else {
        // The flow's own route answers the file (Content-Disposition: attachment).
        b.push_str(&format!(
            "<form method=\"get\" action=\"/api/v1/inps/{key}\" id=\"download-{key}\">\
             <input type=\"hidden\" name=\"ente\" value=\"{}\"><input type=\"hidden\" name=\"from\" value=\"{}\">\
             <input type=\"hidden\" name=\"to\" value=\"{}\"><button type=\"submit\">{}</button> \
             <span class=\"muted\">{}</span></form>",
            escape(ente),
            r.period.from,
            r.period.to,
            tr(l, "inps_download"),
            tr(l, "inps_download_help"),
        ));
    }
    let intervention = |id: Option<i64>| id.map_or_else(|| "—".to_owned(), |i| format!("#{i}"));
    let service = |c: &Option<String>| c.as_deref().map_or_else(|| "—".to_owned(), |c| code_label(l, "service", c));
    let rows: Vec<Vec<String>> = r
        .rejected
        .iter()
        .map(|x| {
            let reasons: String = x
                .reasons
                .iter()
                .map(|why| {
                    format!(
                        "<li data-code=\"{}\" title=\"{}\"><code>{}</code>: {}</li>",
                        escape(why.code),
                        escape(&why.message),
                        escape(&why.field),
                        tr(l, &format!("inps_reason_{}", why.code))
                    )
                })
                .collect();
            vec![
                case_link(x.record.case_id, &format!("#{}", x.record.case_id)),
                intervention(x.record.intervention_id),
                service(&x.record.service_code),
                format!("<ul class=\"reasons\">{reasons}</ul>"),
            ]
        })
        .collect();
    b.push_str(&format!("<h3 id=\"rejected-{key}\">{} ({})</h3>", tr(l, "inps_rejected"), r.rejected.len()));
    b.push_str(&format!("<div id=\"rejected-{key}-list\">"));
    b.push_str(&table(
        &heads(l, &["ca_col_case", "inps_col_intervention", "f_service_code", "inps_col_reasons"]),
        &rows,
        &t(l, "ca_none"),
    ));
    b.push_str("</div>");
    let rows: Vec<Vec<String>> = r
        .included
        .iter()
        .map(|x| {
            vec![
                case_link(x.case_id, &format!("#{}", x.case_id)),
                intervention(x.intervention_id),
                service(&x.service_code),
            ]
        })
        .collect();
    b.push_str(&format!(
        "<details id=\"included-{key}\"><summary>{} ({})</summary>{}</details>",
        tr(l, "inps_included"),
        r.included.len(),
        table(&heads(l, &["ca_col_case", "inps_col_intervention", "f_service_code"]), &rows, &t(l, "ca_none"))
    ));
    b
}

async fn setup_submit(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Query(q): Query<InpsQuery>,
    Form(f): Form<WithCsrf<InpsEnteInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    let a = &session.actor;
    let ente = q.ente.as_deref().map(str::trim).filter(|e| !e.is_empty()).or(a.enti.first().map(String::as_str));
    match s.store.set_inps_ente(a, ente, &f.inner).await {
        Ok(x) => {
            let back = query(&x.ente, q.from.as_deref().unwrap_or(""), q.to.as_deref().unwrap_or(""));
            see_other(&format!("/app/inps?{back}#setup"))
        }
        Err(e) => render_inps(&s, lang, &session, &q, Some(&e), Some(&f.inner)).await,
    }
}

// ---- The case page's section ----

/// The SINA dimensions the form records: field, highest code, required in a flow.
const SINA_DIMENSIONS: &[(&str, u8)] = &[
    ("mobility", 3),
    ("daily_living", 3),
    ("cognitive", 3),
    ("behaviour", 2),
    ("health_care", 3),
    ("income", 3),
    ("support", 3),
    ("source", 4),
    ("instrument", 7),
    ("invalidity_source", 2),
];

fn sina_value(x: &SinaAssessment, field: &str) -> Option<i64> {
    match field {
        "mobility" => x.mobility,
        "daily_living" => x.daily_living,
        "cognitive" => x.cognitive,
        "behaviour" => x.behaviour,
        "health_care" => x.health_care,
        "income" => x.income,
        "support" => x.support,
        "source" => x.source,
        "instrument" => x.instrument,
        "invalidity_source" => x.invalidity_source,
        _ => None,
    }
}

/// The SINBA attributes the form records: those the XSD requires of the social worker.
/// Attributes recorded otherwise (through the API) are kept when the form is saved.
const SINBA_FORM: &[&str] = &[
    "MinoreStranieroNoAcc",
    "CondizioneMinore",
    "LuogoVita",
    "ScuolaFrequentata",
    "CondizioneLavoro",
    "Disabilita",
    "FonteSegnalazione",
    "ValutazioneMinore",
    "ValutazioneFamigliaMinore",
    "SegnalazioneAutoritaGiudiziaria",
    "ProvvedimentoGiudiziario",
];

/// The yes/no attributes (`1` sì, `2` no).
const SINBA_YES_NO: &[&str] =
    &["MinoreStranieroNoAcc", "Disabilita", "SegnalazioneAutoritaGiudiziaria", "ProvvedimentoGiudiziario"];

fn sinba_prefix(name: &str) -> String {
    if SINBA_YES_NO.contains(&name) { "inps_yesno".to_owned() } else { format!("inps_sinba_{name}") }
}

fn sinba_max(name: &str) -> u8 {
    SINBA_SCHEME.iter().find(|c| c.name == name).map_or(1, |c| c.max)
}

/// `MM/YYYY` (as stored) as `YYYY-MM` (as a month input shows it).
fn month_input(v: &str) -> String {
    match v.split_once('/') {
        Some((m, y)) => format!("{y}-{m}"),
        None => v.to_owned(),
    }
}

/// The case's INPS schemes: SINA for an adult, SINBA for a child; the form for the
/// social worker while the case is open. `banner`/`refill` are a refused form's.
pub(crate) async fn case_section(
    s: &CaseState,
    l: Lang,
    session: &Session,
    file: &CaseFile,
    can_write: bool,
    banner: Option<&CaseError>,
    refill: Option<&Refill>,
) -> String {
    let case_id = file.case.id;
    let Ok(inps) = s.store.case_inps(&session.actor, case_id).await else {
        return String::new();
    };
    let minor = codes::age_on(file.person.birth_date, today()) < 18;
    let form = if minor { "sinba" } else { "sina" };
    let mine = refill.filter(|r| r.form == form);
    let errors = mine.and(banner);
    let sent = mine.map(|r| &r.values);
    let mut b = format!("<h2 id=\"inps\">{}</h2>", tr(l, "inps_case_title"));
    if minor {
        b.push_str(&sinba_part(l, session, case_id, inps.sinba.as_ref(), can_write, errors, sent));
    } else {
        b.push_str(&sina_part(l, session, case_id, inps.sina.as_ref(), can_write, errors, sent));
    }
    b
}

fn latest_line(l: Lang, id: &str, on: Option<chrono::NaiveDate>) -> String {
    match on {
        Some(d) => format!("<p id=\"{id}\">{}</p>", escape(&t(l, "inps_latest").replace("{date}", &d.to_string()))),
        None => format!("<p class=\"muted\" id=\"{id}\">{}</p>", tr(l, "inps_none_recorded")),
    }
}

fn sina_part(
    l: Lang,
    session: &Session,
    case_id: i64,
    latest: Option<&SinaAssessment>,
    can_write: bool,
    errors: Option<&CaseError>,
    sent: Option<&HashMap<String, String>>,
) -> String {
    let mut b =
        format!("<h3 id=\"sina\">{}</h3><p class=\"muted\">{}</p>", tr(l, "inps_sina"), tr(l, "inps_sina_help"));
    b.push_str(&latest_line(l, "sina-latest", latest.map(|x| x.assessed_on)));
    if let Some(x) = latest {
        let mut rows: Vec<Vec<String>> = SINA_DIMENSIONS
            .iter()
            .map(|(field, _)| {
                let v = sina_value(x, field).map(|n| n.to_string());
                vec![tr(l, &format!("inps_sina_{field}")), code_text(l, &format!("inps_sina_{field}"), v.as_deref())]
            })
            .collect();
        let invalidity: Vec<String> = x
            .invalidity
            .split(',')
            .filter(|c| !c.trim().is_empty())
            .map(|c| code_text(l, "inps_sina_invalidity", Some(c)))
            .collect();
        rows.push(vec![
            tr(l, "inps_sina_invalidity"),
            if invalidity.is_empty() { code_text(l, "", None) } else { invalidity.join("<br>") },
        ]);
        b.push_str(&table(&heads(l, &["inps_col_dimension", "inps_col_value"]), &rows, ""));
    }
    if !can_write {
        return b;
    }
    let val = |name: &str, stored: Option<String>| -> String {
        match sent {
            Some(v) => v.get(name).cloned().unwrap_or_default(),
            None => stored.unwrap_or_default(),
        }
    };
    let mut fields =
        input(l, "assessed_on", "f_assessed_on", "date", &val("assessed_on", Some(today().to_string())), errors);
    for (field, max) in SINA_DIMENSIONS {
        let stored = latest.and_then(|x| sina_value(x, field)).map(|n| n.to_string());
        fields.push_str(&code_select(
            l,
            field,
            &format!("inps_sina_{field}"),
            &format!("inps_sina_{field}"),
            *max,
            &val(field, stored),
            errors,
        ));
    }
    let chosen = val("invalidity", latest.map(|x| x.invalidity.clone()));
    let chosen: Vec<&str> = chosen.split(',').map(str::trim).collect();
    let mut boxes = String::new();
    for code in 1..=8u8 {
        let c = code.to_string();
        boxes.push_str(&format!(
            "<label style=\"display:flex;gap:6px;align-items:baseline\"><input type=\"checkbox\" name=\"invalidity\" value=\"{c}\" style=\"width:auto\"{}> {c} · {}</label>",
            if chosen.contains(&c.as_str()) { " checked" } else { "" },
            tr(l, &format!("inps_sina_invalidity_{c}")),
        ));
    }
    b.push_str(&scoped(
        "sina",
        format!(
            "<form class=\"box\" method=\"post\" action=\"/app/cases/{case_id}/sina\" id='sina-form'>{}<div class=\"grid\">{fields}</div>\
             <fieldset style=\"margin-top:8px\"><legend>{}</legend>{boxes}{}</fieldset><button type=\"submit\">{}</button></form>",
            csrf_input(session),
            tr(l, "inps_sina_invalidity"),
            field_errors(l, errors, "invalidity"),
            tr(l, "inps_record"),
        ),
    ));
    b
}

fn sinba_part(
    l: Lang,
    session: &Session,
    case_id: i64,
    latest: Option<&SinbaAssessment>,
    can_write: bool,
    errors: Option<&CaseError>,
    sent: Option<&HashMap<String, String>>,
) -> String {
    let mut b =
        format!("<h3 id=\"sinba\">{}</h3><p class=\"muted\">{}</p>", tr(l, "inps_sinba"), tr(l, "inps_sinba_help"));
    b.push_str(&latest_line(l, "sinba-latest", latest.map(|x| x.assessed_on)));
    let empty = BTreeMap::new();
    let scheme = latest.map_or(&empty, |x| &x.scheme);
    if latest.is_some() {
        let mut rows: Vec<Vec<String>> = SINBA_FORM
            .iter()
            .map(|name| {
                vec![
                    tr(l, &format!("inps_sinba_{name}")),
                    code_text(l, &sinba_prefix(name), scheme.get(*name).map(String::as_str)),
                ]
            })
            .collect();
        for m in SINBA_MONTHS {
            rows.push(vec![tr(l, &format!("inps_sinba_{m}")), code_text(l, "", scheme.get(*m).map(String::as_str))]);
        }
        for (k, v) in
            scheme.iter().filter(|(k, _)| !SINBA_FORM.contains(&k.as_str()) && !SINBA_MONTHS.contains(&k.as_str()))
        {
            rows.push(vec![format!("<code>{}</code>", escape(k)), escape(v)]);
        }
        b.push_str(&table(&heads(l, &["inps_col_dimension", "inps_col_value"]), &rows, ""));
    }
    if !can_write {
        return b;
    }
    let val = |name: &str, stored: Option<String>| -> String {
        match sent {
            Some(v) => v.get(name).cloned().unwrap_or_default(),
            None => stored.unwrap_or_default(),
        }
    };
    let mut fields =
        input(l, "assessed_on", "f_assessed_on", "date", &val("assessed_on", Some(today().to_string())), errors);
    for name in SINBA_FORM {
        let field = format!("scheme.{name}");
        fields.push_str(&code_select(
            l,
            &field,
            &format!("inps_sinba_{name}"),
            &sinba_prefix(name),
            sinba_max(name),
            &val(&field, scheme.get(*name).cloned()),
            errors,
        ));
    }
    for m in SINBA_MONTHS {
        let field = format!("scheme.{m}");
        let stored = scheme.get(*m).map(|v| month_input(v));
        fields.push_str(&input(l, &field, &format!("inps_sinba_{m}"), "month", &val(&field, stored), errors));
    }
    // Attributes recorded elsewhere travel with the form, so saving it keeps them.
    let mut kept = String::new();
    for (k, v) in
        scheme.iter().filter(|(k, _)| !SINBA_FORM.contains(&k.as_str()) && !SINBA_MONTHS.contains(&k.as_str()))
    {
        let field = format!("scheme.{k}");
        kept.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(&field),
            escape(&val(&field, Some(v.clone())))
        ));
    }
    b.push_str(&scoped(
        "sinba",
        format!(
            "<form class=\"box\" method=\"post\" action=\"/app/cases/{case_id}/sinba\" id='sinba-form'>{}{kept}<div class=\"grid\">{fields}</div>\
             <button type=\"submit\">{}</button></form>",
            csrf_input(session),
            tr(l, "inps_record"),
        ),
    ));
    b
}

/// The first value sent for `name`, trimmed; `None` when blank.
fn sent_value(raw: &[(String, String)], name: &str) -> Option<String> {
    raw.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// What a refused form shows again: each field as sent, repeated fields joined by commas.
fn refill_of(form: &'static str, raw: &[(String, String)]) -> Refill {
    let mut values: HashMap<String, String> = HashMap::new();
    for (k, v) in raw.iter().filter(|(k, _)| k != "csrf") {
        values
            .entry(k.clone())
            .and_modify(|x| {
                x.push(',');
                x.push_str(v);
            })
            .or_insert_with(|| v.clone());
    }
    Refill { form, values }
}

fn sina_input(raw: &[(String, String)]) -> SinaInput {
    let v = |n: &str| sent_value(raw, n);
    SinaInput {
        assessed_on: v("assessed_on"),
        mobility: v("mobility"),
        daily_living: v("daily_living"),
        cognitive: v("cognitive"),
        behaviour: v("behaviour"),
        health_care: v("health_care"),
        income: v("income"),
        support: v("support"),
        source: v("source"),
        instrument: v("instrument"),
        invalidity: raw
            .iter()
            .filter(|(k, v)| k == "invalidity" && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect(),
        invalidity_source: v("invalidity_source"),
    }
}

fn sinba_input(raw: &[(String, String)]) -> SinbaInput {
    SinbaInput {
        assessed_on: sent_value(raw, "assessed_on"),
        scheme: raw
            .iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix("scheme.")?;
                let v = v.trim();
                (!v.is_empty()).then(|| (name.to_owned(), v.to_owned()))
            })
            .collect(),
    }
}

async fn sina_submit(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(raw): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &sent_value(&raw, "csrf").unwrap_or_default()) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.record_sina(&session.actor, id, &sina_input(&raw)).await {
        Ok(_) => see_other(&format!("/app/cases/{id}#inps")),
        Err(e) => render_case_with(&s, lang, &session, id, Some(&e), Some(&refill_of("sina", &raw))).await,
    }
}

async fn sinba_submit(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(raw): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &sent_value(&raw, "csrf").unwrap_or_default()) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.record_sinba(&session.actor, id, &sinba_input(&raw)).await {
        Ok(_) => see_other(&format!("/app/cases/{id}#inps")),
        Err(e) => render_case_with(&s, lang, &session, id, Some(&e), Some(&refill_of("sinba", &raw))).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_become_whole_periods() {
        assert_eq!((month_start("2026-07"), month_end("2026-09")), ("2026-07-01".into(), "2026-09-30".into()));
        assert_eq!(month_end("2024-02"), "2024-02-29");
        assert_eq!(month_end("2026-12"), "2026-12-31");
        assert_eq!((month_start("2026-07-01"), month_end("luglio")), ("2026-07-01".into(), "luglio".into()));
        assert_eq!((month_value("2026-07-01"), month_value("2026-07")), ("2026-07".into(), "2026-07".into()));
        assert_eq!(month_input("03/2024"), "2024-03");
    }

    #[test]
    fn every_code_of_the_forms_has_a_label_in_both_languages() {
        let mut keys: Vec<String> = Vec::new();
        for (field, max) in SINA_DIMENSIONS {
            keys.push(format!("inps_sina_{field}"));
            keys.extend((1..=*max).map(|c| format!("inps_sina_{field}_{c}")));
        }
        keys.extend((1..=8).map(|c| format!("inps_sina_invalidity_{c}")));
        for name in SINBA_FORM {
            keys.push(format!("inps_sinba_{name}"));
            keys.push(format!("f_scheme.{name}"));
            keys.extend((1..=sinba_max(name)).map(|c| format!("{}_{c}", sinba_prefix(name))));
        }
        for m in SINBA_MONTHS {
            keys.push(format!("inps_sinba_{m}"));
            keys.push(format!("f_scheme.{m}"));
        }
        for code in [
            "required",
            "pattern",
            "length",
            "not_one_of",
            "xml_char",
            "too_large",
            "date_order",
            "unknown_citizenship",
            "periodic_needs",
            "one_off_needs",
            "presa_carico_needs_area",
            "sina_needs",
            "not_pseudonymous",
            "not_a_minor",
            "sinba_missing",
            "unknown",
        ] {
            keys.push(format!("inps_reason_{code}"));
        }
        for lang in [Lang::It, Lang::En] {
            let missing: Vec<&String> = keys.iter().filter(|k| t(lang, k) == **k).collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
        }
        assert!(SINBA_FORM.iter().all(|n| SINBA_SCHEME.iter().any(|c| c.name == *n && c.required)));
        assert_eq!(SINBA_SCHEME.iter().filter(|c| c.required).count(), SINBA_FORM.len(), "every required attribute");
    }
}
