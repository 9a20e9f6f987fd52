//! The planners' page (`/planner`): choose a target and a service, see the hex map of
//! demand, accessibility or gap with the NIL outlines, the NIL ranked by gap, and
//! download the rows. A plain GET form: it works without scripts.

use axum::extract::{Query, State};
use axum::response::Html;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Float64Type, UInt32Type, UInt64Type};
use mosaico_analytics::territory::{self, Level, Request};
use mosaico_domain::AreaUtenza;
use mosaico_domain::services::FACILITY_TYPES;

use crate::i18n::{Lang, t, tf};
use crate::map::{self, Fill, Hex, Projection, escape};
use crate::pages::{STYLE, thousands};
use crate::{ApiError, AppState};

/// The target shown first: the over-75s living alone.
const DEFAULT_TARGET: &str = "anziani_75_soli";
const RES: u8 = 9;
const WIDTH: f64 = 900.0;
/// NIL rows in the ranked table.
const RANKED: usize = 20;

const PLANNER_STYLE: &str = "form{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:end;margin:8px 0 12px}\
form label{display:flex;flex-direction:column;font-size:13px;gap:2px}select,button{font-size:14px;padding:4px}\
table{border-collapse:collapse;font-size:13px;margin-top:8px}th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}\
th:nth-child(2),td:nth-child(2){text-align:left}.downloads a{margin-right:10px}.note{font-size:12px;color:#555;max-width:340px}";

/// Which measure colours the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Demand,
    Accessibility,
    Gap,
}

impl Shown {
    const ALL: [Shown; 3] = [Shown::Demand, Shown::Accessibility, Shown::Gap];

    fn code(self) -> &'static str {
        match self {
            Shown::Demand => "demand",
            Shown::Accessibility => "accessibility",
            Shown::Gap => "gap",
        }
    }

    fn parse(s: Option<&str>) -> Result<Shown, ApiError> {
        match s.unwrap_or("gap") {
            "demand" => Ok(Shown::Demand),
            "accessibility" => Ok(Shown::Accessibility),
            "gap" => Ok(Shown::Gap),
            other => Err(ApiError::bad_request(format!(
                "measure: '{other}' is not a measure; expected one of demand, accessibility, gap"
            ))),
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct PlannerQuery {
    target: Option<String>,
    service: Option<String>,
    measure: Option<String>,
    lang: Option<String>,
}

/// The columns of a gaps batch the page reads.
struct Rows<'a> {
    b: &'a RecordBatch,
}

impl<'a> Rows<'a> {
    fn str(&self, name: &str, i: usize) -> Option<&'a str> {
        let c = self.b.column_by_name(name)?.as_string::<i32>();
        c.is_valid(i).then(|| c.value(i))
    }
    fn u64(&self, name: &str, i: usize) -> Option<u64> {
        let c = self.b.column_by_name(name)?.as_primitive::<UInt64Type>();
        c.is_valid(i).then(|| c.value(i))
    }
    fn f64(&self, name: &str, i: usize) -> Option<f64> {
        let c = self.b.column_by_name(name)?.as_primitive::<Float64Type>();
        c.is_valid(i).then(|| c.value(i))
    }
    fn u32(&self, name: &str, i: usize) -> Option<u32> {
        let c = self.b.column_by_name(name)?.as_primitive::<UInt32Type>();
        c.is_valid(i).then(|| c.value(i))
    }
}

/// A number with a decimal comma in Italian.
fn decimal(x: f64, digits: usize, lang: Lang) -> String {
    let s = format!("{x:.digits$}");
    if lang == Lang::It { s.replace('.', ",") } else { s }
}

