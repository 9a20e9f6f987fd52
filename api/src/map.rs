//! The hex map as SVG, drawn on the server: no tiles, no scripts, no internet.

use std::fmt::Write as _;

use h3o::CellIndex;
use mosaico_analytics::{AreaOutline, CellCount};
use serde_json::Value;

/// Sequential palette (ColorBrewer YlOrRd, 7 classes): counts, gaps.
pub const PALETTE: [&str; 7] = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"];

/// Sequential palette (ColorBrewer YlGnBu, 7 classes): accessibility, where more is better.
pub const PALETTE_GOOD: [&str; 7] = ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"];

/// An equirectangular projection fitted to a lon/lat box.
#[derive(Debug, Clone, Copy)]
pub struct Projection {
    lng0: f64,
    lat1: f64,
    kx: f64,
    ky: f64,
    /// Width of the drawing.
    pub width: f64,
    /// Height of the drawing.
    pub height: f64,
}

impl Projection {
    /// Fits (min lon, min lat, max lon, max lat) into `width` pixels.
    pub fn fit(bbox: (f64, f64, f64, f64), width: f64) -> Self {
        let (x0, y0, x1, y1) = bbox;
        let cos = ((y0 + y1) / 2.0).to_radians().cos();
        let kx = width / ((x1 - x0) * cos).max(1e-9) * cos;
        let ky = kx / cos;
        Self { lng0: x0, lat1: y1, kx, ky, width, height: (y1 - y0) * ky }
    }

    /// Pixel position of (lon, lat).
    pub fn xy(&self, lng: f64, lat: f64) -> (f64, f64) {
        ((lng - self.lng0) * self.kx, (self.lat1 - lat) * self.ky)
    }
}

/// Class breaks: upper bounds of each palette class, from quantiles of the values.
pub fn breaks<T: Copy + PartialOrd>(values: &[T]) -> Vec<T> {
    let mut v: Vec<T> = values.to_vec();
    v.sort_unstable_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    if v.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<T> =
        (1..=PALETTE.len()).map(|k| v[((v.len() * k) / PALETTE.len()).saturating_sub(1).min(v.len() - 1)]).collect();
    out.dedup_by(|a, b| a == b);
    out
}

/// The palette class of a value.
pub fn class_of<T: Copy + PartialOrd>(n: T, breaks: &[T]) -> usize {
    let i = breaks.iter().position(|&b| n <= b).unwrap_or(breaks.len().saturating_sub(1));
    // Spread fewer classes over the whole palette.
    if breaks.len() <= 1 { PALETTE.len() - 1 } else { i * (PALETTE.len() - 1) / (breaks.len() - 1) }
}

pub(crate) fn rings(geojson: &str) -> Vec<Vec<(f64, f64)>> {
    let Ok(v) = serde_json::from_str::<Value>(geojson) else { return Vec::new() };
    let polys = match v.get("type").and_then(Value::as_str) {
        Some("MultiPolygon") => v["coordinates"].as_array().cloned().unwrap_or_default(),
        Some("Polygon") => vec![v["coordinates"].clone()],
        _ => Vec::new(),
    };
    polys
        .iter()
        .flat_map(|p| p.as_array().cloned().unwrap_or_default())
        .map(|ring| {
            ring.as_array()
                .map(|pts| pts.iter().filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?))).collect())
                .unwrap_or_default()
        })
        .collect()
}

fn path_of(points: impl IntoIterator<Item = (f64, f64)>, proj: &Projection, out: &mut String) {
    for (i, (lng, lat)) in points.into_iter().enumerate() {
        let (x, y) = proj.xy(lng, lat);
        let _ = write!(out, "{}{x:.1},{y:.1}", if i == 0 { 'M' } else { 'L' });
    }
    out.push('Z');
}

