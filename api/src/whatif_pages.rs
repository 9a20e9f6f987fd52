//! The planners' what-if pages: build and list scenarios (`/planner/scenarios`), see one
//! beside its baseline with before/after maps (`/planner/scenarios/{id}`), and ask where
//! to open the next k services (`/planner/locate`). Plain forms: they work without scripts.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Float64Type, Int64Type, UInt64Type};
use mosaico_analytics::scenario::{self, Change, Comparison, Scenario, Site};
use mosaico_analytics::siting;
use mosaico_analytics::territory::Request;
use mosaico_domain::services::FACILITY_TYPES;

use crate::i18n::{Lang, t, tf};
use crate::map::{self, Fill, Hex, Projection, escape};
use crate::pages::{STYLE, thousands};
use crate::territory::{Measure, MeasureQuery, request};
use crate::whatif::{self, LocateQuery, NewScenario};
use crate::{ApiError, AppState};

const DEFAULT_TARGET: &str = "anziani_75_soli";
const WIDTH: f64 = 560.0;
const OPEN_ROWS: usize = 4;
const EDIT_ROWS: usize = 3;
const SHOWN_NIL: usize = 20;

const WHATIF_STYLE: &str = "form{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:end;margin:8px 0 12px}\
form label{display:flex;flex-direction:column;font-size:13px;gap:2px}select,button,input{font-size:14px;padding:4px}\
fieldset{display:flex;flex-wrap:wrap;gap:8px 12px;border:1px solid #ccc;width:100%}\
table{border-collapse:collapse;font-size:13px;margin-top:8px}th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}\
th:first-child,td:first-child{text-align:left}.maps{display:flex;flex-wrap:wrap;gap:16px}.maps figure{margin:0}\
.maps #map,.maps svg{width:min(560px,95vw)}.error{background:#fde2e1;border:1px solid #e31a1c;padding:8px 12px}\
.site circle{fill:#1f3a5f;stroke:#fff;stroke-width:1.5}.site text{fill:#fff;font-size:10px;font-weight:700;text-anchor:middle;dominant-baseline:central}\
.better{color:#1a7f37}.worse{color:#b10026}";

/// A number with a decimal comma in Italian.
fn decimal(x: f64, digits: usize, lang: Lang) -> String {
    let s = format!("{x:.digits$}");
    if lang == Lang::It { s.replace('.', ",") } else { s }
}

fn head(h: &mut String, lang: Lang, title: &str, here: &str) {
    let other = if lang == Lang::It { Lang::En } else { Lang::It };
    let sep = if here.contains('?') { "&amp;" } else { "?" };
    h.push_str(&format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{app} — {title}</title><style>{STYLE}{WHATIF_STYLE}</style></head><body><header><h1>{title}</h1>\
         <nav><a href=\"/planner?lang={l}\">{planner}</a> <a href=\"/planner/scenarios?lang={l}\">{scen}</a> \
         <a href=\"/planner/locate?lang={l}\">{loc}</a> <a href=\"{here}{sep}lang={o}\">{language}</a></nav></header><main><section>",
        l = lang.code(),
        o = other.code(),
        app = escape(&t(lang, "app_name")),
        title = escape(title),
        planner = escape(&t(lang, "pl_title")),
        scen = escape(&t(lang, "wi_scenarios")),
        loc = escape(&t(lang, "wi_locate")),
        language = escape(&t(lang, "language")),
    ));
}

fn foot(h: &mut String, lang: Lang) {
    h.push_str(&format!("</section></main><footer>{}</footer></body></html>", escape(&t(lang, "footer_data"))));
}

fn target_select(h: &mut String, state: &AppState, lang: Lang, chosen: &str) {
    h.push_str(&format!("<label>{}<select name=\"target\" id=\"target\">", escape(&t(lang, "pl_target"))));
    for x in state.catalogue().targets() {
        h.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            escape(&x.id),
            if x.id == chosen { " selected" } else { "" },
            escape(x.name_in(lang.code()))
        ));
    }
    h.push_str("</select></label>");
}

