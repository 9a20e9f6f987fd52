//! The Piano di Zona and the ISTAT survey tables: JSON and XLSX (and CSV for ISTAT)
//! under `/api/v1/reports/…`, and the printable page `/reports`.
//!
//! Both read the warehouse for the enti of the caller's scope (narrowed by `ente` or
//! `ambito`) over whole months, and carry the versions of the tables they read: the
//! same request with `version=` gives the same numbers whatever has been loaded since.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use datafusion::prelude::SessionContext;
use mosaico_analytics::disclosure::Mark;
use mosaico_analytics::period::Period;
use mosaico_analytics::reports::{self, EnteRef, IstatSurvey, JointServices, Line, Money, PianoDiZona, Stamp, Users};
use mosaico_case_app::Permission;

use crate::auth::{Signed, SignedPage};
use crate::i18n::{Lang, escape, t, tf};
use crate::pages::{STYLE, thousands};
use crate::scope::{self, Scope};
use crate::territory::download;
use crate::xlsx::{self, Cell, Sheet};
use crate::{ApiError, AppState};

/// The 2011 census population of every Italian comune: the residents of an ente whose
/// registry is not in the warehouse.
static CENSUS_2011: LazyLock<HashMap<String, u64>> = LazyLock::new(|| {
    reports::reference_populations(include_str!("../../data-samples/reference/comuni_italia_istat2020.csv"))
        .unwrap_or_default()
});

/// The declared joint services.
static JOINT: LazyLock<JointServices> = LazyLock::new(|| JointServices::built_in().unwrap_or_default());

/// The query string of the reports.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// One ente (ISTAT code) of the caller's scope.
    pub ente: Option<String>,
    /// An ambito of the caller's scope: all its enti.
    pub ambito: Option<String>,
    /// First month, `YYYY-MM`.
    pub from: Option<String>,
    /// Last month, `YYYY-MM`.
    pub to: Option<String>,
    /// A calendar year instead of from/to.
    pub year: Option<String>,
    /// The table versions of an earlier report (`cases@3,interventions@3,population@2`).
    pub version: Option<String>,
    /// `json` (default), `xlsx`, or for ISTAT also `csv`.
    pub format: Option<String>,
    /// The target of the gap map (page only; default: the over-75s living alone).
    pub target: Option<String>,
    /// Page language, `it` (default) or `en`.
    pub lang: Option<String>,
}

/// Who, what and at which versions.
struct Prepared {
    scope: Scope,
    period: Period,
    ctx: SessionContext,
    stamp: Stamp,
}

fn enti_refs(scope: &Scope) -> Vec<EnteRef> {
    scope.enti.iter().map(|e| EnteRef { istat: e.istat.clone(), name: e.name.clone() }).collect()
}

async fn prepare(state: &AppState, who: &Signed, q: &ReportQuery) -> Result<Prepared, ApiError> {
    who.require(Permission::ReportRead, "reports")?;
    let scope = scope::resolve(state, who, q.ente.as_deref(), q.ambito.as_deref()).await?;
    let today = chrono::Utc::now().date_naive();
    let period = Period::parse(q.from.as_deref(), q.to.as_deref(), q.year.as_deref(), today)?;
    let current = &state.inner.versions;
    let missing: Vec<&str> = reports::TABLES.iter().copied().filter(|t| !current.contains_key(*t)).collect();
    if !missing.is_empty() {
        return Err(ApiError {
            status: StatusCode::CONFLICT,
            message: format!("the warehouse has no {} table yet: load the case data first", missing.join(", ")),
        });
    }
    let (ctx, stamp) = match q.version.as_deref().filter(|v| !v.trim().is_empty()) {
        None => (state.ctx().clone(), Stamp::of(current)),
        Some(v) => {
            let stamp = Stamp::parse(v)?;
            for (table, version) in &stamp.0 {
                let latest = current.get(table).copied().unwrap_or(0);
                if *version > latest {
                    return Err(ApiError::bad_request(format!(
                        "version: {table}@{version} does not exist; the latest is {table}@{latest}"
                    )));
                }
            }
            let mut pinned: BTreeMap<String, u64> = current.clone();
            pinned.extend(stamp.0.clone());
            if pinned == *current {
                (state.ctx().clone(), Stamp::of(current))
            } else {
                let ctx = state.session_at(&pinned).await?;
                mosaico_analytics::register(&ctx, state.inner.catalogue.clone(), state.inner.threshold).await?;
                (ctx, Stamp::of(&pinned))
            }
        }
    };
    Ok(Prepared { scope, period, ctx, stamp })
}