pub(crate) async fn page(
    State(state): State<AppState>,
    Query(q): Query<PlannerQuery>,
) -> Result<Html<String>, ApiError> {
    let lang = Lang::parse(q.lang.as_deref());
    let shown = Shown::parse(q.measure.as_deref())?;
    let catalogue = state.catalogue();
    let target_id = q.target.as_deref().filter(|s| !s.is_empty()).unwrap_or(DEFAULT_TARGET);
    let target = catalogue
        .get(target_id)
        .or_else(|e| if q.target.is_none() { catalogue.targets().first().ok_or(e) } else { Err(e) })
        .map_err(|e| ApiError::bad_request(format!("target: {e}")))?
        .clone();
    let service = q.service.as_deref().filter(|s| !s.is_empty());
    let mut req = Request::new(&target);
    if let Some(s) = service {
        req = req.with_facility_types(vec![s.to_owned()]).map_err(ApiError::from)?;
    }
    req.threshold = state.inner.threshold;
    req.level = Level::Cell(RES);
    let cells = territory::gaps(state.ctx(), &req).await?;
    req.level = Level::Nil;
    let nil = territory::gaps(state.ctx(), &req).await?;
    req.level = Level::Comune;
    let supply = territory::supply(state.ctx(), &req).await?;
    let demand = territory::demand(state.ctx(), &req).await?;

    let other = if lang == Lang::It { Lang::En } else { Lang::It };
    let link = |lang: Lang| {
        format!(
            "?target={}&amp;service={}&amp;measure={}&amp;lang={}",
            escape(&target.id),
            escape(service.unwrap_or("")),
            shown.code(),
            lang.code()
        )
    };
    let mut h = String::with_capacity(1 << 20);
    h.push_str(&format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} — {}</title><style>{STYLE}{PLANNER_STYLE}</style></head><body><header><h1>{}</h1><span><a href=\"/?lang={}\">{}</a> · <a href=\"{}\">{}</a></span></header><main><section>",
        lang.code(),
        escape(&t(lang, "app_name")),
        escape(&t(lang, "pl_title")),
        escape(&t(lang, "pl_title")),
        lang.code(),
        escape(&t(lang, "pl_home")),
        link(other),
        escape(&t(lang, "language")),
    ));

    // The form.
    h.push_str(&format!(
        "<form method=\"get\" action=\"/planner\"><input type=\"hidden\" name=\"lang\" value=\"{}\"><label>{}<select name=\"target\" id=\"target\">",
        lang.code(),
        escape(&t(lang, "pl_target"))
    ));
    for area in AreaUtenza::ALL {
        h.push_str(&format!("<optgroup label=\"{}\">", escape(&t(lang, &format!("area_{}", area.code())))));
        for x in catalogue.targets().iter().filter(|x| x.area == area.code()) {
            h.push_str(&format!(
                "<option value=\"{}\"{}>{}</option>",
                escape(&x.id),
                if x.id == target.id { " selected" } else { "" },
                escape(x.name_in(lang.code()))
            ));
        }
        h.push_str("</optgroup>");
    }
    h.push_str(&format!(
        "</select></label><label>{}<select name=\"service\" id=\"service\"><option value=\"\">{}</option>",
        escape(&t(lang, "pl_service")),
        escape(&tf(lang, "pl_service_all", &[("types", &target.facility_types.join(", "))]))
    ));
    for f in FACILITY_TYPES {
        h.push_str(&format!(
            "<option value=\"{}\"{}>{} — {}</option>",
            f.code,
            if service == Some(f.code) { " selected" } else { "" },
            f.code,
            escape(f.name)
        ));
    }
    h.push_str(&format!(
        "</select></label><label>{}<select name=\"measure\" id=\"measure\">",
        escape(&t(lang, "pl_measure"))
    ));
    for m in Shown::ALL {
        h.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            m.code(),
            if m == shown { " selected" } else { "" },
            escape(&t(lang, &format!("pl_measure_{}", m.code())))
        ));
    }
    h.push_str(&format!("</select></label><button type=\"submit\">{}</button></form>", escape(&t(lang, "pl_show"))));

    // The map.
    let rows = Rows { b: &cells };
    let Some(bbox) = map::bbox(&state.inner.nil) else {
        h.push_str(&format!("<p>{}</p></section></main></body></html>", escape(&t(lang, "no_data"))));
        return Ok(Html(h));
    };
    let proj = Projection::fit(bbox, WIDTH);
    let values: Vec<Option<f64>> = (0..cells.num_rows())
        .map(|i| match shown {
            Shown::Demand => rows.u64("potential", i).map(|n| n as f64),
            Shown::Accessibility => rows.f64("relative", i),
            Shown::Gap => rows.f64("gap", i),
        })
        .collect();
    let visible: Vec<f64> = values.iter().flatten().copied().collect();
    let breaks = map::breaks(&visible);
    let palette = if shown == Shown::Accessibility { map::PALETTE_GOOD } else { map::PALETTE };
    let mut hexes = Vec::with_capacity(cells.num_rows());
    for (i, v) in values.iter().enumerate() {
        // Accessibility is a property of the place (places and demand over the whole
        // catchment), so it is shown where the cell's own count is suppressed.
        let hidden = shown != Shown::Accessibility && rows.u64("potential", i).is_none();
        let fill = match (v, hidden) {
            (_, true) => Fill::Hatched,
            (Some(x), false) => Fill::Colour(palette[map::class_of(*x, &breaks)]),
            (None, false) => Fill::Empty,
        };
        let value = match (v, hidden) {
            (_, true) => t(lang, "suppressed"),
            (None, false) => t(lang, "pl_no_service"),
            (Some(x), false) => match shown {
                Shown::Demand => format!("{} {}", thousands(*x as u64, lang), t(lang, "persons")),
                Shown::Accessibility => tf(lang, "pl_relative", &[("pct", &decimal(x * 100.0, 0, lang))]),
                Shown::Gap => tf(lang, "pl_gap_value", &[("n", &decimal(*x, 1, lang))]),
            },
        };
        let place = rows.str("name", i).map(|n| format!("{n} · ")).unwrap_or_default();
        hexes.push(Hex {
            cell: rows.str("hex_id", i).and_then(|x| u64::from_str_radix(x, 16).ok()).unwrap_or_default(),
            fill,
            value: v.map(|x| format!("{x}")).unwrap_or_default(),
            title: format!("{place}{value} · {}", rows.str("hex_id", i).unwrap_or_default()),
        });
    }
    let outlines = map::outline_paths(&state.inner.nil, &proj);
    h.push_str(&format!(
        "<h2 id=\"what\">{} — {}</h2><p>{}</p>",
        escape(target.name_in(lang.code())),
        escape(&t(lang, &format!("pl_measure_{}", shown.code()))),
        escape(&tf(
            lang,
            "pl_subtitle",
            &[
                ("res", &RES.to_string()),
                ("method", req.method.code()),
                ("km", &decimal(req.catchment_km, 0, lang)),
                ("types", &req.facility_types.join(", ")),
            ]
        ))
    ));
    h.push_str(&map::hexes_svg(&hexes, &outlines, &proj, &t(lang, "pl_title")));

    // The ranked NIL.
    let n = Rows { b: &nil };
    h.push_str(&format!(
        "<h3>{}</h3><table id=\"ranked\"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        escape(&t(lang, "pl_ranked")),
        escape(&t(lang, "nil")),
        escape(&t(lang, "pl_col_demand")),
        escape(&t(lang, "pl_col_access")),
        escape(&t(lang, "pl_col_gap")),
        escape(&t(lang, "pl_col_share")),
    ));
    for i in 0..nil.num_rows().min(RANKED) {
        let dash = || "—".to_owned();
        h.push_str(&format!(
            "<tr data-nil=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(n.str("id", i).unwrap_or_default()),
            n.u32("rank", i).unwrap_or_default(),
            escape(n.str("name", i).unwrap_or_default()),
            n.u64("potential", i).map_or_else(|| t(lang, "suppressed"), |x| thousands(x, lang)),
            n.f64("relative", i).map_or_else(dash, |x| format!("{}%", decimal(x * 100.0, 0, lang))),
            n.f64("gap", i).map_or_else(dash, |x| decimal(x, 1, lang)),
            n.f64("gap_share", i).map_or_else(dash, |x| format!("{}%", decimal(x * 100.0, 0, lang))),
        ));
    }
    h.push_str("</tbody></table></section><aside>");

    // Totals, legend, downloads.
    let (d, s) = (Rows { b: &demand }, Rows { b: &supply });
    let sum = |r: &Rows, col: &str, len: usize| (0..len).filter_map(|i| r.u64(col, i)).sum::<u64>();
    let (potential, expressed) = (sum(&d, "potential", demand.num_rows()), sum(&d, "expressed", demand.num_rows()));
    let (facilities, places) = (sum(&s, "facilities", supply.num_rows()), sum(&s, "places", supply.num_rows()));
    h.push_str(&format!("<h3>{}</h3><dl id=\"totals\">", escape(target.name_in(lang.code()))));
    for (k, v) in
        [("pl_potential", potential), ("pl_expressed", expressed), ("pl_facilities", facilities), ("pl_places", places)]
    {
        h.push_str(&format!("<dt>{}</dt><dd>{}</dd>", escape(&t(lang, k)), thousands(v, lang)));
    }
    h.push_str(&format!("</dl><div class=\"legend\"><h3>{}</h3><ul>", escape(&t(lang, "legend"))));
    let mut lo = 0.0;
    for b in &breaks {
        let label = match shown {
            Shown::Accessibility => {
                format!("{}–{}%", decimal(lo * 100.0, 0, lang), decimal(b * 100.0, 0, lang))
            }
            _ => format!(
                "{}–{}",
                decimal(lo, if shown == Shown::Gap { 1 } else { 0 }, lang),
                decimal(*b, if shown == Shown::Gap { 1 } else { 0 }, lang)
            ),
        };
        h.push_str(&format!(
            "<li><span style=\"background:{}\"></span>{label}</li>",
            palette[map::class_of(*b, &breaks)]
        ));
        lo = *b;
    }
    h.push_str(&format!(
        "<li><span style=\"background-image:repeating-linear-gradient(45deg,#999 0 1px,#e5e5e5 1px 4px)\"></span>{}</li>",
        escape(&tf(lang, "legend_suppressed", &[("threshold", &state.inner.threshold.to_string())]))
    ));
    if shown != Shown::Demand {
        h.push_str(&format!(
            "<li><span style=\"background:{}\"></span>{}</li>",
            map::NO_VALUE,
            escape(&t(lang, "pl_no_service"))
        ));
    }
    h.push_str(&format!("</ul></div><p class=\"note\">{}</p>", escape(&t(lang, &format!("pl_note_{}", shown.code())))));
    let api = |level: &str, format: &str| {
        let service = service.map(|s| format!("&amp;service={}", escape(s))).unwrap_or_default();
        format!(
            "/api/v1/territory/gaps?target={}{service}&amp;level={level}&amp;res={RES}&amp;format={format}",
            escape(&target.id)
        )
    };
    h.push_str(&format!("<h3>{}</h3><p class=\"downloads\">", escape(&t(lang, "pl_downloads"))));
    for (level, format, key) in [
        ("cell", "csv", "pl_dl_cells_csv"),
        ("cell", "geojson", "pl_dl_cells_geojson"),
        ("cell", "arrow", "pl_dl_cells_arrow"),
        ("nil", "csv", "pl_dl_nil_csv"),
        ("nil", "geojson", "pl_dl_nil_geojson"),
    ] {
        h.push_str(&format!(
            "<a class=\"download\" data-format=\"{format}\" href=\"{}\" download>{}</a> ",
            api(level, format),
            escape(&t(lang, key))
        ));
    }
    h.push_str(&format!("</p></aside></main><footer>{}</footer></body></html>", escape(&t(lang, "footer_data"))));
    Ok(Html(h))
}
