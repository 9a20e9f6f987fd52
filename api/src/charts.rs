//! The dashboard's charts, drawn with plotters' SVG backend into strings: lines of new
//! and closed cases, bars of spending against budget, stacked bars of the quotas, and
//! a map of coverage per NIL. Every chart carries a `<title>` and an `aria-label`
//! (its text alternative); hidden values are drawn as a grey `*`, never as zeros.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::map::{self, Projection};
use mosaico_analytics::AreaOutline;

/// Blue, orange, green, grey: series colours readable in print.
const SERIES: [RGBColor; 3] = [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44)];
const HIDDEN: RGBColor = RGBColor(160, 160, 160);

/// Adds the text alternative and an id to the SVG plotters wrote.
fn accessible(svg: String, id: &str, title: &str, desc: &str) -> String {
    let esc = map::escape;
    let Some(end) = svg.find('>') else { return svg };
    let open = svg[..end].replacen(
        "<svg ",
        &format!("<svg id=\"{id}\" class=\"chart\" role=\"img\" aria-label=\"{}\" ", esc(title)),
        1,
    );
    format!("{open}><title>{}</title><desc>{}</desc>{}", esc(title), esc(desc), &svg[end + 1..])
}

/// Texts of a chart.
#[derive(Debug, Clone)]
pub struct Texts {
    /// Title (also the text alternative).
    pub title: String,
    /// A longer description.
    pub desc: String,
    /// Horizontal axis.
    pub x: String,
    /// Vertical axis.
    pub y: String,
    /// Series names.
    pub series: Vec<String>,
}

fn nice_max(x: f64) -> f64 {
    if x <= 0.0 { 1.0 } else { x * 1.1 }
}

/// Lines per month (one per series; `None` is hidden and drawn as a grey `*`).
pub fn lines(id: &str, months: &[String], series: &[Vec<Option<u64>>], t: &Texts) -> String {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (760, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let max = series.iter().flatten().flatten().copied().max().unwrap_or(0) as f64;
        let n = months.len().max(1);
        let chart = ChartBuilder::on(&root)
            .caption(&t.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..nice_max(max));
        let Ok(mut chart) = chart else { return String::new() };
        let labels = months.to_vec();
        let _ = chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(t.x.as_str())
            .y_desc(t.y.as_str())
            .x_labels(n.min(12))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw();
        for (k, values) in series.iter().enumerate() {
            let colour = SERIES[k % SERIES.len()];
            let pts: Vec<(f64, f64)> =
                values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as f64, v as f64))).collect();
            let name = t.series.get(k).cloned().unwrap_or_default();
            if let Ok(a) = chart.draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2))) {
                a.label(name).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
            }
            let _ = chart.draw_series(pts.iter().map(|&(x, y)| Circle::new((x, y), 3, colour.filled())));
            let _ = chart.draw_series(
                values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_none())
                    .map(|(i, _)| Text::new("*", (i as f64, 0.0), ("sans-serif", 14).into_font().color(&HIDDEN))),
            );
        }
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw();
        let _ = root.present();
    }
    accessible(s, id, &t.title, &t.desc)
}

/// One bar group: a label and stacked values (`None`: hidden), with an optional mark
/// drawn across it (the budget).
#[derive(Debug, Clone)]
pub struct Bar {
    /// The category.
    pub label: String,
    /// Stacked values, bottom first; `None` when hidden.
    pub values: Option<Vec<f64>>,
    /// A reference drawn as a black line across the bar.
    pub mark: Option<f64>,
}