async fn pdz(state: &AppState, who: &Signed, p: &Prepared) -> Result<PianoDiZona, ApiError> {
    let enti = enti_refs(&p.scope);
    let mut r = reports::piano_di_zona(&p.ctx, &enti, &p.period, state.inner.threshold, &CENSUS_2011, &p.stamp).await?;
    if let Some(cases) = state.inner.cases.as_ref() {
        let lists = cases
            .store
            .waitlist_summary(&who.0.actor, &p.scope.codes(), p.period.from, p.period.to)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let raw: Vec<_> = lists
            .into_iter()
            .map(|w| reports::WaitingRaw {
                ente: w.ente,
                facility_type: w.facility_type,
                waiting: w.waiting,
                median_wait_days: w.median_wait_days,
                admitted: w.admitted,
                median_days_to_admission: w.median_days_to_admission,
            })
            .collect();
        r.waiting_lists = reports::publish_waiting_lists(&raw, state.inner.threshold);
    }
    Ok(r)
}

async fn istat(state: &AppState, p: &Prepared) -> Result<IstatSurvey, ApiError> {
    let enti = enti_refs(&p.scope);
    Ok(reports::istat_survey(&p.ctx, &enti, &p.period, state.inner.threshold, &CENSUS_2011, &JOINT, &p.stamp).await?)
}

fn format_of(q: &ReportQuery, allowed: &[&str]) -> Result<String, ApiError> {
    let f = q.format.as_deref().unwrap_or("json").to_ascii_lowercase();
    if allowed.contains(&f.as_str()) {
        Ok(f)
    } else {
        Err(ApiError::bad_request(format!("format: '{f}' is not one of {}", allowed.join(", "))))
    }
}

fn file_stem(kind: &str, p: &Prepared) -> String {
    let who = p.scope.ambito.clone().unwrap_or_else(|| p.scope.codes().join("-"));
    format!("{kind}_{who}_{}_{}", p.period.from.format("%Y%m"), p.period.to.format("%Y%m"))
}

fn xlsx_response(sheets: &[Sheet], name: &str) -> Result<Response, ApiError> {
    let body = xlsx::workbook(sheets).map_err(|e| ApiError::internal(&e))?;
    Ok(download(body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &format!("{name}.xlsx")))
}

/// The Piano di Zona tables of an ambito (or ente) and a period.
#[utoipa::path(get, path = "/api/v1/reports/piano-di-zona", tag = "reports", params(ReportQuery),
    responses((status = 200, description = "Users and spending by area di utenza × type (interventi e servizi / trasferimenti in denaro / strutture), for the scope and per ente, per 1,000 residents; three-year trend; users per 1,000 residents per NIL. Counts under the threshold hidden with a mark (`primary`, or `secondary` where a total would give one away). `version` stamps the warehouse tables read. `format=xlsx` gives a workbook.", body = PianoDiZona),
              (status = 400, description = "Unknown ente or ambito, a bad period or version"),
              (status = 401, description = "Not signed in"), (status = 403, description = "The role does not see reports")))]
pub(crate) async fn api_piano_di_zona(
    State(state): State<AppState>,
    who: Signed,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let format = format_of(&q, &["json", "xlsx"])?;
    let p = prepare(&state, &who, &q).await?;
    let report = pdz(&state, &who, &p).await?;
    tracing::info!(user = %who.0.actor.username, scope = %p.scope.label(), period = %p.period.label(), version = %report.version, "piano di zona");
    match format.as_str() {
        "xlsx" => xlsx_response(&pdz_sheets(&report, Lang::It), &file_stem("piano_di_zona", &p)),
        _ => Ok(Json(report).into_response()),
    }
}

/// The ISTAT survey tables of the comuni in scope for a period.
#[utoipa::path(get, path = "/api/v1/reports/istat", tag = "reports", params(ReportQuery),
    responses((status = 200, description = "Users and spending per comune, area di utenza and intervention; services an ambito runs jointly split among its comuni in proportion to their residents (`management` = `associata`). Hidden counts marked. `format=csv` or `xlsx` for files.", body = IstatSurvey),
              (status = 400, description = "Unknown ente or ambito, a bad period or version"),
              (status = 401, description = "Not signed in"), (status = 403, description = "The role does not see reports")))]
pub(crate) async fn api_istat(
    State(state): State<AppState>,
    who: Signed,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let format = format_of(&q, &["json", "csv", "xlsx"])?;
    let p = prepare(&state, &who, &q).await?;
    let survey = istat(&state, &p).await?;
    let name = file_stem("istat", &p);
    match format.as_str() {
        "csv" => Ok(download(istat_csv(&survey).into_bytes(), "text/csv; charset=utf-8", &format!("{name}.csv"))),
        "xlsx" => xlsx_response(&istat_sheets(&survey), &name),
        _ => Ok(Json(survey).into_response()),
    }
}