fn type_options(chosen: &str) -> String {
    FACILITY_TYPES
        .iter()
        .map(|f| {
            format!(
                "<option value=\"{}\"{}>{} — {}</option>",
                f.code,
                if f.code == chosen { " selected" } else { "" },
                f.code,
                escape(f.name)
            )
        })
        .collect()
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

/// `/planner/scenarios`: the saved scenarios and the form that builds one.
pub(crate) async fn scenarios(
    State(state): State<AppState>,
    Query(q): Query<LangQuery>,
) -> Result<Html<String>, ApiError> {
    let lang = Lang::parse(q.lang.as_deref());
    Ok(Html(scenarios_page(&state, lang, None, &HashMap::new()).await?))
}

async fn scenarios_page(
    state: &AppState,
    lang: Lang,
    error: Option<&str>,
    given: &HashMap<String, String>,
) -> Result<String, ApiError> {
    let mut h = String::with_capacity(1 << 16);
    head(&mut h, lang, &t(lang, "wi_scenarios"), "/planner/scenarios");
    if let Some(e) = error {
        h.push_str(&format!("<p class=\"error\" role=\"alert\" id=\"error\">{}</p>", escape(e)));
    }
    let saved = state.scenarios().list().await?;
    h.push_str(&format!("<h2>{}</h2>", escape(&t(lang, "wi_saved"))));
    if saved.is_empty() {
        h.push_str(&format!("<p id=\"none\">{}</p>", escape(&t(lang, "wi_none"))));
    } else {
        h.push_str(&format!(
            "<form method=\"get\" action=\"/planner/compare\" id=\"compare\"><input type=\"hidden\" name=\"lang\" value=\"{}\">\
             <table id=\"scenarios\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            lang.code(),
            escape(&t(lang, "wi_name")),
            escape(&t(lang, "wi_changes")),
            escape(&t(lang, "wi_saved_at")),
            escape(&t(lang, "wi_compare_pick")),
        ));
        for s in &saved {
            h.push_str(&format!(
                "<tr data-id=\"{id}\"><td><a href=\"/planner/scenarios/{id}?lang={l}\">{}</a><br><small>{}</small></td><td>{}</td><td>{}</td>\
                 <td><input type=\"checkbox\" name=\"ids\" value=\"{id}\"></td></tr>",
                escape(&s.name),
                escape(&s.description),
                s.changes.len(),
                escape(s.saved_at.get(..16).unwrap_or(&s.saved_at).replace('T', " ").as_str()),
                id = escape(&s.id),
                l = lang.code(),
            ));
        }
        h.push_str(&format!(
            "</tbody></table><button type=\"submit\">{}</button></form>",
            escape(&t(lang, "wi_compare"))
        ));
    }

    // The builder.
    let v = |k: &str| escape(given.get(k).map(String::as_str).unwrap_or(""));
    h.push_str(&format!(
        "<h2>{}</h2><p>{}</p><form method=\"post\" action=\"/planner/scenarios\" id=\"new-scenario\">\
         <input type=\"hidden\" name=\"lang\" value=\"{}\"><fieldset><label>{}<input name=\"name\" id=\"name\" required value=\"{}\"></label>\
         <label>{}<input name=\"description\" size=\"40\" value=\"{}\"></label></fieldset>",
        escape(&t(lang, "wi_new")),
        escape(&t(lang, "wi_new_help")),
        lang.code(),
        escape(&t(lang, "wi_name")),
        v("name"),
        escape(&t(lang, "wi_description")),
        v("description"),
    ));
    let nil_options = |chosen: &str| -> String {
        let mut o = format!("<option value=\"\">{}</option>", escape(&t(lang, "wi_nil_pick")));
        for n in &state.inner.nil {
            o.push_str(&format!(
                "<option value=\"{}\"{}>{} {}</option>",
                escape(&n.id),
                if n.id == chosen { " selected" } else { "" },
                escape(&n.id),
                escape(&n.name)
            ));
        }
        o
    };
    for i in 1..=OPEN_ROWS {
        h.push_str(&format!(
            "<fieldset class=\"open\"><legend>{} {i}</legend><label>{}<select name=\"open_type_{i}\">{}</select></label>\
             <label>{}<input type=\"number\" min=\"1\" max=\"{}\" name=\"open_places_{i}\" value=\"{}\"></label>\
             <label>{}<select name=\"open_nil_{i}\">{}</select></label><label>{}<input name=\"open_cell_{i}\" size=\"17\" value=\"{}\"></label></fieldset>",
            escape(&t(lang, "wi_open")),
            escape(&t(lang, "pl_service")),
            type_options(given.get(&format!("open_type_{i}")).map(String::as_str).unwrap_or("CDI")),
            escape(&t(lang, "pl_places")),
            scenario::MAX_PLACES,
            v(&format!("open_places_{i}")),
            escape(&t(lang, "nil")),
            nil_options(given.get(&format!("open_nil_{i}")).map(String::as_str).unwrap_or("")),
            escape(&t(lang, "wi_or_cell")),
            v(&format!("open_cell_{i}")),
        ));
    }
    let facilities = scenario::facilities(state.ctx()).await?;
    for i in 1..=EDIT_ROWS {
        let chosen = given.get(&format!("edit_facility_{i}")).map(String::as_str).unwrap_or("");
        let mut options = format!("<option value=\"\">{}</option>", escape(&t(lang, "wi_facility_pick")));
        for f in &facilities {
            options.push_str(&format!(
                "<option value=\"{}\"{}>{} · {} · {} {}</option>",
                escape(&f.id),
                if f.id == chosen { " selected" } else { "" },
                escape(&f.facility_type),
                escape(&f.name),
                f.places,
                escape(&t(lang, "wi_places_short")),
            ));
        }
        h.push_str(&format!(
            "<fieldset class=\"edit\"><legend>{} {i}</legend><label>{}<select name=\"edit_facility_{i}\">{options}</select></label>\
             <label>{}<select name=\"edit_op_{i}\"><option value=\"close\">{}</option><option value=\"resize\"{}>{}</option></select></label>\
             <label>{}<input type=\"number\" min=\"0\" max=\"{}\" name=\"edit_places_{i}\" value=\"{}\"></label></fieldset>",
            escape(&t(lang, "wi_edit")),
            escape(&t(lang, "wi_facility")),
            escape(&t(lang, "wi_edit")),
            escape(&t(lang, "wi_close")),
            if given.get(&format!("edit_op_{i}")).map(String::as_str) == Some("resize") { " selected" } else { "" },
            escape(&t(lang, "wi_resize")),
            escape(&t(lang, "wi_new_places")),
            scenario::MAX_PLACES,
            v(&format!("edit_places_{i}")),
        ));
    }
    h.push_str(&format!(
        "<fieldset><label>{}<input type=\"number\" step=\"0.1\" min=\"0.1\" max=\"50\" name=\"catchment_km\" value=\"{}\"></label>\
         <label>{}<input type=\"number\" min=\"0\" max=\"10\" name=\"years\" value=\"{}\"></label></fieldset><button type=\"submit\">{}</button></form>",
        escape(&t(lang, "wi_catchment")),
        v("catchment_km"),
        escape(&t(lang, "wi_years")),
        v("years"),
        escape(&t(lang, "wi_save")),
    ));
    foot(&mut h, lang);
    Ok(h)
}

/// Reads the builder's fields into a scenario (a field that is not a number is named).
fn from_form(f: &HashMap<String, String>, lang: Lang) -> Result<NewScenario, String> {
    let get = |k: &str| f.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let number = |k: &str, label: &str| -> Result<Option<f64>, String> {
        get(k)
            .map(|s| {
                s.replace(',', ".")
                    .parse::<f64>()
                    .map_err(|_| tf(lang, "wi_not_number", &[("field", label), ("value", s)]))
            })
            .transpose()
    };
    let mut changes = Vec::new();
    for i in 1..=siting::MAX_P {
        let (nil, cell) = (get(&format!("open_nil_{i}")), get(&format!("open_cell_{i}")));
        if nil.is_none() && cell.is_none() {
            continue;
        }
        let label = format!("{} {i}", t(lang, "wi_open"));
        let site = match (cell, nil) {
            (Some(c), _) => Site::Cell { cell: c.to_owned() },
            (None, Some(n)) => {
                Site::Nil { nil: n.parse().map_err(|_| tf(lang, "wi_not_number", &[("field", &label), ("value", n)]))? }
            }
            (None, None) => continue,
        };
        let places = number(&format!("open_places_{i}"), &label)?
            .ok_or_else(|| tf(lang, "wi_places_needed", &[("field", &label)]))?;
        changes.push(Change::Open {
            facility_type: get(&format!("open_type_{i}")).unwrap_or("CDI").to_owned(),
            places: places.max(0.0) as u32,
            site,
            name: get(&format!("open_name_{i}")).map(str::to_owned),
        });
    }
    for i in 1..=EDIT_ROWS {
        let Some(id) = get(&format!("edit_facility_{i}")) else { continue };
        let label = format!("{} {i}", t(lang, "wi_edit"));
        match get(&format!("edit_op_{i}")).unwrap_or("close") {
            "resize" => {
                let places = number(&format!("edit_places_{i}"), &label)?
                    .ok_or_else(|| tf(lang, "wi_places_needed", &[("field", &label)]))?;
                changes.push(Change::Resize { facility_id: id.to_owned(), places: places.max(0.0) as u32 });
            }
            _ => changes.push(Change::Close { facility_id: id.to_owned() }),
        }
    }
    if let Some(km) = number("catchment_km", &t(lang, "wi_catchment"))? {
        changes.push(Change::Catchment { km });
    }
    if let Some(y) = number("years", &t(lang, "wi_years"))?
        && y > 0.0
    {
        changes.push(Change::Projection { years: y as u32, rates: Default::default() });
    }
    Ok(NewScenario {
        name: get("name").unwrap_or("").to_owned(),
        description: get("description").unwrap_or("").to_owned(),
        changes,
    })
}

/// `POST /planner/scenarios`: saves the builder's scenario and shows it, or shows the
/// form again with what was wrong.
pub(crate) async fn create(
    State(state): State<AppState>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let lang = Lang::parse(f.get("lang").map(String::as_str));
    let saved = match from_form(&f, lang) {
        Ok(new) => whatif::save(&state, new, None).await.map_err(|e| e.message),
        Err(m) => Err(m),
    };
    match saved {
        Ok(s) => Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/planner/scenarios/{}?lang={}", s.id, lang.code()))],
        )
            .into_response()),
        Err(message) => {
            let page = scenarios_page(&state, lang, Some(&message), &f).await?;
            Ok((StatusCode::BAD_REQUEST, Html(page)).into_response())
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct ScenarioQuery {
    target: Option<String>,
    service: Option<String>,
    lang: Option<String>,
}

/// Reads a column of the comparison.
struct Cols<'a>(&'a RecordBatch);

impl Cols<'_> {
    fn f64(&self, name: &str, i: usize) -> Option<f64> {
        let c = self.0.column_by_name(name)?;
        if let Some(a) = c.as_primitive_opt::<Float64Type>() {
            return a.is_valid(i).then(|| a.value(i));
        }
        if let Some(a) = c.as_primitive_opt::<UInt64Type>() {
            return a.is_valid(i).then(|| a.value(i) as f64);
        }
        let a = c.as_primitive_opt::<Int64Type>()?;
        a.is_valid(i).then(|| a.value(i) as f64)
    }
    fn str(&self, name: &str, i: usize) -> Option<&str> {
        let c = self.0.column_by_name(name)?.as_string_opt::<i32>()?;
        c.is_valid(i).then(|| c.value(i))
    }
}

