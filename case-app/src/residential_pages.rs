//! The pages of residential care, under `/app/`: the overview of facilities and
//! requests, a request's file (document checklist, score, admission), waiting lists with
//! their weights, a facility's residents, the monthly presence grid, the pre-bill and
//! the payment certificate. Plain HTML forms, words from the catalogue, CSRF on every
//! form; a refused form comes back with its reasons field by field.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use mosaico_domain::i18n::{Lang, escape, t};
use serde::Deserialize;

use crate::http::CaseState;
use crate::model::Permission;
use crate::pages::{
    PageLang, PageSession, WithCsrf, badge, case_link, check_csrf, code_label, csrf_input, error_page, euros, flash,
    heads, layout, person_link, scoped, see_other, select, table, text_input, textarea, tr,
};
use crate::residential::*;
use crate::{CaseError, Session, today};

pub(crate) fn routes() -> Router<CaseState> {
    Router::new()
        .route("/app/residential", get(overview).post(facility_create))
        .route("/app/residential/requests/{id}", get(request_page))
        .route("/app/residential/requests/{id}/documents/{kind}", post(document_check))
        .route("/app/residential/requests/{id}/admission", post(admission))
        .route("/app/residential/requests/{id}/withdrawal", post(withdrawal))
        .route("/app/residential/waitlists/{facility_type}", get(waitlist_page).post(weights_set))
        .route("/app/residential/stays/{id}/transfer", post(transfer))
        .route("/app/residential/stays/{id}/discharge", post(discharge))
        .route("/app/cases/{id}/placements", post(placement_create))
        .route("/app/facilities/{id}", get(facility_page))
        .route("/app/facilities/{id}/presences/{month}", get(grid_page).post(grid_save))
        .route("/app/facilities/{id}/prebills/{month}", get(prebill_page).post(prebill_approve))
        .route("/app/certificates/{id}", get(certificate_page))
}

fn name(surname: &str, given: &str) -> String {
    format!("{} {}", escape(surname), escape(given))
}

fn request_link(id: i64) -> String {
    format!("<a href=\"/app/residential/requests/{id}\">#{id}</a>")
}

fn facility_link(id: i64, name: &str) -> String {
    format!("<a href=\"/app/facilities/{id}\">{}</a>", escape(name))
}

fn type_label(code: &str) -> String {
    mosaico_domain::services::FACILITY_TYPES
        .iter()
        .find(|t| t.code == code)
        .map_or_else(|| escape(code), |t| format!("{} — {}", escape(code), escape(t.name)))
}

fn type_select(lang: Lang, name: &str, selected: &str) -> String {
    let mut h = format!(
        "<div><label for=\"{name}\">{}</label><select id=\"{name}\" name=\"{name}\">",
        tr(lang, &format!("f_{name}"))
    );
    for ty in mosaico_domain::services::FACILITY_TYPES {
        h.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            ty.code,
            if ty.code == selected { " selected" } else { "" },
            type_label(ty.code)
        ));
    }
    h.push_str("</select></div>");
    h
}

fn facility_select(lang: Lang, name: &str, facilities: &[&Facility]) -> String {
    let mut h = format!(
        "<div><label for=\"{name}\">{}</label><select id=\"{name}\" name=\"{name}\">",
        tr(lang, &format!("f_{name}"))
    );
    for f in facilities {
        h.push_str(&format!(
            "<option value=\"{}\">{} ({} {} / {})</option>",
            f.id,
            escape(&f.name),
            tr(lang, "rc_free"),
            f.places - f.occupied,
            f.places
        ));
    }
    h.push_str("</select></div>");
    h
}

fn month_nav(base: &str, month: Month) -> String {
    let prev = month.previous();
    let next = Month::of(month.next_first());
    format!(
        "<p class=\"month-nav\"><a href=\"{base}/{prev}\">« {prev}</a> · <strong>{month}</strong> · <a href=\"{base}/{next}\">{next} »</a></p>"
    )
}

/// What a page shows again after a refused form.
fn refused(b: &mut String, lang: Lang, banner: Option<&CaseError>) {
    if let Some(e) = banner {
        b.push_str(&flash(lang, e));
    }
}

// ---- Overview ----

async fn overview(State(s): State<CaseState>, lang: PageLang, PageSession(session): PageSession) -> Response {
    render_overview(&s, lang, &session, None).await
}