// ---- Files ----

const ISTAT_HEADERS: [&str; 13] = [
    "anno_o_periodo",
    "codice_istat_comune",
    "comune",
    "area_utenza",
    "codice_intervento",
    "intervento",
    "gestione",
    "utenti",
    "spesa_totale_eur",
    "quota_ente_eur",
    "quota_utente_eur",
    "quota_ssn_eur",
    "oscurato",
];

fn istat_csv(s: &IstatSurvey) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(ISTAT_HEADERS);
    let opt = |x: Option<f64>| x.map(|v| format!("{v:.2}")).unwrap_or_default();
    for r in &s.rows {
        let _ = w.write_record([
            s.period.label(),
            r.istat.clone(),
            r.comune.clone(),
            r.area_utenza.clone(),
            r.intervention.clone(),
            r.intervention_name.clone(),
            r.management.to_owned(),
            r.users.value.map(|v| v.to_string()).unwrap_or_default(),
            opt(r.spending.total_eur),
            opt(r.spending.ente_eur),
            opt(r.spending.utente_eur),
            opt(r.spending.ssn_eur),
            r.users.mark.symbol().to_owned(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn notes(version: &str, threshold: u64, period: &Period) -> Vec<String> {
    vec![
        format!("Periodo: {}", period.label()),
        format!("Versione del magazzino dati: {version}"),
        format!(
            "* dato oscurato: meno di {threshold} utenti; ** oscurato perché un totale non riveli un dato oscurato"
        ),
    ]
}

fn money_cells(m: &Money, mark: Mark) -> [Cell; 4] {
    let s = mark.symbol();
    [Cell::num(m.total_eur, s), Cell::num(m.ente_eur, s), Cell::num(m.utente_eur, s), Cell::num(m.ssn_eur, s)]
}

fn users_cell(u: &Users) -> Cell {
    Cell::num(u.value.map(|v| v as f64), u.mark.symbol())
}

fn istat_sheets(s: &IstatSurvey) -> Vec<Sheet> {
    let rows = s
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![
                Cell::text(s.period.label()),
                Cell::text(&r.istat),
                Cell::text(&r.comune),
                Cell::text(&r.area_utenza),
                Cell::text(&r.intervention),
                Cell::text(&r.intervention_name),
                Cell::text(r.management),
                users_cell(&r.users),
            ];
            row.extend(money_cells(&r.spending, r.users.mark));
            row.push(Cell::text(r.users.mark.symbol()));
            row
        })
        .collect();
    let mut preamble = vec!["Indagine ISTAT sugli interventi e i servizi sociali dei comuni".to_owned()];
    preamble.extend(notes(&s.version, s.threshold, &s.period));
    preamble.extend(s.notes.iter().cloned());
    vec![Sheet {
        name: "ISTAT".into(),
        preamble,
        headers: ISTAT_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
        rows,
    }]
}

fn line_row(l: &Line, lang: Lang) -> Vec<Cell> {
    let mut row = vec![
        Cell::text(area_label(&l.area_utenza, lang)),
        Cell::text(type_label(&l.spending_type, lang)),
        users_cell(&l.users),
        Cell::num(l.users_per_1000, l.users.mark.symbol()),
    ];
    row.extend(money_cells(&l.spending, l.users.mark));
    row.push(Cell::num(l.spending_per_resident, l.users.mark.symbol()));
    row
}

fn pdz_sheets(r: &PianoDiZona, lang: Lang) -> Vec<Sheet> {
    let headers = |first: &[&str]| first.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>();
    let table_headers = [
        "area_utenza",
        "tipo_spesa",
        "utenti",
        "utenti_per_1000_residenti",
        "spesa_totale_eur",
        "quota_ente_eur",
        "quota_utente_eur",
        "quota_ssn_eur",
        "spesa_per_residente_eur",
    ];
    let mut sheets = Vec::new();
    for tbl in &r.tables {
        let mut preamble = vec![format!("Piano di Zona — {} ({} residenti)", tbl.name, tbl.residents)];
        preamble.extend(notes(&r.version, r.threshold, &r.period));
        if r.empty {
            preamble.push("Nessun intervento nel periodo: il report non ha dati.".into());
        }
        sheets.push(Sheet {
            name: if tbl.istat == "totale" { "Ambito".into() } else { tbl.name.clone() },
            preamble,
            headers: headers(&table_headers),
            rows: tbl.lines.iter().map(|l| line_row(l, lang)).collect(),
        });
    }
    sheets.push(Sheet {
        name: "Andamento".into(),
        preamble: vec!["Andamento su tre anni: stessi mesi del periodo e dei due anni prima".into()],
        headers: headers(&[
            "periodo",
            "area_utenza",
            "utenti",
            "spesa_totale_eur",
            "quota_ente_eur",
            "quota_utente_eur",
            "quota_ssn_eur",
        ]),
        rows: r
            .trend
            .iter()
            .map(|p| {
                let mut row =
                    vec![Cell::text(&p.period), Cell::text(area_label(&p.area_utenza, lang)), users_cell(&p.users)];
                row.extend(money_cells(&p.spending, p.users.mark));
                row
            })
            .collect(),
    });
    sheets.push(Sheet {
        name: "Liste di attesa".into(),
        preamble: vec![
            "Liste di attesa della residenzialità: in attesa all'ultimo giorno del periodo, ammessi nel periodo".into(),
        ],
        headers: headers(&[
            "ente",
            "tipo_struttura",
            "in_attesa",
            "attesa_mediana_giorni",
            "ammessi",
            "giorni_mediani_all_ammissione",
        ]),
        rows: r
            .waiting_lists
            .iter()
            .map(|w| {
                vec![
                    Cell::text(&w.ente),
                    Cell::text(&w.facility_type),
                    users_cell(&w.waiting),
                    Cell::num(w.median_wait_days, w.waiting.mark.symbol()),
                    users_cell(&w.admitted),
                    Cell::num(w.median_days_to_admission, w.admitted.mark.symbol()),
                ]
            })
            .collect(),
    });
    sheets.push(Sheet {
        name: "Copertura NIL".into(),
        preamble: vec!["Utenti per 1.000 residenti, per NIL di residenza".into()],
        headers: headers(&["nil_id", "nil", "residenti", "utenti", "utenti_per_1000_residenti"]),
        rows: r
            .coverage
            .iter()
            .map(|c| {
                vec![
                    Cell::num(Some(f64::from(c.nil_id)), ""),
                    Cell::text(&c.nil),
                    Cell::num(Some(c.residents as f64), ""),
                    users_cell(&c.users),
                    Cell::num(c.users_per_1000, c.users.mark.symbol()),
                ]
            })
            .collect(),
    });
    sheets
}

fn area_label(code: &str, lang: Lang) -> String {
    if code == "totale" { t(lang, "rep_total") } else { t(lang, &format!("area_{code}")) }
}

fn type_label(code: &str, lang: Lang) -> String {
    t(lang, &format!("rep_type_{code}"))
}

// ---- Maps ----

/// The target of the gap map when none is asked for.
const GAP_TARGET: &str = "anziani_75_soli";

/// A NIL's gap for a target: its persons not matched by places within reach.
#[derive(Debug, Clone)]
struct NilGap {
    nil_id: String,
    nil: String,
    potential: Option<u64>,
    gap: Option<f64>,
}

/// The gap per NIL of `target` (for scopes with NIL: Milano), ranked.
async fn nil_gaps(state: &AppState, ctx: &SessionContext, target: &str) -> Result<Vec<NilGap>, ApiError> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Float64Type, Int32Type, UInt64Type};
    let target = state.catalogue().get(target).map_err(|e| ApiError::bad_request(format!("target: {e}")))?.clone();
    let mut req = mosaico_analytics::territory::Request::new(&target);
    req.threshold = state.inner.threshold;
    req.level = mosaico_analytics::territory::Level::Nil;
    let b = mosaico_analytics::territory::gaps(ctx, &req).await?;
    let col = |n: &str| b.column_by_name(n).cloned();
    let (Some(id), Some(name), Some(pot), Some(gap)) = (col("nil_id"), col("name"), col("potential"), col("gap"))
    else {
        return Ok(Vec::new());
    };
    let (id, name) = (id.as_primitive::<Int32Type>().clone(), name.as_string::<i32>().clone());
    let (pot, gap) = (pot.as_primitive::<UInt64Type>().clone(), gap.as_primitive::<Float64Type>().clone());
    Ok((0..b.num_rows())
        .filter(|&i| id.is_valid(i))
        .map(|i| NilGap {
            nil_id: id.value(i).to_string(),
            nil: if name.is_valid(i) { name.value(i).to_owned() } else { String::new() },
            potential: pot.is_valid(i).then(|| pot.value(i)),
            gap: gap.is_valid(i).then(|| gap.value(i)),
        })
        .collect())
}