/// Two maps with the same classes: a measure before (`baseline`) and after (`label`).
fn before_after(state: &AppState, lang: Lang, cells: &RecordBatch, label: &str, sites: &[(f64, f64, usize)]) -> String {
    let Some(bbox) = map::bbox(&state.inner.nil) else { return String::new() };
    let proj = Projection::fit(bbox, WIDTH);
    let c = Cols(cells);
    let per100 = |l: &str, i: usize| c.f64(&format!("{l}_accessibility"), i).map(|a| a * 100.0);
    let all: Vec<f64> =
        (0..cells.num_rows()).flat_map(|i| [per100("baseline", i), per100(label, i)]).flatten().collect();
    let breaks = map::breaks(&all);
    let outlines = map::outline_paths(&state.inner.nil, &proj);
    let mut out = String::from("<div class=\"maps\">");
    for (l, caption, id) in [("baseline", t(lang, "wi_before"), "before"), (label, t(lang, "wi_after"), "after")] {
        let hexes: Vec<Hex> = (0..cells.num_rows())
            .map(|i| {
                let v = per100(l, i);
                let hex = c.str("hex_id", i).unwrap_or_default();
                Hex {
                    cell: u64::from_str_radix(hex, 16).unwrap_or_default(),
                    fill: v.map_or(Fill::Empty, |x| Fill::Colour(map::PALETTE_GOOD[map::class_of(x, &breaks)])),
                    value: v.map(|x| format!("{x}")).unwrap_or_default(),
                    title: format!(
                        "{} · {}",
                        c.str("name", i).unwrap_or_default(),
                        v.map_or_else(
                            || t(lang, "pl_no_service"),
                            |x| tf(lang, "wi_per100", &[("n", &decimal(x, 1, lang))])
                        )
                    ),
                }
            })
            .collect();
        let mut svg =
            map::hexes_svg(&hexes, &outlines, &proj, &caption).replacen("id=\"map\"", &format!("id=\"map-{id}\""), 1);
        if l != "baseline" && !sites.is_empty() {
            let mut marks = String::from("<g class=\"sites\">");
            for (lat, lon, rank) in sites {
                let (x, y) = proj.xy(*lon, *lat);
                marks.push_str(&format!(
                    "<g class=\"site\" data-rank=\"{rank}\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"8\"/><text x=\"{x:.1}\" y=\"{y:.1}\">{rank}</text></g>"
                ));
            }
            marks.push_str("</g></svg>");
            svg = svg.strip_suffix("</svg>").map(|s| format!("{s}{marks}")).unwrap_or(svg);
        }
        out.push_str(&format!("<figure><figcaption><strong>{}</strong></figcaption>{svg}</figure>", escape(&caption)));
    }
    out.push_str(&format!("</div><p class=\"note\">{}</p>", escape(&t(lang, "wi_maps_note"))));
    out
}