/// Bars (stacked when a bar has several values), with the reference marked.
pub fn bars(id: &str, bars: &[Bar], t: &Texts, mark_name: Option<&str>) -> String {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (760, 340)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let max = bars
            .iter()
            .map(|b| b.values.as_ref().map_or(0.0, |v| v.iter().sum::<f64>()).max(b.mark.unwrap_or(0.0)))
            .fold(0.0, f64::max);
        let n = bars.len().max(1);
        let chart = ChartBuilder::on(&root)
            .caption(&t.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..nice_max(max));
        let Ok(mut chart) = chart else { return String::new() };
        let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
        let _ = chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(t.x.as_str())
            .y_desc(t.y.as_str())
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| thousands_short(*y))
            .draw();
        let stacks = bars.iter().map(|b| b.values.as_ref().map_or(0, Vec::len)).max().unwrap_or(0);
        for k in 0..stacks {
            let colour = SERIES[k % SERIES.len()];
            let rects: Vec<Rectangle<(f64, f64)>> = bars
                .iter()
                .enumerate()
                .filter_map(|(i, b)| {
                    let v = b.values.as_ref()?;
                    let lo: f64 = v.iter().take(k).sum();
                    let hi = lo + v.get(k).copied().unwrap_or(0.0);
                    Some(Rectangle::new([(i as f64 - 0.35, lo), (i as f64 + 0.35, hi)], colour.filled()))
                })
                .collect();
            if let Ok(a) = chart.draw_series(rects)
                && let Some(name) = t.series.get(k).cloned()
            {
                a.label(name).legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
            }
        }
        let marks: Vec<PathElement<(f64, f64)>> = bars
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                b.mark
                    .map(|m| PathElement::new(vec![(i as f64 - 0.45, m), (i as f64 + 0.45, m)], BLACK.stroke_width(3)))
            })
            .collect();
        if !marks.is_empty()
            && let Ok(a) = chart.draw_series(marks)
            && let Some(name) = mark_name
        {
            a.label(name).legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(3)));
        }
        let _ = chart.draw_series(
            bars.iter()
                .enumerate()
                .filter(|(_, b)| b.values.is_none())
                .map(|(i, _)| Text::new("*", (i as f64, max * 0.02), ("sans-serif", 20).into_font().color(&HIDDEN))),
        );
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw();
        let _ = root.present();
    }
    accessible(s, id, &t.title, &t.desc)
}

/// 1234567 → "1,2 M", 12345 → "12 k".
fn thousands_short(y: f64) -> String {
    if y.abs() >= 1e6 {
        format!("{:.1} M", y / 1e6).replace('.', ",")
    } else if y.abs() >= 1e3 {
        format!("{:.0} k", y / 1e3)
    } else {
        format!("{y:.0}")
    }
}

/// One NIL on the map.
#[derive(Debug, Clone)]
pub struct Area {
    /// NIL id.
    pub id: String,
    /// The value (`None`: hidden, drawn grey with a `*`).
    pub value: Option<f64>,
    /// Whether there is any value at all (no residents: white).
    pub present: bool,
}

/// Texts of the map's legend.
#[derive(Debug, Clone)]
pub struct MapTexts {
    /// Title.
    pub title: String,
    /// Description.
    pub desc: String,
    /// "oscurato".
    pub hidden: String,
    /// "nessun residente".
    pub none: String,
}