fn maps_html(state: &AppState, r: &PianoDiZona, gaps: &[NilGap], target_name: &str, lang: Lang) -> String {
    let outlines = &state.inner.nil;
    let Some(bbox) = crate::map::bbox(outlines) else { return String::new() };
    if r.coverage.is_empty() {
        return String::new();
    }
    let proj = crate::map::Projection::fit(bbox, 520.0);
    let hidden = t(lang, "rep_map_hidden");
    // Coverage: users per 1,000 residents.
    let values: Vec<f64> = r.coverage.iter().filter_map(|c| c.users_per_1000).collect();
    let breaks = crate::map::breaks(&values);
    let fills: Vec<crate::map::AreaFill> = r
        .coverage
        .iter()
        .map(|c| {
            let fill = match c.users_per_1000 {
                Some(v) => crate::map::Fill::Colour(crate::map::PALETTE_GOOD[crate::map::class_of(v, &breaks)]),
                None if c.users.mark.hidden() => crate::map::Fill::Hatched,
                None => crate::map::Fill::Empty,
            };
            let value = c.users_per_1000.map(|v| format!("{v:.2}")).unwrap_or_default();
            crate::map::AreaFill {
                id: c.nil_id.to_string(),
                fill,
                title: format!(
                    "{} {} · {}",
                    c.nil_id,
                    c.nil,
                    if value.is_empty() { hidden.clone() } else { format!("{value} ‰") }
                ),
                value,
            }
        })
        .collect();
    let coverage_label = t(lang, "rep_map_coverage");
    let mut h = format!(
        "<h2>{}</h2><div class=\"maps\"><figure>{}<figcaption>{}{}</figcaption></figure>",
        escape(&t(lang, "rep_maps")),
        crate::map::areas_svg(outlines, &fills, &proj, "map-coverage", &coverage_label),
        escape(&coverage_label),
        crate::map::legend_html(&breaks, &crate::map::PALETTE_GOOD, 1, &hidden),
    );
    // Gaps: persons of the target not matched by places within reach.
    let gap_values: Vec<f64> = gaps.iter().filter_map(|g| g.gap).collect();
    let gap_breaks = crate::map::breaks(&gap_values);
    let gap_fills: Vec<crate::map::AreaFill> = gaps
        .iter()
        .map(|g| {
            let fill = match (g.gap, g.potential) {
                (Some(v), _) => crate::map::Fill::Colour(crate::map::PALETTE[crate::map::class_of(v, &gap_breaks)]),
                (None, None) => crate::map::Fill::Hatched,
                _ => crate::map::Fill::Empty,
            };
            let value = g.gap.map(|v| format!("{v:.0}")).unwrap_or_default();
            crate::map::AreaFill {
                id: g.nil_id.clone(),
                fill,
                title: format!(
                    "{} {} · {}",
                    g.nil_id,
                    g.nil,
                    if value.is_empty() { hidden.clone() } else { value.clone() }
                ),
                value,
            }
        })
        .collect();
    let gap_label = tf(lang, "rep_map_gap", &[("target", target_name)]);
    h.push_str(&format!(
        "<figure>{}<figcaption>{}{}</figcaption></figure></div>",
        crate::map::areas_svg(outlines, &gap_fills, &proj, "map-gap", &gap_label),
        escape(&gap_label),
        crate::map::legend_html(&gap_breaks, &crate::map::PALETTE, 0, &hidden),
    ));
    let top: Vec<&NilGap> = gaps.iter().filter(|g| g.gap.is_some_and(|v| v > 0.0)).take(10).collect();
    if !top.is_empty() {
        h.push_str(&format!(
            "<table id=\"gaps\"><thead><tr><th>NIL</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            escape(&t(lang, "rep_h_target")),
            escape(&t(lang, "rep_h_gap"))
        ));
        for g in top {
            h.push_str(&format!(
                "<tr><td>{} {}</td><td>{}</td><td>{}</td></tr>",
                escape(&g.nil_id),
                escape(&g.nil),
                g.potential.map_or_else(|| "*".to_owned(), |p| thousands(p, lang)),
                cell_num(g.gap, Mark::Shown, 0, lang)
            ));
        }
        h.push_str("</tbody></table>");
    }
    h
}