/// The totals of the baseline and the variant side by side.
fn totals_table(c: &Comparison, lang: Lang) -> String {
    let (Some(b), Some(s)) = (c.totals.first(), c.totals.get(1)) else { return String::new() };
    let pct = |x: Option<f64>| x.map_or("—".to_owned(), |v| format!("{}%", decimal(v * 100.0, 1, lang)));
    let signed = |x: f64, digits: usize| {
        let v = decimal(x, digits, lang);
        if x > 0.0 { format!("+{v}") } else { v }
    };
    let rows = [
        (
            "pl_potential",
            thousands(b.potential, lang),
            thousands(s.potential, lang),
            signed(s.potential as f64 - b.potential as f64, 0),
        ),
        (
            "pl_places",
            thousands(b.places, lang),
            thousands(s.places, lang),
            signed(s.places as f64 - b.places as f64, 0),
        ),
        (
            "wi_served",
            pct(b.served_share),
            pct(s.served_share),
            signed((s.served_share.unwrap_or(0.0) - b.served_share.unwrap_or(0.0)) * 100.0, 1),
        ),
        ("pl_col_gap", decimal(b.gap, 0, lang), decimal(s.gap, 0, lang), signed(s.gap - b.gap, 0)),
    ];
    let mut h = format!(
        "<table id=\"totals\"><thead><tr><th></th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        escape(&t(lang, "wi_before")),
        escape(&t(lang, "wi_after")),
        escape(&t(lang, "wi_change"))
    );
    for (k, x, y, d) in rows {
        h.push_str(&format!(
            "<tr data-row=\"{k}\"><td>{}</td><td>{x}</td><td>{y}</td><td>{d}</td></tr>",
            escape(&t(lang, k))
        ));
    }
    h.push_str("</tbody></table>");
    h
}