/// The bounding box of the outlines.
pub fn bbox(outlines: &[AreaOutline]) -> Option<(f64, f64, f64, f64)> {
    let pts: Vec<(f64, f64)> = outlines.iter().flat_map(|o| rings(&o.geojson)).flatten().collect();
    if pts.is_empty() {
        return None;
    }
    let f = |sel: fn(&(f64, f64)) -> f64, max: bool| {
        pts.iter().map(sel).fold(if max { f64::MIN } else { f64::MAX }, |a, b| if max { a.max(b) } else { a.min(b) })
    };
    Some((f(|p| p.0, false), f(|p| p.1, false), f(|p| p.0, true), f(|p| p.1, true)))
}

/// The outlines as SVG paths (drawn once, reused for every request).
pub fn outline_paths(outlines: &[AreaOutline], proj: &Projection) -> String {
    let mut s = String::new();
    for o in outlines {
        let mut d = String::new();
        for r in rings(&o.geojson) {
            path_of(r, proj, &mut d);
        }
        let _ = write!(
            s,
            "<path class=\"nil\" data-nil=\"{}\" d=\"{d}\"><title>{} {}</title></path>",
            o.id,
            escape(&o.id),
            escape(&o.name)
        );
    }
    s
}

/// Labels shown on the map.
#[derive(Debug, Clone)]
pub struct Labels {
    /// "NIL".
    pub nil: String,
    /// "persone".
    pub persons: String,
    /// "oscurato".
    pub suppressed: String,
}

/// How a hexagon is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// A colour (of a palette).
    Colour(&'static str),
    /// Hatched: the value is suppressed.
    Hatched,
    /// Grey: no value (for example no service within reach).
    Empty,
}

/// One hexagon to draw.
#[derive(Debug, Clone)]
pub struct Hex {
    /// The cell.
    pub cell: u64,
    /// Its fill.
    pub fill: Fill,
    /// `data-value` (empty when there is none).
    pub value: String,
    /// The tooltip.
    pub title: String,
}

/// The whole SVG: hexes coloured by class, suppressed hexes hatched, outlines on top.
pub fn hexes_svg(hexes: &[Hex], outlines_svg: &str, proj: &Projection, label: &str) -> String {
    let mut s = String::with_capacity(hexes.len() * 160 + outlines_svg.len() + 1024);
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"map\" viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\" aria-label=\"{label}\">\
         <defs><pattern id=\"hatch\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <rect width=\"4\" height=\"4\" fill=\"#e5e5e5\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\" stroke=\"#999\" stroke-width=\"1.5\"/></pattern></defs>\
         <g class=\"hexes\">",
        w = proj.width,
        h = proj.height,
        label = escape(label),
    );
    for x in hexes {
        let Ok(cell) = CellIndex::try_from(x.cell) else { continue };
        let mut d = String::new();
        path_of(cell.boundary().iter().map(|ll| (ll.lng(), ll.lat())), proj, &mut d);
        let (fill, class) = match x.fill {
            Fill::Colour(c) => (c, ""),
            Fill::Hatched => ("url(#hatch)", " suppressed"),
            Fill::Empty => (NO_VALUE, " empty"),
        };
        let _ = write!(
            s,
            "<path class=\"hex{class}\" data-hex=\"{cell}\" data-value=\"{}\" d=\"{d}\" fill=\"{fill}\"><title>{}</title></path>",
            escape(&x.value),
            escape(&x.title),
        );
    }
    s.push_str("</g><g class=\"outlines\">");
    s.push_str(outlines_svg);
    s.push_str("</g></svg>");
    s
}

/// One area (a NIL) to fill.
#[derive(Debug, Clone)]
pub struct AreaFill {
    /// The outline's id.
    pub id: String,
    /// Its fill.
    pub fill: Fill,
    /// `data-value` (empty when there is none).
    pub value: String,
    /// The tooltip.
    pub title: String,
}