async fn render_overview(s: &CaseState, lang: PageLang, session: &Session, banner: Option<&CaseError>) -> Response {
    let l = lang.0;
    let a = &session.actor;
    let facilities = match s.store.facilities(a).await {
        Ok(f) => f,
        Err(e) => return error_page(l, Some(session), &e),
    };
    let mut b = format!("<h1>{}</h1>", tr(l, "rc_title"));
    refused(&mut b, l, banner);
    let manage = a.role.can(Permission::ResidentialManage);
    if manage || a.role.can(Permission::CaseRead) {
        let requests = match s.store.placements(a, "").await {
            Ok(r) => r,
            Err(e) => return error_page(l, Some(session), &e),
        };
        let pending: Vec<&PlacementRequest> = requests.iter().filter(|r| r.status == "documents").collect();
        b.push_str(&format!("<h2 id=\"to-check\">{} ({})</h2>", tr(l, "rc_to_check"), pending.len()));
        let rows: Vec<Vec<String>> = pending
            .iter()
            .map(|r| {
                vec![
                    request_link(r.id),
                    name(&r.surname, &r.given_name),
                    type_label(&r.facility_type),
                    r.requested_on.to_string(),
                    case_link(r.case_id, &format!("#{}", r.case_id)),
                ]
            })
            .collect();
        b.push_str(&table(
            &heads(l, &["rc_col_request", "ca_col_person", "f_facility_type", "f_requested_on", "ca_col_case"]),
            &rows,
            &t(l, "ca_none"),
        ));
    }
    b.push_str(&format!("<h2 id=\"waitlists\">{}</h2><p>", tr(l, "rc_waitlists")));
    let mut types: Vec<&str> = facilities.iter().map(|f| f.facility_type.as_str()).collect();
    types.dedup();
    for ty in &types {
        b.push_str(&format!("<a class=\"badge\" href=\"/app/residential/waitlists/{ty}\">{}</a> ", escape(ty)));
    }
    b.push_str("</p>");
    b.push_str(&format!("<h2 id=\"facilities\">{} ({})</h2>", tr(l, "rc_facilities"), facilities.len()));
    let month = Month::of(today());
    let rows: Vec<Vec<String>> = facilities
        .iter()
        .map(|f| {
            vec![
                facility_link(f.id, &f.name),
                type_label(&f.facility_type),
                escape(&f.address),
                format!("{} / {}", f.occupied, f.places),
                euros(f.daily_fee_cents),
                format!(
                    "<a href=\"/app/facilities/{}/presences/{month}\">{}</a> · <a href=\"/app/facilities/{}/prebills/{}\">{}</a>",
                    f.id,
                    tr(l, "rc_presences"),
                    f.id,
                    month.previous(),
                    tr(l, "rc_prebill")
                ),
            ]
        })
        .collect();
    b.push_str(&table(
        &heads(l, &["f_name", "f_facility_type", "f_address", "rc_col_occupied", "f_daily_fee", ""]),
        &rows,
        &t(l, "ca_none"),
    ));
    if manage {
        b.push_str(&format!(
            "<h2>{}</h2><form class=\"box\" method=\"post\" action=\"/app/residential\" id=\"facility-form\">{}<div class=\"grid\">{}{}{}{}{}{}{}{}</div><button type=\"submit\">{}</button></form>",
            tr(l, "rc_new_facility"),
            csrf_input(session),
            text_input(l, "code", "text", "", true),
            text_input(l, "name", "text", "", true),
            type_select(l, "facility_type", "RSA"),
            text_input(l, "address", "text", "", true),
            text_input(l, "places", "number", "", true),
            text_input(l, "daily_fee", "text", "", true),
            text_input(l, "absence_full_days", "number", "10", true),
            text_input(l, "absence_rate_pct", "number", "70", true),
            tr(l, "ca_save"),
        ));
    }
    layout(lang, Some(session), &t(l, "rc_title"), &b)
}

async fn facility_create(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Form(f): Form<WithCsrf<FacilityInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.create_facility(&session.actor, &f.inner).await {
        Ok(x) => see_other(&format!("/app/facilities/{}", x.id)),
        Err(e) => render_overview(&s, lang, &session, Some(&e)).await,
    }
}

/// The desk's residential work: the facilities' presence grids of this month and, for
/// back office, the requests with documents to check.
pub(crate) async fn home_section(s: &CaseState, l: Lang, session: &Session) -> String {
    let a = &session.actor;
    let Ok(facilities) = s.store.facilities(a).await else { return String::new() };
    let month = Month::of(today());
    let mut b = format!("<h2 id=\"my-facilities\">{} ({})</h2>", tr(l, "rc_facilities"), facilities.len());
    let rows: Vec<Vec<String>> = facilities
        .iter()
        .map(|f| {
            vec![
                facility_link(f.id, &f.name),
                format!("{} / {}", f.occupied, f.places),
                format!("<a href=\"/app/facilities/{}/presences/{month}\">{} {month}</a>", f.id, tr(l, "rc_presences")),
            ]
        })
        .collect();
    b.push_str(&table(&heads(l, &["f_name", "rc_col_occupied", ""]), &rows, &t(l, "ca_none")));
    if a.role.can(Permission::ResidentialManage)
        && let Ok(pending) = s.store.placements(a, "documents").await
    {
        b.push_str(&format!(
            "<p><a href=\"/app/residential#to-check\">{} ({})</a></p>",
            tr(l, "rc_to_check"),
            pending.len()
        ));
    }
    b
}