/// The NIL whose gap changes most.
fn nil_changes(nil: &RecordBatch, label: &str, lang: Lang) -> String {
    let c = Cols(nil);
    let mut order: Vec<usize> =
        (0..nil.num_rows()).filter(|&i| c.f64(&format!("{label}_d_gap"), i).is_some_and(|d| d.abs() > 1e-9)).collect();
    order.sort_by(|&a, &b| {
        let d = |i: usize| c.f64(&format!("{label}_d_gap"), i).unwrap_or(0.0);
        d(a).total_cmp(&d(b))
    });
    let mut h = format!(
        "<h3>{}</h3><table id=\"changes\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        escape(&t(lang, "wi_nil_changes")),
        escape(&t(lang, "nil")),
        escape(&t(lang, "pl_col_demand")),
        escape(&t(lang, "pl_places")),
        escape(&t(lang, "wi_gap_before")),
        escape(&t(lang, "wi_gap_after")),
    );
    for &i in order.iter().take(SHOWN_NIL) {
        let dash = || "—".to_owned();
        let gap_b = c.f64("baseline_gap", i);
        let gap_a = c.f64(&format!("{label}_gap"), i);
        let class = match (gap_b, gap_a) {
            (Some(b), Some(a)) if a < b => "better",
            (Some(b), Some(a)) if a > b => "worse",
            _ => "",
        };
        h.push_str(&format!(
            "<tr data-nil=\"{}\" class=\"{class}\"><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td></tr>",
            escape(c.str("id", i).unwrap_or_default()),
            escape(c.str("name", i).unwrap_or_default()),
            c.f64(&format!("{label}_potential"), i)
                .map_or_else(|| t(lang, "suppressed"), |x| thousands(x as u64, lang)),
            c.f64("baseline_places", i).map_or_else(dash, |x| thousands(x as u64, lang)),
            c.f64(&format!("{label}_places"), i).map_or_else(dash, |x| thousands(x as u64, lang)),
            gap_b.map_or_else(dash, |x| decimal(x, 1, lang)),
            gap_a.map_or_else(dash, |x| decimal(x, 1, lang)),
        ));
    }
    h.push_str("</tbody></table>");
    h
}

fn describe_change(c: &Change, lang: Lang) -> String {
    match c {
        Change::Open { facility_type, places, site, name } => {
            let at = match site {
                Site::Point { lat, lon } => format!("{lat:.5}, {lon:.5}"),
                Site::Cell { cell } => cell.clone(),
                Site::Nil { nil } => format!("NIL {nil}"),
            };
            tf(
                lang,
                "wi_ch_open",
                &[
                    ("type", facility_type),
                    ("places", &places.to_string()),
                    ("at", &at),
                    ("name", name.as_deref().unwrap_or("")),
                ],
            )
        }
        Change::Close { facility_id } => tf(lang, "wi_ch_close", &[("id", facility_id)]),
        Change::Resize { facility_id, places } => {
            tf(lang, "wi_ch_resize", &[("id", facility_id), ("places", &places.to_string())])
        }
        Change::Catchment { km } => tf(lang, "wi_ch_catchment", &[("km", &decimal(*km, 1, lang))]),
        Change::Projection { years, .. } => tf(lang, "wi_ch_projection", &[("years", &years.to_string())]),
    }
}

fn scenario_request(
    state: &AppState,
    target: Option<&str>,
    service: Option<&str>,
    level: &str,
) -> Result<Request, ApiError> {
    let q = MeasureQuery {
        target: Some(target.filter(|s| !s.is_empty()).unwrap_or(DEFAULT_TARGET).to_owned()),
        service: service.filter(|s| !s.is_empty()).map(str::to_owned),
        level: Some(level.to_owned()),
        ..MeasureQuery::default()
    };
    request(state, Measure::Gaps, &q)
}

