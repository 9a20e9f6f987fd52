//! The territory tables: `areas` (NIL, Municipi, comuni with their outlines) and
//! `cells` (every H3 cell at resolutions 9 and 10 whose centre lies in a comune of
//! the Città Metropolitana, with its comune and, inside Milan, its NIL and municipio).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int32Array, StringArray, UInt64Array, UInt8Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use geo::{Area as _, Simplify};
use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{CellIndex, Resolution};
use mosaico_domain::territory::{Area, AreaSet};

use crate::reference::Territory;
use crate::{Error, Result};

/// The resolutions the `cells` table covers.
pub const RESOLUTIONS: [Resolution; 2] = [Resolution::Nine, Resolution::Ten];

/// Where one cell belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellPlace {
    /// ISTAT code of the comune.
    pub comune: String,
    /// Municipio (Milan only).
    pub municipio: Option<i32>,
    /// NIL PGT 2030 id (Milan only).
    pub nil: Option<i32>,
}

/// Cell → place, at one resolution.
#[derive(Debug, Clone, Default)]
pub struct CellIndexMap(pub HashMap<CellIndex, CellPlace>);

impl CellIndexMap {
    /// The place of a cell, if it lies in the territory.
    pub fn get(&self, c: CellIndex) -> Option<&CellPlace> {
        self.0.get(&c)
    }
}

/// The cells whose centre lies inside an area.
fn tile(area: &Area, res: Resolution) -> Result<Vec<CellIndex>> {
    let mut tiler = TilerBuilder::new(res).containment_mode(ContainmentMode::ContainsCentroid).build();
    for poly in &area.shape {
        tiler.add(poly.clone()).map_err(|e| Error::Source {
            path: std::path::PathBuf::from(&area.name),
            message: format!("area {} ({}) has an invalid polygon: {e}", area.id, area.name),
        })?;
    }
    Ok(tiler.into_coverage().collect())
}

fn assign(set: &AreaSet, res: Resolution) -> Result<HashMap<CellIndex, usize>> {
    let mut out = HashMap::new();
    for (i, a) in set.areas().iter().enumerate() {
        for c in tile(a, res)? {
            out.entry(c).or_insert(i);
        }
    }
    Ok(out)
}

/// Maps every cell of the territory at `res` to its comune, municipio and NIL.
pub fn cell_map(t: &Territory, res: Resolution) -> Result<CellIndexMap> {
    let comuni = assign(&t.comuni, res)?;
    let nil = assign(&t.nil, res)?;
    let municipi = assign(&t.municipi, res)?;
    let id = |set: &AreaSet, i: usize| set.areas()[i].id.parse::<i32>().ok();
    let map = comuni
        .into_iter()
        .map(|(c, ci)| {
            let place = CellPlace {
                comune: t.comuni.areas()[ci].id.clone(),
                municipio: municipi.get(&c).and_then(|&i| id(&t.municipi, i)),
                nil: nil.get(&c).and_then(|&i| id(&t.nil, i)),
            };
            (c, place)
        })
        .collect();
    Ok(CellIndexMap(map))
}

/// The `cells` table: `cell`, `hex_id`, `res`, `comune_istat`, `comune_name`,
/// `municipio`, `nil_id`, `nil_name`, sorted by resolution and cell.
pub fn cells_batch(t: &Territory, maps: &[(Resolution, &CellIndexMap)]) -> Result<RecordBatch> {
    let mut rows: Vec<(u8, CellIndex, &CellPlace)> = maps
        .iter()
        .flat_map(|(r, m)| m.0.iter().map(move |(c, p)| (u8::from(*r), *c, p)))
        .collect();
    rows.sort_by_key(|(r, c, _)| (*r, u64::from(*c)));
    let name = |set: &AreaSet, id: &str| set.get(id).map(|a| a.name.clone());
    let schema = Arc::new(Schema::new(vec![
        Field::new("cell", DataType::UInt64, false),
        Field::new("hex_id", DataType::Utf8, false),
        Field::new("res", DataType::UInt8, false),
        Field::new("comune_istat", DataType::Utf8, false),
        Field::new("comune_name", DataType::Utf8, true),
        Field::new("municipio", DataType::Int32, true),
        Field::new("nil_id", DataType::Int32, true),
        Field::new("nil_name", DataType::Utf8, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| u64::from(r.1)))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1.to_string()))),
        Arc::new(UInt8Array::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2.comune.clone()))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| name(&t.comuni, &r.2.comune)))),
        Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.2.municipio))),
        Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.2.nil))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.2.nil.and_then(|n| name(&t.nil, &n.to_string()))))),
    ];
    Ok(RecordBatch::try_new(schema, cols)?)
}