// ---- The case file's section ----

/// The placement requests of a case and, for the social worker, the form to make one.
pub(crate) async fn case_section(s: &CaseState, l: Lang, session: &Session, case_id: i64, can_write: bool) -> String {
    let Ok(requests) = s.store.case_placements(&session.actor, case_id).await else {
        return String::new();
    };
    let mut b = format!("<h2 id=\"placements\">{}</h2>", tr(l, "rc_case_placements"));
    let rows: Vec<Vec<String>> = requests
        .iter()
        .map(|r| {
            vec![request_link(r.id), type_label(&r.facility_type), r.requested_on.to_string(), badge(l, &r.status)]
        })
        .collect();
    b.push_str(&table(
        &heads(l, &["rc_col_request", "f_facility_type", "f_requested_on", "ca_col_status"]),
        &rows,
        &t(l, "ca_none"),
    ));
    if can_write {
        b.push_str(&scoped(
            "pl",
            format!(
                "<form class=\"box\" method=\"post\" action=\"/app/cases/{case_id}/placements\" id='placement-form'>{}<div class=\"grid\">{}{}{}{}</div>{}{}<button type=\"submit\">{}</button></form>",
                csrf_input(session),
                type_select(l, "facility_type", "RSA"),
                text_input(l, "requested_on", "date", &today().to_string(), true),
                text_input(l, "need_score", "number", "", false),
                select(l, "household_score", "household", &["0", "1", "2", "3", "4"], "2"),
                textarea(l, "reason", "", None),
                textarea(l, "household_note", "", None),
                tr(l, "rc_request_place"),
            ),
        ));
    }
    b
}

async fn placement_create(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(case_id): Path<i64>,
    Form(f): Form<WithCsrf<PlacementInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.request_placement(&session.actor, case_id, &f.inner).await {
        Ok(file) => see_other(&format!("/app/residential/requests/{}", file.request.id)),
        Err(e) => crate::pages::render_case(&s, lang, &session, case_id, Some(&e)).await,
    }
}

// ---- A request's file ----

async fn request_page(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
) -> Response {
    render_request(&s, lang, &session, id, None).await
}

fn score_table(l: Lang, e: &WaitlistEntry) -> String {
    let rows: Vec<Vec<String>> = e
        .parts
        .iter()
        .map(|p| {
            vec![
                tr(l, &format!("rc_factor_{}", p.factor)),
                format!("{}", p.value),
                format!("{:.3}", p.scaled),
                format!("{:.0}%", p.weight * 100.0),
                format!("{:.2}", p.points),
            ]
        })
        .collect();
    table(&heads(l, &["rc_col_factor", "rc_col_value", "rc_col_scaled", "rc_col_weight", "rc_col_points"]), &rows, "")
}