// ---- The page ----

const REPORT_STYLE: &str = "main{display:block;max-width:1100px}form.filters{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:end;margin:8px 0 16px}\
form.filters label{display:flex;flex-direction:column;font-size:13px;gap:2px}select,input,button{font-size:14px;padding:4px}\
table{border-collapse:collapse;font-size:13px;margin:8px 0 20px;background:#fff}th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}\
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}tr.total td{font-weight:600;background:#f0f3f8}\
.stamp{font-size:12px;color:#444}.error{background:#fde8e8;border:1px solid #e0a0a0;padding:8px 12px}.empty{background:#fff6db;border:1px solid #e8d48a;padding:8px 12px}\
.downloads a{margin-right:12px}.legend{font-size:12px;color:#444}.maps{display:flex;flex-wrap:wrap;gap:16px}\
.maps figure{margin:0;background:#fff;border:1px solid #ddd;padding:8px}.maps svg{width:520px;max-width:95vw;height:auto}\
ul.legend{padding:0;margin:6px 0}ul.legend li{list-style:none;display:inline-block;margin-right:10px}\
@media print{header,form.filters,.downloads,.noprint{display:none}body{background:#fff}main{padding:0}}";

fn cell_num(x: Option<f64>, mark: Mark, digits: usize, lang: Lang) -> String {
    match x {
        Some(v) => {
            let s = format!("{v:.digits$}");
            let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
            let neg = int.starts_with('-');
            let n: u64 = int.trim_start_matches('-').parse().unwrap_or(0);
            let sep = if lang == Lang::It { "," } else { "." };
            format!(
                "{}{}{}",
                if neg { "-" } else { "" },
                thousands(n, lang),
                if frac.is_empty() { String::new() } else { format!("{sep}{frac}") }
            )
        }
        None if mark.hidden() => format!(
            "<span title=\"{}\">{}</span>",
            escape(&t(lang, &format!("rep_mark_{}", mark.code()))),
            mark.symbol()
        ),
        None => "–".into(),
    }
}

