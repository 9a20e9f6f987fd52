//! The territory tables: `areas` (NIL, Municipi, comuni with their outlines) and
//! `cells` (every H3 cell at resolutions 9 and 10 whose centre lies in a comune of
//! the Città Metropolitana, with its comune and, inside Milan, its NIL and municipio).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int32Array, StringArray, UInt8Array, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use geo::{Area as _, InteriorPoint, Simplify};
use h3o::{CellIndex, LatLng, Resolution};
use mosaico_domain::territory::{Area, AreaSet};

use crate::Result;
use crate::reference::Territory;

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

/// The cells whose centre lies inside the bounding box (min lon, min lat, max lon, max lat).
fn cells_in_bbox(bbox: (f64, f64, f64, f64), res: Resolution) -> Vec<CellIndex> {
    let (x0, y0, x1, y1) = bbox;
    let Ok(centre) = LatLng::new((y0 + y1) / 2.0, (x0 + x1) / 2.0) else { return Vec::new() };
    let corner = LatLng::new(y1, x1).map_or(0.0, |c| centre.distance_km(c));
    // Hex rings grow by at least 1.5 edge lengths each.
    let k = (corner / (1.5 * res.edge_length_km())).ceil() as u32 + 1;
    centre
        .to_cell(res)
        .grid_disk_safe(k)
        .filter(|c| {
            let ll = LatLng::from(*c);
            (x0..=x1).contains(&ll.lng()) && (y0..=y1).contains(&ll.lat())
        })
        .collect()
}

/// Maps every cell of the territory at `res` to its comune, municipio and NIL:
/// a cell belongs to the area containing its centre.
pub fn cell_map(t: &Territory, res: Resolution) -> Result<CellIndexMap> {
    let Some(bbox) = union_bbox(t.comuni.areas()) else { return Ok(CellIndexMap::default()) };
    let id = |a: &Area| a.id.parse::<i32>().ok();
    let mut map = HashMap::new();
    for c in cells_in_bbox(bbox, res) {
        let ll = LatLng::from(c);
        let Some(comune) = t.comuni.locate(ll.lng(), ll.lat()) else { continue };
        let (municipio, nil) = if comune.id == mosaico_domain::MILANO {
            (t.municipi.locate(ll.lng(), ll.lat()).and_then(id), t.nil.locate(ll.lng(), ll.lat()).and_then(id))
        } else {
            (None, None)
        };
        map.insert(c, CellPlace { comune: comune.id.clone(), municipio, nil });
    }
    Ok(CellIndexMap(map))
}

fn union_bbox(areas: &[Area]) -> Option<(f64, f64, f64, f64)> {
    areas.iter().map(Area::bbox).reduce(|a, b| (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2), a.3.max(b.3)))
}

/// The `cells` table: `cell`, `hex_id`, `res`, `comune_istat`, `comune_name`,
/// `municipio`, `nil_id`, `nil_name`, sorted by resolution and cell.
pub fn cells_batch(t: &Territory, maps: &[(Resolution, &CellIndexMap)]) -> Result<RecordBatch> {
    let mut rows: Vec<(u8, CellIndex, &CellPlace)> =
        maps.iter().flat_map(|(r, m)| m.0.iter().map(move |(c, p)| (u8::from(*r), *c, p))).collect();
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
        // A NIL belongs to the municipio containing its representative point
        // (a point surely inside it), as the Comune assigns them.
        let best = a.shape.interior_point().and_then(|p| t.municipi.locate(p.x(), p.y())).map(|m| m.id.clone());
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