async fn render_request(
    s: &CaseState,
    lang: PageLang,
    session: &Session,
    id: i64,
    banner: Option<&CaseError>,
) -> Response {
    let l = lang.0;
    let a = &session.actor;
    let file = match s.store.placement(a, id).await {
        Ok(f) => f,
        Err(e) => return error_page(l, Some(session), &e),
    };
    let r = &file.request;
    let manage = a.role.can(Permission::ResidentialManage);
    let csrf = csrf_input(session);
    let mut b = format!(
        "<h1>{} #{} — {} {}</h1>",
        tr(l, "rc_request"),
        r.id,
        person_link(r.person_id, &r.surname, &r.given_name),
        badge(l, &r.status)
    );
    refused(&mut b, l, banner);
    b.push_str(&format!(
        "<dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{} — {}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd></dl>",
        tr(l, "ca_col_case"),
        case_link(r.case_id, &format!("#{}", r.case_id)),
        tr(l, "f_facility_type"),
        type_label(&r.facility_type),
        tr(l, "f_requested_on"),
        r.requested_on,
        tr(l, "f_need_score"),
        r.need_score,
        tr(l, "f_household_score"),
        r.household_score,
        escape(&r.household_note),
        tr(l, "f_reason"),
        escape(&r.reason),
        tr(l, "rc_listed_on"),
        r.listed_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
        tr(l, "f_isee"),
        r.isee_cents.map(euros).unwrap_or_else(|| "—".into()),
    ));
    b.push_str(&format!("<h2 id=\"documents\">{}</h2>", tr(l, "rc_documents")));
    let rows: Vec<Vec<String>> = file
        .documents
        .iter()
        .map(|d| {
            let checked = d
                .checked_on
                .map(|on| format!("{on} · {}", escape(d.checked_by_name.as_deref().unwrap_or(""))))
                .unwrap_or_default();
            let form = if manage && r.status == "documents" && d.status != "verified" {
                scoped(
                    &format!("doc-{}", d.kind),
                    format!(
                        "<form method=\"post\" action=\"/app/residential/requests/{}/documents/{}\" id='check-{}'>{csrf}<div class=\"grid\">{}{}{}{}</div><button type=\"submit\">{}</button></form>",
                        r.id,
                        d.kind,
                        d.kind,
                        select(l, "status", "docstatus", &["verified", "rejected"], "verified"),
                        if d.kind == "isee" { text_input(l, "isee", "text", "", false) } else { String::new() },
                        text_input(l, "checked_on", "date", &today().to_string(), false),
                        text_input(l, "note", "text", "", false),
                        tr(l, "rc_check"),
                    ),
                )
            } else {
                String::new()
            };
            vec![
                tr(l, &format!("rc_doc_{}", d.kind)),
                format!("<span class=\"doc-status\" data-kind=\"{}\">{}</span>", d.kind, badge(l, &d.status)),
                checked,
                escape(d.note.as_deref().unwrap_or("")),
                form,
            ]
        })
        .collect();
    b.push_str(&table(&heads(l, &["rc_col_document", "ca_col_status", "rc_col_checked", "f_note", ""]), &rows, ""));
    if let Some(e) = &file.ranking {
        b.push_str(&format!(
            "<h2 id=\"ranking\">{}</h2><p id=\"position\">{}</p>",
            tr(l, "rc_ranking"),
            escape(
                &t(l, "rc_position")
                    .replace("{position}", &e.position.to_string())
                    .replace("{score}", &format!("{:.2}", e.score))
                    .replace("{days}", &e.waiting_days.to_string())
            )
        ));
        b.push_str(&score_table(l, e));
        b.push_str(&format!(
            "<p><a href=\"/app/residential/waitlists/{}\">{}</a></p>",
            r.facility_type,
            tr(l, "rc_see_waitlist")
        ));
    }
    if manage && r.status == "waiting" {
        let facilities = s.store.facilities(a).await.unwrap_or_default();
        let fit: Vec<&Facility> =
            facilities.iter().filter(|f| f.ente == r.ente && f.facility_type == r.facility_type && f.active).collect();
        b.push_str(&format!(
            "<h2>{}</h2><form class=\"box\" method=\"post\" action=\"/app/residential/requests/{}/admission\" id=\"admit-form\">{csrf}<div class=\"grid\">{}{}</div><button type=\"submit\">{}</button></form>",
            tr(l, "rc_admit"),
            r.id,
            facility_select(l, "facility_id", &fit),
            text_input(l, "admitted_on", "date", &today().to_string(), true),
            tr(l, "rc_admit"),
        ));
    }
    if !file.stays.is_empty() {
        b.push_str(&format!("<h2 id=\"stays\">{}</h2>", tr(l, "rc_stays")));
        b.push_str(&stays_table(l, session, &file.stays, manage, s).await);
    }
    if matches!(r.status.as_str(), "documents" | "waiting") && (manage || a.role.can(Permission::CaseWrite)) {
        b.push_str(&scoped(
            "wd",
            format!(
                "<details><summary>{}</summary><form class=\"box\" method=\"post\" action=\"/app/residential/requests/{}/withdrawal\">{csrf}{}<button type=\"submit\">{}</button></form></details>",
                tr(l, "rc_withdraw"),
                r.id,
                text_input(l, "note", "text", "", true),
                tr(l, "rc_withdraw"),
            ),
        ));
    }
    layout(lang, Some(session), &format!("{} #{}", t(l, "rc_request"), r.id), &b)
}