fn users_html(u: &Users, lang: Lang) -> String {
    cell_num(u.value.map(|v| v as f64), u.mark, 0, lang)
}

fn page_shell(lang: Lang, title: &str, who: &str, body: &str, status: StatusCode) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} — Mosaico</title><style>{STYLE}{REPORT_STYLE}</style></head><body><header><h1>{title}</h1>\
         <span><a href=\"/app\">{app}</a> · {who}</span></header><main>{body}</main></body></html>",
        l = lang.code(),
        title = escape(title),
        app = escape(&t(lang, "rep_back")),
        who = escape(who),
    );
    (status, Html(html)).into_response()
}

fn filters_form(scope_all: &[mosaico_case_app::model::Ente], q: &ReportQuery, lang: Lang) -> String {
    let mut ambiti: Vec<&str> = scope_all.iter().map(|e| e.ambito.as_str()).collect();
    ambiti.sort_unstable();
    ambiti.dedup();
    let opt = |value: &str, label: &str, selected: bool| {
        format!(
            "<option value=\"{}\"{}>{}</option>",
            escape(value),
            if selected { " selected" } else { "" },
            escape(label)
        )
    };
    let mut amb = opt("", &t(lang, "rep_all"), q.ambito.as_deref().unwrap_or("").is_empty());
    for a in ambiti {
        amb.push_str(&opt(a, a, q.ambito.as_deref() == Some(a)));
    }
    let mut ente = opt("", &t(lang, "rep_all"), q.ente.as_deref().unwrap_or("").is_empty());
    for e in scope_all {
        ente.push_str(&opt(
            &e.istat,
            &format!("{} ({})", e.name, e.istat),
            q.ente.as_deref() == Some(e.istat.as_str()),
        ));
    }
    let val = |v: &Option<String>| escape(v.as_deref().unwrap_or(""));
    format!(
        "<form class=\"filters\" method=\"get\" action=\"/reports\"><label>{l_amb}<select name=\"ambito\">{amb}</select></label>\
         <label>{l_ente}<select name=\"ente\">{ente}</select></label>\
         <label>{l_from}<input type=\"month\" name=\"from\" value=\"{from}\"></label><label>{l_to}<input type=\"month\" name=\"to\" value=\"{to}\"></label>\
         <input type=\"hidden\" name=\"lang\" value=\"{lang}\"><button>{go}</button></form>",
        l_amb = escape(&t(lang, "rep_ambito")),
        l_ente = escape(&t(lang, "rep_ente")),
        l_from = escape(&t(lang, "rep_from")),
        l_to = escape(&t(lang, "rep_to")),
        from = val(&q.from),
        to = val(&q.to),
        lang = lang.code(),
        go = escape(&t(lang, "rep_show")),
    )
}

fn query_string(q: &ReportQuery, version: Option<&str>, format: Option<&str>, lang: Lang) -> String {
    let mut parts: Vec<(String, String)> = Vec::new();
    for (k, v) in [("ambito", &q.ambito), ("ente", &q.ente), ("from", &q.from), ("to", &q.to), ("year", &q.year)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            parts.push((k.into(), v.into()));
        }
    }
    if let Some(v) = version {
        parts.push(("version".into(), v.into()));
    }
    if let Some(f) = format {
        parts.push(("format".into(), f.into()));
    } else {
        parts.push(("lang".into(), lang.code().into()));
    }
    let enc: Vec<String> = parts
        .iter()
        .map(|(k, v)| format!("{k}={}", url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()))
        .collect();
    escape(&enc.join("&"))
}

