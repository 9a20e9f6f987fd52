//! Server-rendered pages. Every word comes from the message catalogue.

use axum::extract::{Query, State};
use axum::response::Html;

use crate::i18n::{Lang, t, tf};
use crate::map::{self, Labels, Projection, escape};
use crate::{ApiError, AppState};
use mosaico_analytics::Metric;

#[derive(Debug, serde::Deserialize)]
pub(crate) struct LandingQuery {
    metric: Option<String>,
    lang: Option<String>,
}

const RES: u8 = 9;
const WIDTH: f64 = 900.0;

pub(crate) const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1f2933;background:#f7f7f5}\
header{background:#1f3a5f;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:baseline}\
header h1{margin:0;font-size:22px}header a{color:#cfe0ff}main{display:flex;flex-wrap:wrap;gap:24px;padding:16px 24px}\
#map{width:min(900px,95vw);height:auto;background:#fff;border:1px solid #ddd}.hex{stroke:#fff;stroke-width:.3}\
.hex:hover{stroke:#000;stroke-width:1.2}.nil{fill:none;stroke:#333;stroke-width:.7;pointer-events:none}\
aside{max-width:340px}nav a{margin-right:10px}nav a.on{font-weight:bold;text-decoration:none;color:#000}\
.legend span{display:inline-block;width:18px;height:12px;margin-right:6px;vertical-align:middle;border:1px solid #bbb}\
.legend li{list-style:none;margin:2px 0}.legend ul{padding:0}dl{display:grid;grid-template-columns:auto auto;gap:4px 12px}\
dd{margin:0;font-weight:600;text-align:right}footer{padding:12px 24px;font-size:12px;color:#555}";

pub(crate) async fn landing(
    State(state): State<AppState>,
    Query(q): Query<LandingQuery>,
) -> Result<Html<String>, ApiError> {
    let lang = Lang::parse(q.lang.as_deref());
    let metric =
        Metric::parse(q.metric.as_deref().unwrap_or("population")).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let threshold = state.inner.threshold;
    let other = if lang == Lang::It { Lang::En } else { Lang::It };

    let mut h = String::with_capacity(1 << 20);
    h.push_str(&format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} — {}</title><style>{STYLE}</style></head><body><header><h1>{}</h1><span>{} · <a href=\"?lang={}&amp;metric={}\">{}</a></span></header>",
        lang.code(),
        escape(&t(lang, "app_name")),
        escape(&t(lang, "map_title")),
        escape(&t(lang, "app_name")),
        escape(&t(lang, "tagline")),
        other.code(),
        metric.code(),
        escape(&t(lang, "language")),
    ));

    let Some(bbox) = map::bbox(&state.inner.nil) else {
        h.push_str(&format!("<main><p>{}</p></main></body></html>", escape(&t(lang, "no_data"))));
        return Ok(Html(h));
    };
    let cells = mosaico_analytics::cells(state.ctx(), RES, metric, threshold).await?;
    let totals = mosaico_analytics::totals(state.ctx(), metric).await?;
    let proj = Projection::fit(bbox, WIDTH);
    let visible: Vec<u64> = cells.iter().filter_map(|c| c.count).collect();
    let breaks = map::breaks(&visible);
    let labels = Labels { nil: t(lang, "nil"), persons: t(lang, "persons"), suppressed: t(lang, "suppressed") };
    let outlines = map::outline_paths(&state.inner.nil, &proj);
    let svg = map::svg(&cells, &outlines, &proj, &breaks, &labels);
    let suppressed = cells.len() - visible.len();

    h.push_str(&format!(
        "<main><section><h2>{}</h2><p>{}</p><nav>{}: ",
        escape(&t(lang, "map_title")),
        escape(&tf(lang, "map_subtitle", &[("res", &RES.to_string())])),
        escape(&t(lang, "metric"))
    ));
    for m in Metric::ALL {
        h.push_str(&format!(
            "<a href=\"?metric={}&amp;lang={}\"{}>{}</a>",
            m.code(),
            lang.code(),
            if m == metric { " class=\"on\"" } else { "" },
            escape(&t(lang, &format!("metric_{}", m.code())))
        ));
    }
    h.push_str("</nav>");
    h.push_str(&svg);
    h.push_str("</section><aside>");
    h.push_str(&format!("<h3>{}</h3><dl>", escape(&t(lang, &format!("metric_{}", metric.code())))));
    for (k, v) in [
        ("stat_total", totals.total),
        ("stat_on_map", totals.total - totals.homeless),
        ("stat_homeless", totals.homeless),
        ("stat_cells", cells.len() as u64),
        ("stat_suppressed", suppressed as u64),
    ] {
        h.push_str(&format!("<dt>{}</dt><dd>{}</dd>", escape(&t(lang, k)), thousands(v, lang)));
    }
    h.push_str(&format!("</dl><div class=\"legend\"><h3>{}</h3><ul>", escape(&t(lang, "legend"))));
    let mut lo = 1u64.max(threshold);
    for b in &breaks {
        let colour = map::PALETTE[map::class_of(*b, &breaks)];
        h.push_str(&format!(
            "<li><span style=\"background:{colour}\"></span>{}–{}</li>",
            thousands(lo, lang),
            thousands(*b, lang)
        ));
        lo = b + 1;
    }
    h.push_str(&format!(
        "<li><span style=\"background:url(#hatch) #e5e5e5;background-image:repeating-linear-gradient(45deg,#999 0 1px,#e5e5e5 1px 4px)\"></span>{}</li></ul></div>",
        escape(&tf(lang, "legend_suppressed", &[("threshold", &threshold.to_string())]))
    ));
    h.push_str(&format!(
        "<p><a id=\"planner\" href=\"/planner?lang={}\">{}</a></p><h3>{}</h3><ul><li><a href=\"/api/v1/territory/cells?res={RES}&amp;metric={}\">{}</a></li><li><a href=\"/healthz\">{}</a></li></ul>",
        lang.code(),
        escape(&t(lang, "pl_link")),
        escape(&t(lang, "api_links")),
        metric.code(),
        escape(&t(lang, "api_cells")),
        escape(&t(lang, "api_health"))
    ));
    h.push_str(&format!("</aside></main><footer>{}</footer></body></html>", escape(&t(lang, "footer_data"))));
    Ok(Html(h))
}

/// 1234567 → "1.234.567" (Italian) or "1,234,567" (English).
pub(crate) fn thousands(n: u64, lang: Lang) -> String {
    let sep = if lang == Lang::It { '.' } else { ',' };
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_by_language() {
        assert_eq!(thousands(1_234_567, Lang::It), "1.234.567");
        assert_eq!(thousands(999, Lang::En), "999");
        assert_eq!(thousands(1000, Lang::En), "1,000");
    }
}