async fn stays_table(l: Lang, session: &Session, stays: &[Stay], manage: bool, s: &CaseState) -> String {
    let csrf = csrf_input(session);
    let facilities = if manage { s.store.facilities(&session.actor).await.unwrap_or_default() } else { Vec::new() };
    let rows: Vec<Vec<String>> = stays
        .iter()
        .map(|st| {
            let ended = match (&st.discharged_on, &st.discharge_reason) {
                (Some(d), Some(reason)) => format!("{d} · {}", code_label(l, "discharge", reason)),
                _ => "—".into(),
            };
            let actions = if manage && st.discharged_on.is_none() {
                let others: Vec<&Facility> =
                    facilities.iter().filter(|f| f.id != st.facility_id && f.ente == st.ente && f.active).collect();
                let reasons: Vec<&str> = DISCHARGE_REASONS.iter().copied().filter(|r| *r != "transfer").collect();
                scoped(
                    &format!("stay-{}", st.id),
                    format!(
                        "<details><summary>{}</summary><form method=\"post\" action=\"/app/residential/stays/{}/transfer\">{csrf}{}{}{}<button type=\"submit\">{}</button></form></details>\
                         <details><summary>{}</summary><form method=\"post\" action=\"/app/residential/stays/{}/discharge\">{csrf}{}{}{}<button type=\"submit\">{}</button></form></details>",
                        tr(l, "rc_transfer"),
                        st.id,
                        facility_select(l, "facility_id", &others),
                        text_input(l, "on", "date", &today().to_string(), true),
                        text_input(l, "note", "text", "", false),
                        tr(l, "rc_transfer"),
                        tr(l, "rc_discharge"),
                        st.id,
                        select(l, "reason", "discharge", &reasons, "home"),
                        text_input(l, "on", "date", &today().to_string(), true),
                        text_input(l, "note", "text", "", false),
                        tr(l, "rc_discharge"),
                    ),
                )
            } else {
                String::new()
            };
            vec![
                person_link(st.person_id, &st.surname, &st.given_name),
                facility_link(st.facility_id, &st.facility_name),
                st.admitted_on.to_string(),
                ended,
                actions,
            ]
        })
        .collect();
    table(
        &heads(l, &["ca_col_person", "rc_col_facility", "f_admitted_on", "rc_col_ended", ""]),
        &rows,
        &t(l, "ca_none"),
    )
}

async fn document_check(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path((id, kind)): Path<(i64, String)>,
    Form(f): Form<WithCsrf<DocumentCheckInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.check_placement_document(&session.actor, id, &kind, &f.inner).await {
        Ok(_) => see_other(&format!("/app/residential/requests/{id}#documents")),
        Err(e) => render_request(&s, lang, &session, id, Some(&e)).await,
    }
}

async fn admission(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<WithCsrf<AdmitInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.admit(&session.actor, id, &f.inner).await {
        Ok(_) => see_other(&format!("/app/residential/requests/{id}#stays")),
        Err(e) => render_request(&s, lang, &session, id, Some(&e)).await,
    }
}

async fn withdrawal(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<WithCsrf<WithdrawInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.withdraw_placement(&session.actor, id, &f.inner).await {
        Ok(_) => see_other(&format!("/app/residential/requests/{id}")),
        Err(e) => render_request(&s, lang, &session, id, Some(&e)).await,
    }
}

async fn transfer(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<WithCsrf<MoveInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.transfer(&session.actor, id, &f.inner).await {
        Ok(st) => see_other(&format!("/app/residential/requests/{}#stays", st.request_id)),
        Err(e) => error_page(lang.0, Some(&session), &e),
    }
}

async fn discharge(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<WithCsrf<MoveInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.discharge(&session.actor, id, &f.inner).await {
        Ok(st) => see_other(&format!("/app/residential/requests/{}#stays", st.request_id)),
        Err(e) => error_page(lang.0, Some(&session), &e),
    }
}

// ---- Waiting lists ----

#[derive(Debug, Deserialize)]
pub(crate) struct EnteQ {
    ente: Option<String>,
}

async fn waitlist_page(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(ty): Path<String>,
    Query(q): Query<EnteQ>,
) -> Response {
    render_waitlist(&s, lang, &session, &ty, q.ente.as_deref(), None).await
}