fn table_html(tbl: &reports::EnteTable, lang: Lang) -> String {
    let heads = [
        "rep_h_area",
        "rep_h_type",
        "rep_h_users",
        "rep_h_per_1000",
        "rep_h_spending",
        "rep_h_ente",
        "rep_h_utente",
        "rep_h_ssn",
        "rep_h_per_resident",
    ];
    let mut h = format!(
        "<h3>{} <small>({} {})</small></h3><table class=\"pdz\" data-ente=\"{}\"><thead><tr>",
        escape(&tbl.name),
        thousands(tbl.residents, lang),
        escape(&t(lang, "rep_residents")),
        escape(&tbl.istat)
    );
    for k in heads {
        h.push_str(&format!("<th>{}</th>", escape(&t(lang, k))));
    }
    h.push_str("</tr></thead><tbody>");
    for l in &tbl.lines {
        let total = l.area_utenza == "totale" || l.spending_type == "totale";
        let m = l.users.mark;
        h.push_str(&format!(
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if total { " class=\"total\"" } else { "" },
            escape(&area_label(&l.area_utenza, lang)),
            escape(&type_label(&l.spending_type, lang)),
            users_html(&l.users, lang),
            cell_num(l.users_per_1000, m, 2, lang),
            cell_num(l.spending.total_eur, m, 2, lang),
            cell_num(l.spending.ente_eur, m, 2, lang),
            cell_num(l.spending.utente_eur, m, 2, lang),
            cell_num(l.spending.ssn_eur, m, 2, lang),
            cell_num(l.spending_per_resident, m, 2, lang),
        ));
    }
    h.push_str("</tbody></table>");
    h
}