/// `/planner/scenarios/{id}`: the scenario beside its baseline.
pub(crate) async fn scenario(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ScenarioQuery>,
) -> Result<Html<String>, ApiError> {
    let lang = Lang::parse(q.lang.as_deref());
    let s = state.scenarios().get(&id).await?;
    let (target, service) = (q.target.as_deref(), q.service.as_deref());
    let cells_req = scenario_request(&state, target, service, "cell")?;
    let nil_req = scenario_request(&state, target, service, "nil")?;
    let cells = whatif::compare_scenarios(&state, &cells_req, std::slice::from_ref(&s)).await?;
    let nil = whatif::compare_scenarios(&state, &nil_req, std::slice::from_ref(&s)).await?;
    let mut h = String::with_capacity(1 << 20);
    head(&mut h, lang, &s.name, &format!("/planner/scenarios/{}", escape(&s.id)));
    h.push_str(&format!("<p>{}</p><ul id=\"scenario-changes\">", escape(&s.description)));
    for c in &s.changes {
        h.push_str(&format!("<li>{}</li>", escape(&describe_change(c, lang))));
    }
    h.push_str(&format!("</ul><form method=\"get\"><input type=\"hidden\" name=\"lang\" value=\"{}\">", lang.code()));
    target_select(&mut h, &state, lang, &cells_req.target.id);
    h.push_str(&format!(
        "<label>{}<select name=\"service\"><option value=\"\">{}</option>{}</select></label><button type=\"submit\">{}</button></form>",
        escape(&t(lang, "pl_service")),
        escape(&tf(lang, "pl_service_all", &[("types", &cells_req.target.facility_types.join(", "))])),
        type_options(service.unwrap_or("")),
        escape(&t(lang, "pl_show"))
    ));
    h.push_str(&format!(
        "<h2>{}</h2>{}",
        escape(&tf(
            lang,
            "wi_outcome_for",
            &[("target", cells_req.target.name_in(lang.code())), ("types", &cells_req.facility_types.join(", "))]
        )),
        totals_table(&cells, lang)
    ));
    h.push_str(&before_after(&state, lang, &cells.rows, &s.id, &[]));
    h.push_str(&nil_changes(&nil.rows, &s.id, lang));
    let api =
        format!("/api/v1/scenarios/{}/outcome?target={}&amp;level=nil", escape(&s.id), escape(&cells_req.target.id));
    h.push_str(&format!(
        "<p class=\"downloads\"><a class=\"download\" href=\"{api}&amp;format=csv\" download>{}</a> <a class=\"download\" href=\"{api}\">JSON</a></p>",
        escape(&t(lang, "pl_dl_nil_csv"))
    ));
    foot(&mut h, lang);
    Ok(Html(h))
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct LocatePageQuery {
    target: Option<String>,
    service: Option<String>,
    k: Option<String>,
    radius_km: Option<String>,
    places: Option<String>,
    lang: Option<String>,
}

/// `/planner/locate`: where to open k new services for a target, the chosen sites and
/// the accessibility before and after.
pub(crate) async fn locate(
    State(state): State<AppState>,
    Query(q): Query<LocatePageQuery>,
) -> Result<Response, ApiError> {
    let lang = Lang::parse(q.lang.as_deref());
    let target_id = q.target.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_TARGET.to_owned());
    let target = state.catalogue().get(&target_id).map_err(|e| ApiError::bad_request(format!("target: {e}")))?.clone();
    let service = q
        .service
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| target.facility_types.iter().find(|t| *t == "CDI").cloned())
        .or_else(|| target.facility_types.first().cloned())
        .unwrap_or_else(|| "CDI".to_owned());
    let kind = FACILITY_TYPES.iter().find(|f| f.code == service);
    let default_places = kind.map_or(30, |f| (f.capacity.0 + f.capacity.1) / 2);
    let mut h = String::with_capacity(1 << 20);
    head(&mut h, lang, &t(lang, "wi_locate"), "/planner/locate");
    h.push_str(&format!(
        "<p>{}</p><form method=\"get\" action=\"/planner/locate\" id=\"locate\"><input type=\"hidden\" name=\"lang\" value=\"{}\">",
        escape(&t(lang, "wi_locate_help")),
        lang.code()
    ));
    target_select(&mut h, &state, lang, &target.id);
    h.push_str(&format!(
        "<label>{}<select name=\"service\" id=\"service\">{}</select></label>\
         <label>{}<input type=\"number\" min=\"1\" max=\"{}\" name=\"k\" id=\"k\" value=\"{}\"></label>\
         <label>{}<input type=\"number\" step=\"0.1\" min=\"0.1\" max=\"50\" name=\"radius_km\" id=\"radius\" value=\"{}\"></label>\
         <label>{}<input type=\"number\" min=\"1\" max=\"{}\" name=\"places\" value=\"{}\"></label><button type=\"submit\">{}</button></form>",
        escape(&t(lang, "pl_service")),
        type_options(&service),
        escape(&t(lang, "wi_k")),
        siting::MAX_P,
        escape(q.k.as_deref().unwrap_or("3")),
        escape(&t(lang, "wi_radius")),
        escape(q.radius_km.as_deref().unwrap_or("1.5")),
        escape(&t(lang, "wi_places_each")),
        scenario::MAX_PLACES,
        escape(q.places.as_deref().unwrap_or(&default_places.to_string())),
        escape(&t(lang, "wi_find")),
    ));
    let Some(k) = q.k.as_deref().filter(|s| !s.is_empty()) else {
        foot(&mut h, lang);
        return Ok(Html(h).into_response());
    };
    let lq = LocateQuery {
        target: Some(target.id.clone()),
        service: Some(service.clone()),
        p: Some(k.to_owned()),
        radius_km: q.radius_km.clone(),
        ..LocateQuery::default()
    };
    let places: u32 = match q.places.as_deref().filter(|s| !s.is_empty()) {
        None => default_places,
        Some(p) => p.parse().map_err(|_| ApiError::bad_request(format!("places: '{p}' is not a number of places")))?,
    };
    let placed = async {
        let req = whatif::siting_request(&state, &lq)?;
        let placement = siting::site(state.ctx(), &req).await?;
        Ok::<_, ApiError>((req, placement))
    }
    .await;
    let (req, placement) = match placed {
        Ok(x) => x,
        Err(e) => {
            h.push_str(&format!("<p class=\"error\" role=\"alert\" id=\"error\">{}</p>", escape(&e.message)));
            foot(&mut h, lang);
            return Ok((e.status, Html(h)).into_response());
        }
    };
    // The sites as an unsaved scenario, measured beside the baseline.
    let changes: Vec<Change> = placement
        .sites
        .iter()
        .map(|s| Change::Open {
            facility_type: service.clone(),
            places,
            site: Site::Cell { cell: s.hex_id.clone() },
            name: None,
        })
        .collect();
    let mut ad_hoc = Scenario::new("siti proposti", "", changes.clone())?;
    ad_hoc.base = state.inner.versions.clone();
    let mut cells_req = scenario_request(&state, Some(&target.id), Some(&service), "cell")?;
    cells_req.catchment_km = req.radius_km.clamp(0.1, 50.0);
    let cmp = whatif::compare_scenarios(&state, &cells_req, std::slice::from_ref(&ad_hoc)).await?;
    let covered_pct =
        if placement.demand_total > 0.0 { placement.objective / placement.demand_total * 100.0 } else { 0.0 };
    h.push_str(&format!(
        "<h2 id=\"answer\">{}</h2><p id=\"quality\">{}</p>",
        escape(&tf(
            lang,
            "wi_answer",
            &[("k", &placement.sites.len().to_string()), ("type", &service), ("target", target.name_in(lang.code()))]
        )),
        escape(&tf(
            lang,
            if placement.exact { "wi_exact" } else { "wi_bound" },
            &[
                ("covered", &thousands(placement.objective.round() as u64, lang)),
                ("pct", &decimal(covered_pct, 1, lang)),
                ("served", &thousands(placement.already_served.round() as u64, lang)),
                ("bound", &thousands(placement.bound.round() as u64, lang)),
                ("gap", &decimal(placement.gap * 100.0, 1, lang)),
            ]
        ))
    ));
    h.push_str(&format!(
        "<table id=\"sites\"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        escape(&t(lang, "wi_cell")),
        escape(&t(lang, "nil")),
        escape(&t(lang, "municipio")),
        escape(&t(lang, "wi_covered")),
    ));
    let nil_name = |id: Option<i32>| {
        id.and_then(|n| state.inner.nil.iter().find(|o| o.id == n.to_string()))
            .map(|o| format!("{} {}", o.id, o.name))
            .unwrap_or_else(|| "—".into())
    };
    for s in &placement.sites {
        h.push_str(&format!(
            "<tr data-hex=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.hex_id),
            s.rank,
            escape(&s.hex_id),
            escape(&nil_name(s.nil_id)),
            s.municipio.map_or("—".to_owned(), |m| m.to_string()),
            thousands(s.demand.round() as u64, lang),
        ));
    }
    h.push_str("</tbody></table>");
    h.push_str(&totals_table(&cmp, lang));
    let marks: Vec<(f64, f64, usize)> = placement.sites.iter().map(|s| (s.lat, s.lon, s.rank)).collect();
    h.push_str(&before_after(&state, lang, &cmp.rows, &ad_hoc.id, &marks));
    // Save the sites as a scenario.
    h.push_str(&format!(
        "<form method=\"post\" action=\"/planner/scenarios\" id=\"save-sites\"><input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <label>{}<input name=\"name\" required value=\"{}\"></label>",
        lang.code(),
        escape(&t(lang, "wi_name")),
        escape(&tf(lang, "wi_sites_name", &[("k", &placement.sites.len().to_string()), ("type", &service)])),
    ));
    for (i, s) in placement.sites.iter().enumerate() {
        h.push_str(&format!(
            "<input type=\"hidden\" name=\"open_type_{n}\" value=\"{}\"><input type=\"hidden\" name=\"open_places_{n}\" value=\"{places}\">\
             <input type=\"hidden\" name=\"open_cell_{n}\" value=\"{}\">",
            escape(&service),
            escape(&s.hex_id),
            n = i + 1,
        ));
    }
    h.push_str(&format!(
        "<input type=\"hidden\" name=\"catchment_km\" value=\"{}\"><button type=\"submit\">{}</button></form>",
        req.radius_km,
        escape(&t(lang, "wi_save_sites"))
    ));
    foot(&mut h, lang);
    Ok(Html(h).into_response())
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct CompareQuery {
    #[serde(default)]
    ids: Vec<String>,
    target: Option<String>,
    lang: Option<String>,
}