async fn render_waitlist(
    s: &CaseState,
    lang: PageLang,
    session: &Session,
    ty: &str,
    ente: Option<&str>,
    banner: Option<&CaseError>,
) -> Response {
    let l = lang.0;
    let a = &session.actor;
    let w = match s.store.waitlist(a, ente, ty).await {
        Ok(w) => w,
        Err(e) => return error_page(l, Some(session), &e),
    };
    let mut b = format!("<h1>{} — {}</h1>", tr(l, "rc_waitlist"), type_label(&w.facility_type));
    refused(&mut b, l, banner);
    b.push_str(&format!(
        "<p>{}</p><p class=\"muted\">{}</p>",
        escape(
            &t(l, "rc_waitlist_summary")
                .replace("{n}", &w.entries.len().to_string())
                .replace("{free}", &w.free_places.to_string())
                .replace("{date}", &w.as_of.to_string())
        ),
        escape(
            &t(l, "rc_score_rule")
                .replace("{need}", &w.weights.need.to_string())
                .replace("{waiting}", &w.weights.waiting.to_string())
                .replace("{household}", &w.weights.household.to_string())
                .replace("{cap}", &w.weights.waiting_cap_days.to_string())
        ),
    ));
    let rows: Vec<Vec<String>> = w
        .entries
        .iter()
        .map(|e| {
            let parts = e
                .parts
                .iter()
                .map(|p| format!("{} {:.2}", tr(l, &format!("rc_factor_{}", p.factor)), p.points))
                .collect::<Vec<_>>()
                .join(" + ");
            vec![
                format!("<span class=\"position\">{}</span>", e.position),
                format!("{} {}", request_link(e.request_id), name(&e.surname, &e.given_name)),
                e.listed_on.to_string(),
                e.waiting_days.to_string(),
                format!("<strong>{:.2}</strong>", e.score),
                escape(&parts),
            ]
        })
        .collect();
    b.push_str(&table(
        &heads(
            l,
            &["rc_col_position", "ca_col_person", "rc_listed_on", "rc_col_days", "rc_col_score", "rc_col_explained"],
        ),
        &rows,
        &t(l, "ca_none"),
    ));
    if a.role.can(Permission::ResidentialManage) {
        let ente = escape(&w.ente);
        b.push_str(&format!(
            "<h2>{}</h2><form class=\"box\" method=\"post\" action=\"/app/residential/waitlists/{}?ente={ente}\" id=\"weights-form\">{}<div class=\"grid\">{}{}{}{}</div><button type=\"submit\">{}</button></form>",
            tr(l, "rc_weights"),
            w.facility_type,
            csrf_input(session),
            text_input(l, "need", "text", &w.weights.need.to_string(), true),
            text_input(l, "waiting", "text", &w.weights.waiting.to_string(), true),
            text_input(l, "household", "text", &w.weights.household.to_string(), true),
            text_input(l, "waiting_cap_days", "number", &w.weights.waiting_cap_days.to_string(), true),
            tr(l, "ca_save"),
        ));
    }
    layout(lang, Some(session), &t(l, "rc_waitlist"), &b)
}

async fn weights_set(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(ty): Path<String>,
    Query(q): Query<EnteQ>,
    Form(f): Form<WithCsrf<WeightsInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.set_waitlist_weights(&session.actor, q.ente.as_deref(), &ty, &f.inner).await {
        Ok(_) => see_other(&format!("/app/residential/waitlists/{ty}")),
        Err(e) => render_waitlist(&s, lang, &session, &ty, q.ente.as_deref(), Some(&e)).await,
    }
}

// ---- A facility, its grid, its pre-bill ----

async fn facility_page(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
) -> Response {
    let l = lang.0;
    let a = &session.actor;
    let (f, residents) = match s.store.facility(a, id).await {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(&session), &e),
    };
    let month = Month::of(today());
    let mut b = format!("<h1>{}</h1>", escape(&f.name));
    b.push_str(&format!(
        "<dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{} / {}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd></dl>",
        tr(l, "f_facility_type"),
        type_label(&f.facility_type),
        tr(l, "f_address"),
        escape(&f.address),
        tr(l, "rc_col_occupied"),
        f.occupied,
        f.places,
        tr(l, "f_daily_fee"),
        euros(f.daily_fee_cents),
        tr(l, "rc_absence_rule"),
        escape(
            &t(l, "rc_absence_rule_text")
                .replace("{days}", &f.absence_full_days.to_string())
                .replace("{pct}", &f.absence_rate_pct.to_string())
        ),
    ));
    b.push_str(&format!(
        "<p><a href=\"/app/facilities/{id}/presences/{month}\">{}</a> · <a href=\"/app/facilities/{id}/prebills/{}\">{}</a></p>",
        tr(l, "rc_presences"),
        month.previous(),
        tr(l, "rc_prebill"),
    ));
    b.push_str(&format!("<h2 id=\"residents\">{} ({})</h2>", tr(l, "rc_residents"), residents.len()));
    let manage = a.role.can(Permission::ResidentialManage);
    b.push_str(&stays_table(l, &session, &residents, manage, &s).await);
    layout(lang, Some(&session), &f.name, &b)
}

async fn grid_page(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path((id, month)): Path<(i64, String)>,
) -> Response {
    render_grid(&s, lang, &session, id, &month, None).await
}

fn day_code(d: Day) -> &'static str {
    match d {
        Day::Present => "present",
        Day::Absent => "absent",
        _ => "",
    }
}