/// NIL polygons coloured by value (quantile classes of the shown values), hidden NIL
/// grey with a `*`, and a legend.
pub fn nil_map(id: &str, outlines: &[AreaOutline], areas: &[Area], t: &MapTexts) -> String {
    let Some(bbox) = map::bbox(outlines) else { return String::new() };
    let width = 560.0;
    let proj = Projection::fit(bbox, width);
    let (w, h) = (width as u32 + 200, proj.height as u32 + 40);
    let shown: Vec<f64> = areas.iter().filter_map(|a| a.value).collect();
    let breaks = map::breaks(&shown);
    let colour = |hex: &str| {
        let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
        RGBColor((v >> 16) as u8, (v >> 8) as u8, v as u8)
    };
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let _ = root.draw(&Text::new(t.title.clone(), (10, 8), ("sans-serif", 16)));
        let by_id: std::collections::HashMap<&str, &Area> = areas.iter().map(|a| (a.id.as_str(), a)).collect();
        for o in outlines {
            let area = by_id.get(o.id.as_str());
            let fill = match area {
                Some(Area { value: Some(v), .. }) => colour(map::PALETTE[map::class_of(*v, &breaks)]),
                Some(Area { present: true, .. }) => colour("#d0d0d0"),
                _ => WHITE,
            };
            let rings = map::rings(&o.geojson);
            let mut centre = (0.0, 0.0, 0usize);
            for ring in &rings {
                let pts: Vec<(i32, i32)> = ring
                    .iter()
                    .map(|&(lng, lat)| {
                        let (x, y) = proj.xy(lng, lat);
                        centre = (centre.0 + x, centre.1 + y, centre.2 + 1);
                        (x as i32, y as i32 + 30)
                    })
                    .collect();
                let _ = root.draw(&Polygon::new(pts.clone(), fill.filled()));
                let mut closed = pts;
                if let Some(first) = closed.first().copied() {
                    closed.push(first);
                }
                let _ = root.draw(&PathElement::new(closed, RGBColor(80, 80, 80).stroke_width(1)));
            }
            if matches!(area, Some(Area { value: None, present: true, .. })) && centre.2 > 0 {
                let (x, y) = (centre.0 / centre.2 as f64, centre.1 / centre.2 as f64 + 30.0);
                let style = ("sans-serif", 14).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center));
                let _ = root.draw(&Text::new("*", (x as i32, y as i32), style));
            }
        }
        // The legend.
        let x0 = width as i32 + 20;
        let mut y = 40;
        let mut lo = 0.0;
        for b in &breaks {
            let c = colour(map::PALETTE[map::class_of(*b, &breaks)]);
            let _ = root.draw(&Rectangle::new([(x0, y), (x0 + 16, y + 12)], c.filled()));
            let label = format!("{:.1}–{:.1}", lo, b).replace('.', ",");
            let _ = root.draw(&Text::new(label, (x0 + 22, y), ("sans-serif", 12)));
            lo = *b;
            y += 18;
        }
        let _ = root.draw(&Rectangle::new([(x0, y), (x0 + 16, y + 12)], colour("#d0d0d0").filled()));
        let _ = root.draw(&Text::new(format!("* {}", t.hidden), (x0 + 22, y), ("sans-serif", 12)));
        y += 18;
        let _ = root.draw(&Rectangle::new([(x0, y), (x0 + 16, y + 12)], BLACK.stroke_width(1)));
        let _ = root.draw(&Text::new(t.none.clone(), (x0 + 22, y), ("sans-serif", 12)));
        let _ = root.present();
    }
    accessible(s, id, &t.title, &t.desc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts() -> Texts {
        Texts {
            title: "Casi nuovi e chiusi".into(),
            desc: "due serie".into(),
            x: "Mese".into(),
            y: "Casi".into(),
            series: vec!["Nuovi".into(), "Chiusi".into()],
        }
    }

    #[test]
    fn charts_are_svg_with_a_title_and_hidden_values_starred() {
        let svg = lines(
            "flows",
            &["2025-01".into(), "2025-02".into()],
            &[vec![Some(12), None], vec![Some(7), Some(9)]],
            &texts(),
        );
        assert!(
            svg.starts_with("<svg id=\"flows\" class=\"chart\" role=\"img\" aria-label=\"Casi nuovi e chiusi\""),
            "{svg:.200}"
        );
        assert!(
            svg.contains("<title>Casi nuovi e chiusi</title>") && svg.contains(">\nMese\n<") && svg.contains(">\n*\n<"),
            "{svg}"
        );
        let b = bars(
            "spend",
            &[
                Bar { label: "Anziani".into(), values: Some(vec![10.0, 5.0]), mark: Some(20.0) },
                Bar { label: "Disabili".into(), values: None, mark: None },
            ],
            &texts(),
            Some("Budget"),
        );
        assert!(b.contains("<rect") && b.contains(">\nBudget\n<") && b.contains(">\n*\n<"));
    }
}