/// `/planner/compare?ids=a&ids=b`: the baseline and the scenarios side by side, totals and
/// the gap per NIL.
pub(crate) async fn compare(
    State(state): State<AppState>,
    axum_extra_query: axum::extract::RawQuery,
) -> Result<Html<String>, ApiError> {
    // Repeated `ids` (checkboxes) or `ids=a,b`.
    let raw = axum_extra_query.0.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    let q = CompareQuery {
        ids: pairs
            .iter()
            .filter(|(k, _)| k == "ids")
            .flat_map(|(_, v)| v.split(',').map(str::to_owned).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .collect(),
        target: pairs.iter().find(|(k, _)| k == "target").map(|(_, v)| v.clone()),
        lang: pairs.iter().find(|(k, _)| k == "lang").map(|(_, v)| v.clone()),
    };
    let lang = Lang::parse(q.lang.as_deref());
    if q.ids.is_empty() || q.ids.len() > 8 {
        return Err(ApiError::bad_request("ids: choose one to eight scenarios to compare"));
    }
    let req = scenario_request(&state, q.target.as_deref(), None, "nil")?;
    let (scenarios, c) = whatif::comparison(&state, &req, &q.ids).await?;
    let mut h = String::with_capacity(1 << 18);
    head(&mut h, lang, &t(lang, "wi_compare_title"), "/planner/compare");
    h.push_str(&format!(
        "<h2>{}</h2><table id=\"compare-totals\"><thead><tr><th></th><th>{}</th>",
        escape(&tf(
            lang,
            "wi_outcome_for",
            &[("target", req.target.name_in(lang.code())), ("types", &req.facility_types.join(", "))]
        )),
        escape(&t(lang, "wi_before"))
    ));
    for s in &scenarios {
        h.push_str(&format!("<th>{}</th>", escape(&s.name)));
    }
    h.push_str("</tr></thead><tbody>");
    let pct = |x: Option<f64>| x.map_or("—".to_owned(), |v| format!("{}%", decimal(v * 100.0, 1, lang)));
    for (key, f) in [
        (
            "pl_potential",
            &(|x: &scenario::Totals| thousands(x.potential, lang)) as &dyn Fn(&scenario::Totals) -> String,
        ),
        ("pl_places", &|x: &scenario::Totals| thousands(x.places, lang)),
        ("wi_served", &|x: &scenario::Totals| pct(x.served_share)),
        ("pl_col_gap", &|x: &scenario::Totals| decimal(x.gap, 0, lang)),
    ] {
        h.push_str(&format!("<tr data-row=\"{key}\"><td>{}</td>", escape(&t(lang, key))));
        for x in &c.totals {
            h.push_str(&format!("<td>{}</td>", f(x)));
        }
        h.push_str("</tr>");
    }
    h.push_str(&format!(
        "</tbody></table><h3>{}</h3><table id=\"compare-nil\"><thead><tr><th>{}</th><th>{}</th>",
        escape(&t(lang, "pl_col_gap")),
        escape(&t(lang, "nil")),
        escape(&t(lang, "wi_before"))
    ));
    for s in &scenarios {
        h.push_str(&format!("<th>{}</th>", escape(&s.name)));
    }
    h.push_str("</tr></thead><tbody>");
    let cols = Cols(&c.rows);
    for i in 0..c.rows.num_rows() {
        h.push_str(&format!(
            "<tr data-nil=\"{}\"><td>{}</td>",
            escape(cols.str("id", i).unwrap_or_default()),
            escape(cols.str("name", i).unwrap_or_default())
        ));
        for label in std::iter::once("baseline").chain(scenarios.iter().map(|s| s.id.as_str())) {
            h.push_str(&format!(
                "<td>{}</td>",
                cols.f64(&format!("{label}_gap"), i).map_or_else(|| t(lang, "suppressed"), |x| decimal(x, 1, lang))
            ));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    foot(&mut h, lang);
    Ok(Html(h))
}