async fn render_grid(
    s: &CaseState,
    lang: PageLang,
    session: &Session,
    id: i64,
    month: &str,
    banner: Option<&CaseError>,
) -> Response {
    let l = lang.0;
    let a = &session.actor;
    let g = match s.store.presence_grid(a, id, month).await {
        Ok(g) => g,
        Err(e) => return error_page(l, Some(session), &e),
    };
    let m = Month::parse("month", &g.month).unwrap_or(Month::of(today()));
    let editable = a.role.can(Permission::PresenceWrite) && g.certificate.is_none();
    let mut b = format!("<h1>{} — {}</h1>", tr(l, "rc_presences"), facility_link(g.facility.id, &g.facility.name));
    b.push_str(&month_nav(&format!("/app/facilities/{id}/presences"), m));
    refused(&mut b, l, banner);
    if let Some(n) = &g.certificate {
        b.push_str(&format!(
            "<div class=\"flash ok\" id=\"certified\">{} {}</div>",
            tr(l, "rc_month_certified"),
            escape(n)
        ));
    }
    b.push_str(&format!("<p class=\"muted\">{}</p>", tr(l, "rc_grid_help")));
    let mut h = String::from("<table class=\"grid-presences\"><thead><tr><th></th>");
    for d in &g.days {
        h.push_str(&format!("<th>{}</th>", d.format("%d")));
    }
    h.push_str("</tr></thead><tbody>");
    for row in &g.rows {
        h.push_str(&format!(
            "<tr data-stay=\"{}\"><th>{}</th>",
            row.stay.id,
            name(&row.stay.surname, &row.stay.given_name)
        ));
        for (d, cell) in g.days.iter().zip(&row.days) {
            let key = format!("s{}_{}", row.stay.id, d);
            match cell {
                Day::Outside => h.push_str("<td class=\"muted\">·</td>"),
                Day::Future => h.push_str("<td class=\"muted\">—</td>"),
                _ if !editable => h.push_str(&format!(
                    "<td>{}</td>",
                    match cell {
                        Day::Present => "P",
                        Day::Absent => "A",
                        _ => "?",
                    }
                )),
                _ => {
                    let v = day_code(*cell);
                    h.push_str(&format!(
                        "<td><select name=\"{key}\" aria-label=\"{key}\"><option value=\"\"{}>?</option><option value=\"present\"{}>P</option><option value=\"absent\"{}>A</option></select></td>",
                        if v.is_empty() { " selected" } else { "" },
                        if v == "present" { " selected" } else { "" },
                        if v == "absent" { " selected" } else { "" },
                    ));
                }
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    if g.rows.is_empty() {
        b.push_str(&format!("<p class=\"muted\">{}</p>", tr(l, "ca_none")));
    } else if editable {
        b.push_str(&format!(
            "<form method=\"post\" action=\"/app/facilities/{id}/presences/{}\" id=\"grid-form\">{}<div style=\"overflow-x:auto\">{h}</div>\
             <button type=\"submit\" name=\"fill\" value=\"\">{}</button> <button type=\"submit\" name=\"fill\" value=\"present\" id=\"fill-present\">{}</button></form>",
            g.month,
            csrf_input(session),
            tr(l, "ca_save"),
            tr(l, "rc_fill_present"),
        ));
    } else {
        b.push_str(&format!("<div style=\"overflow-x:auto\">{h}</div>"));
    }
    b.push_str(&format!("<p><a href=\"/app/facilities/{id}/prebills/{}\">{}</a></p>", g.month, tr(l, "rc_prebill")));
    layout(lang, Some(session), &t(l, "rc_presences"), &b)
}

async fn grid_save(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path((id, month)): Path<(i64, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(e) = check_csrf(&session, form.get("csrf").map_or("", String::as_str)) {
        return error_page(lang.0, Some(&session), &e);
    }
    let fill = form.get("fill").is_some_and(|v| v == "present");
    let mut entries: Vec<PresenceEntry> = form
        .iter()
        .filter_map(|(k, v)| {
            let (stay, day) = k.strip_prefix('s')?.split_once('_')?;
            let status = if v.is_empty() && fill { "present".to_owned() } else { v.clone() };
            Some(PresenceEntry { stay_id: stay.parse().ok()?, day: day.to_owned(), status })
        })
        .collect();
    entries.sort_by(|a, b| (a.stay_id, &a.day).cmp(&(b.stay_id, &b.day)));
    match s.store.record_presences(&session.actor, id, &month, &PresenceInput { entries }).await {
        Ok(_) => see_other(&format!("/app/facilities/{id}/presences/{month}")),
        Err(e) => render_grid(&s, lang, &session, id, &month, Some(&e)).await,
    }
}

async fn prebill_page(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path((id, month)): Path<(i64, String)>,
) -> Response {
    render_prebill(lang, &session, s.store.prebill(&session.actor, id, &month).await, None).await
}

async fn render_prebill(
    lang: PageLang,
    session: &Session,
    bill: crate::Result<PreBill>,
    banner: Option<&CaseError>,
) -> Response {
    let l = lang.0;
    let a = &session.actor;
    let p = match bill {
        Ok(p) => p,
        Err(e) => return error_page(l, Some(session), &e),
    };
    let id = p.facility.id;
    let m = Month::parse("month", &p.month).unwrap_or(Month::of(today()));
    let title = match &p.certificate {
        Some(c) => format!("{} {}", t(l, "rc_certificate"), c.number),
        None => t(l, "rc_prebill"),
    };
    let mut b = format!("<h1>{} — {}</h1>", escape(&title), facility_link(id, &p.facility.name));
    if p.certificate.is_none() {
        b.push_str(&month_nav(&format!("/app/facilities/{id}/prebills"), m));
    }
    refused(&mut b, l, banner);
    if let Some(c) = &p.certificate {
        b.push_str(&format!(
            "<div class=\"flash ok\" id=\"certificate\">{} <strong>{}</strong> · {} · {} {} ({})</div>",
            tr(l, "rc_certificate"),
            escape(&c.number),
            c.month,
            tr(l, "rc_approved_by"),
            escape(&c.approved_by_name),
            c.approved_at.format("%Y-%m-%d %H:%M"),
        ));
    }
    b.push_str(&format!(
        "<p>{} {} · {} {} · {}: {}</p>",
        tr(l, "f_month"),
        p.month,
        tr(l, "f_daily_fee"),
        euros(p.certificate.as_ref().map_or(p.facility.daily_fee_cents, |c| c.daily_fee_cents)),
        tr(l, "rc_absence_rule"),
        escape(
            &t(l, "rc_absence_rule_text")
                .replace("{days}", &p.facility.absence_full_days.to_string())
                .replace("{pct}", &p.facility.absence_rate_pct.to_string())
        ),
    ));
    if !p.copay_rule.is_empty() {
        b.push_str(&format!("<p class=\"muted\">{}: {}</p>", tr(l, "rc_copay_rule"), escape(&p.copay_rule)));
    }
    let mut rows: Vec<Vec<String>> = p
        .lines
        .iter()
        .map(|x| {
            vec![
                name(&x.surname, &x.given_name),
                x.days_present.to_string(),
                x.days_absent_full.to_string(),
                x.days_absent_reduced.to_string(),
                x.days_unrecorded.to_string(),
                x.isee_cents.map(euros).unwrap_or_else(|| "—".into()),
                euros(x.amount_cents),
                euros(x.quota_utente_cents),
                euros(x.quota_ente_cents),
                euros(x.quota_ssn_cents),
            ]
        })
        .collect();
    if !rows.is_empty() {
        rows.push(vec![
            format!("<strong>{}</strong>", tr(l, "rc_total")),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            format!("<strong id=\"total\">{}</strong>", euros(p.amount_cents)),
            euros(p.quota_utente_cents),
            euros(p.quota_ente_cents),
            euros(p.quota_ssn_cents),
        ]);
    }
    b.push_str(&table(
        &heads(
            l,
            &[
                "ca_col_person",
                "rc_col_present",
                "rc_col_absent_full",
                "rc_col_absent_reduced",
                "rc_col_unrecorded",
                "f_isee",
                "rc_col_amount",
                "rc_col_utente",
                "rc_col_ente",
                "rc_col_ssn",
            ],
        ),
        &rows,
        &t(l, "ca_none"),
    ));
    if p.certificate.is_none() {
        if !p.blockers.is_empty() {
            b.push_str(&format!("<div class=\"flash\" id=\"blockers\"><strong>{}</strong><ul>", tr(l, "rc_not_ready")));
            for x in &p.blockers {
                let said = t(l, &format!("rc_blocker_{}", x.code));
                let said = x.params.iter().fold(said, |s, (k, v)| s.replace(&format!("{{{k}}}"), v));
                b.push_str(&format!("<li>{}</li>", escape(&said)));
            }
            b.push_str("</ul></div>");
        } else if a.role.can(Permission::ResidentialManage) {
            b.push_str(&format!(
                "<form class=\"box\" method=\"post\" action=\"/app/facilities/{id}/prebills/{}\" id=\"approve-form\">{}{}<button type=\"submit\">{}</button></form>",
                p.month,
                csrf_input(session),
                text_input(l, "note", "text", "", false),
                tr(l, "rc_approve"),
            ));
        }
    }
    layout(lang, Some(session), &title, &b)
}

async fn prebill_approve(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path((id, month)): Path<(i64, String)>,
    Form(f): Form<WithCsrf<ApproveInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.approve_prebill(&session.actor, id, &month, &f.inner).await {
        Ok(p) => match p.certificate {
            Some(c) => see_other(&format!("/app/certificates/{}", c.id)),
            None => see_other(&format!("/app/facilities/{id}/prebills/{month}")),
        },
        Err(e) => {
            let bill = s.store.prebill(&session.actor, id, &month).await;
            render_prebill(lang, &session, bill, Some(&e)).await
        }
    }
}

async fn certificate_page(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
) -> Response {
    let bill = s.store.certificate(&session.actor, id).await;
    render_prebill(lang, &session, bill, None).await
}