fn report_html(r: &PianoDiZona, q: &ReportQuery, lang: Lang) -> String {
    let mut h = String::with_capacity(1 << 16);
    h.push_str(&format!(
        "<h2>{}</h2><p class=\"stamp\">{} · <a href=\"/reports?{}\">{}</a></p>",
        escape(&tf(lang, "rep_heading", &[("period", &r.period.label())])),
        escape(&tf(lang, "rep_stamp", &[("version", &r.version)])),
        query_string(q, Some(&r.version), None, lang),
        escape(&t(lang, "rep_same_data")),
    ));
    h.push_str(&format!(
        "<p class=\"downloads\"><a href=\"/api/v1/reports/piano-di-zona?{}\">XLSX</a><a href=\"/api/v1/reports/piano-di-zona?{}\">JSON</a>\
         <a href=\"/api/v1/reports/istat?{}\">{} CSV</a><a href=\"/api/v1/reports/istat?{}\">{} XLSX</a>\
         <a href=\"javascript:print()\" class=\"noprint\">{}</a></p>",
        query_string(q, Some(&r.version), Some("xlsx"), lang),
        query_string(q, Some(&r.version), Some("json"), lang),
        query_string(q, Some(&r.version), Some("csv"), lang),
        escape(&t(lang, "rep_istat")),
        query_string(q, Some(&r.version), Some("xlsx"), lang),
        escape(&t(lang, "rep_istat")),
        escape(&t(lang, "rep_print")),
    ));
    if r.empty {
        h.push_str(&format!(
            "<p class=\"empty\" id=\"empty\">{}</p>",
            escape(&tf(lang, "rep_empty", &[("period", &r.period.label())]))
        ));
        return h;
    }
    h.push_str(&format!("<h2>{}</h2>", escape(&t(lang, "rep_users_spending"))));
    for tbl in &r.tables {
        h.push_str(&table_html(tbl, lang));
    }
    // Trend: one row per area, users and spending for each period.
    let periods: Vec<String> = {
        let mut p: Vec<String> = r.trend.iter().map(|x| x.period.clone()).collect();
        p.dedup();
        p
    };
    h.push_str(&format!(
        "<h2>{}</h2><table id=\"trend\"><thead><tr><th>{}</th>",
        escape(&t(lang, "rep_trend")),
        escape(&t(lang, "rep_h_area"))
    ));
    for p in &periods {
        h.push_str(&format!(
            "<th>{} {}</th><th>{} {}</th>",
            escape(&t(lang, "rep_h_users")),
            escape(p),
            escape(&t(lang, "rep_h_spending")),
            escape(p)
        ));
    }
    h.push_str("</tr></thead><tbody>");
    let mut areas: Vec<&str> = r.trend.iter().map(|x| x.area_utenza.as_str()).collect();
    areas.dedup();
    let mut seen = std::collections::BTreeSet::new();
    for a in areas.into_iter().filter(|a| seen.insert(*a)) {
        h.push_str(&format!(
            "<tr{}><td>{}</td>",
            if a == "totale" { " class=\"total\"" } else { "" },
            escape(&area_label(a, lang))
        ));
        for p in &periods {
            if let Some(x) = r.trend.iter().find(|x| &x.period == p && x.area_utenza == a) {
                h.push_str(&format!(
                    "<td>{}</td><td>{}</td>",
                    users_html(&x.users, lang),
                    cell_num(x.spending.total_eur, x.users.mark, 0, lang)
                ));
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    h.push_str(&format!("<h2>{}</h2>", escape(&t(lang, "rep_waiting"))));
    if r.waiting_lists.is_empty() {
        h.push_str(&format!("<p id=\"no-waiting\">{}</p>", escape(&t(lang, "rep_waiting_none"))));
    } else {
        h.push_str(&format!(
            "<table id=\"waiting\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            escape(&t(lang, "rep_ente")),
            escape(&t(lang, "rep_h_facility_type")),
            escape(&t(lang, "rep_h_waiting")),
            escape(&t(lang, "rep_h_median_wait")),
            escape(&t(lang, "rep_h_admitted")),
            escape(&t(lang, "rep_h_median_admission")),
        ));
        for w in &r.waiting_lists {
            let ente = r.enti.iter().find(|e| e.istat == w.ente).map_or(w.ente.as_str(), |e| e.name.as_str());
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(ente),
                escape(&w.facility_type),
                users_html(&w.waiting, lang),
                cell_num(w.median_wait_days, w.waiting.mark, 0, lang),
                users_html(&w.admitted, lang),
                cell_num(w.median_days_to_admission, w.admitted.mark, 0, lang),
            ));
        }
        h.push_str("</tbody></table>");
    }
    if !r.coverage.is_empty() {
        h.push_str(&format!(
            "<h2>{}</h2><table id=\"coverage\"><thead><tr><th>NIL</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            escape(&t(lang, "rep_coverage")),
            escape(&t(lang, "rep_residents")),
            escape(&t(lang, "rep_h_users")),
            escape(&t(lang, "rep_h_per_1000")),
        ));
        let mut rows: Vec<&reports::NilCoverage> = r.coverage.iter().collect();
        rows.sort_by(|a, b| b.users_per_1000.unwrap_or(-1.0).total_cmp(&a.users_per_1000.unwrap_or(-1.0)));
        for c in rows {
            h.push_str(&format!(
                "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                c.nil_id,
                escape(&c.nil),
                thousands(c.residents, lang),
                users_html(&c.users, lang),
                cell_num(c.users_per_1000, c.users.mark, 2, lang)
            ));
        }
        h.push_str("</tbody></table>");
    }
    h.push_str(&format!(
        "<p class=\"legend\">{}</p>",
        escape(&tf(lang, "rep_legend", &[("threshold", &r.threshold.to_string())]))
    ));
    h
}

/// `/reports`: the filters, then the Piano di Zona of the chosen scope, printable.
pub(crate) async fn page(
    State(state): State<AppState>,
    SignedPage(session): SignedPage,
    Query(q): Query<ReportQuery>,
) -> Response {
    let lang = Lang::parse(q.lang.as_deref());
    let who_label = session.actor.full_name.clone();
    let title = t(lang, "rep_title");
    let who = Signed(session);
    if who.require(Permission::ReportRead, "reports").is_err() {
        return page_shell(
            lang,
            &title,
            &who_label,
            &format!("<p class=\"error\">{}</p>", escape(&t(lang, "rep_forbidden"))),
            StatusCode::FORBIDDEN,
        );
    }
    let all = match state.inner.cases.as_ref() {
        Some(c) => c.store.enti(&who.0.actor).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let form = filters_form(&all, &q, lang);
    let result = async {
        let p = prepare(&state, &who, &q).await?;
        let r = pdz(&state, &who, &p).await?;
        let mut body = report_html(&r, &q, lang);
        if !r.empty && !r.coverage.is_empty() {
            let target = q.target.as_deref().filter(|s| !s.is_empty()).unwrap_or(GAP_TARGET);
            let gaps = nil_gaps(&state, &p.ctx, target).await?;
            let name = state.catalogue().get(target).map(|t| t.name_in(lang.code()).to_owned()).unwrap_or_default();
            body.push_str(&maps_html(&state, &r, &gaps, &name, lang));
        }
        Ok::<_, ApiError>(body)
    }
    .await;
    match result {
        Ok(body) => page_shell(lang, &title, &who_label, &format!("{form}{body}"), StatusCode::OK),
        Err(e) => page_shell(
            lang,
            &title,
            &who_label,
            &format!("{form}<p class=\"error\" role=\"alert\">{}</p>", escape(&e.message)),
            e.status,
        ),
    }
}