/// Outline as GeoJSON geometry, simplified to about a metre.
fn geojson(area: &Area) -> String {
    let simple = area.shape.simplify(1e-5);
    let polys: Vec<String> = simple
        .iter()
        .map(|p| {
            let rings: Vec<String> = std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(|r| {
                    let pts: Vec<String> = r.coords().map(|c| format!("[{:.6},{:.6}]", c.x, c.y)).collect();
                    format!("[{}]", pts.join(","))
                })
                .collect();
            format!("[{}]", rings.join(","))
        })
        .collect();
    format!("{{\"type\":\"MultiPolygon\",\"coordinates\":[{}]}}", polys.join(","))
}

/// Approximate area in km² of a lon/lat shape (equirectangular at its latitude).
fn area_km2(area: &Area) -> f64 {
    let (_, y0, _, y1) = area.bbox();
    let lat = ((y0 + y1) / 2.0).to_radians();
    let deg2 = area.shape.unsigned_area();
    deg2 * 111.32 * 111.32 * lat.cos()
}

/// The `areas` table: `kind` (`nil`, `municipio`, `comune`), `id`, `name`,
/// `parent_id` (a NIL's municipio, a municipio's comune), `area_km2`, `geojson`.
pub fn areas_batch(t: &Territory) -> Result<RecordBatch> {
    let mut kind = Vec::new();
    let mut id = Vec::new();
    let mut name = Vec::new();
    let mut parent: Vec<Option<String>> = Vec::new();
    let mut km2 = Vec::new();
    let mut geo = Vec::new();
    for a in t.nil.areas() {
        // A NIL belongs to the municipio that holds most of its cells.
        let cells = tile(a, Resolution::Ten)?;
        let mut votes: HashMap<&str, usize> = HashMap::new();
        for c in &cells {
            let ll = h3o::LatLng::from(*c);
            if let Some(m) = t.municipi.locate(ll.lng(), ll.lat()) {
                *votes.entry(m.id.as_str()).or_default() += 1;
            }
        }
        let best = votes.into_iter().max_by_key(|(k, v)| (*v, std::cmp::Reverse(*k))).map(|(k, _)| k.to_owned());
        kind.push("nil");
        id.push(a.id.clone());
        name.push(a.name.clone());
        parent.push(best);
        km2.push(area_km2(a));
        geo.push(geojson(a));
    }
    for a in t.municipi.areas() {
        kind.push("municipio");
        id.push(a.id.clone());
        name.push(format!("Municipio {}", a.id));
        parent.push(Some(mosaico_domain::MILANO.to_owned()));
        km2.push(area_km2(a));
        geo.push(geojson(a));
    }
    for a in t.comuni.areas() {
        kind.push("comune");
        id.push(a.id.clone());
        name.push(a.name.clone());
        parent.push(None);
        km2.push(area_km2(a));
        geo.push(geojson(a));
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("parent_id", DataType::Utf8, true),
        Field::new("area_km2", DataType::Float64, false),
        Field::new("geojson", DataType::Utf8, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(kind)),
        Arc::new(StringArray::from(id)),
        Arc::new(StringArray::from(name)),
        Arc::new(StringArray::from(parent)),
        Arc::new(Float64Array::from(km2)),
        Arc::new(StringArray::from(geo)),
    ];
    Ok(RecordBatch::try_new(schema, cols)?)
}