/// A choropleth of areas: each outline filled by its class, hidden values hatched,
/// areas without a value grey.
pub fn areas_svg(outlines: &[AreaOutline], fills: &[AreaFill], proj: &Projection, id: &str, label: &str) -> String {
    let mut s = String::with_capacity(outlines.len() * 2048);
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{id}\" class=\"choropleth\" viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\" aria-label=\"{label}\">\
         <title>{label}</title><defs><pattern id=\"hatch-{id}\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <rect width=\"4\" height=\"4\" fill=\"#e5e5e5\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\" stroke=\"#999\" stroke-width=\"1.5\"/></pattern></defs>",
        id = escape(id),
        w = proj.width,
        h = proj.height,
        label = escape(label),
    );
    for o in outlines {
        let f = fills.iter().find(|f| f.id == o.id);
        let (fill, class) = match f.map(|f| f.fill) {
            Some(Fill::Colour(c)) => (c.to_owned(), "area"),
            Some(Fill::Hatched) => (format!("url(#hatch-{})", escape(id)), "area suppressed"),
            Some(Fill::Empty) | None => (NO_VALUE.to_owned(), "area empty"),
        };
        let mut d = String::new();
        for r in rings(&o.geojson) {
            path_of(r, proj, &mut d);
        }
        let _ = write!(
            s,
            "<path class=\"{class}\" data-area=\"{}\" data-value=\"{}\" d=\"{d}\" fill=\"{fill}\" stroke=\"#555\" stroke-width=\"0.6\"><title>{}</title></path>",
            escape(&o.id),
            escape(f.map_or("", |f| f.value.as_str())),
            escape(&f.map_or_else(|| o.name.clone(), |f| f.title.clone())),
        );
    }
    s.push_str("</svg>");
    s
}

/// The legend of a choropleth: one swatch per class with its upper bound, then the
/// hatched swatch for hidden values.
pub fn legend_html(breaks: &[f64], palette: &[&str; 7], digits: usize, hidden: &str) -> String {
    let mut s = String::from("<ul class=\"legend\">");
    for (i, b) in breaks.iter().enumerate() {
        let colour = palette[class_of(*b, breaks)];
        let from = if i == 0 { String::new() } else { format!("{:.digits$} – ", breaks[i - 1]) };
        let _ = write!(s, "<li><span style=\"background:{colour}\"></span>{from}{b:.digits$}</li>");
    }
    let _ = write!(
        s,
        "<li><span style=\"background:repeating-linear-gradient(45deg,#e5e5e5 0 2px,#999 2px 3px)\"></span>{}</li></ul>",
        escape(hidden)
    );
    s
}

/// The fill of a hexagon with no value.
pub const NO_VALUE: &str = "#cfd4da";

/// The residents' map: counts per cell, suppressed cells hatched, NIL outlines on top.
pub fn svg(cells: &[CellCount], outlines_svg: &str, proj: &Projection, breaks: &[u64], labels: &Labels) -> String {
    let hexes: Vec<Hex> = cells
        .iter()
        .map(|c| {
            let value = c.count.map_or_else(|| labels.suppressed.clone(), |n| format!("{n} {}", labels.persons));
            let place = c.nil.as_deref().map(|n| format!("{} {} · ", labels.nil, n)).unwrap_or_default();
            Hex {
                cell: c.cell,
                fill: c.count.map_or(Fill::Hatched, |n| Fill::Colour(PALETTE[class_of(n, breaks)])),
                value: c.count.map(|n| n.to_string()).unwrap_or_default(),
                title: format!("{place}{value} · {}", c.hex_id),
            }
        })
        .collect();
    hexes_svg(&hexes, outlines_svg, proj, &labels.nil)
}

pub use mosaico_domain::i18n::escape;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_are_increasing_quantiles() {
        let counts: Vec<u64> = (1..=70).collect();
        let b = breaks(&counts);
        assert_eq!(b.len(), 7);
        assert_eq!(*b.last().unwrap_or(&0), 70);
        assert!(b.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(class_of(1, &b), 0);
        assert_eq!(class_of(70, &b), 6);
    }

    #[test]
    fn projection_keeps_north_up() {
        let p = Projection::fit((9.0, 45.0, 10.0, 46.0), 100.0);
        let (x, y_north) = p.xy(9.0, 46.0);
        let (_, y_south) = p.xy(9.0, 45.0);
        assert_eq!(x, 0.0);
        assert!(y_north < y_south);
    }
}
