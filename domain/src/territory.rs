//! The territory: areas read from GeoJSON, strictly as WGS84 lon/lat, and a
//! point-in-polygon index over them.
//!
//! A file in a projected CRS (such as Milan's Municipi in RDN2008 / UTM 32N) is
//! refused with an error naming the file and the problem: either its `crs` member
//! names a projected system, or its coordinates are out of the lon/lat range.

use std::path::{Path, PathBuf};

use geo::{BoundingRect, Contains, Coord, LineString, MultiPolygon, Point, Polygon, Rect};
use serde_json::Value;

/// Why a boundary file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TerritoryError {
    /// The file could not be opened.
    #[error("{path}: cannot read the file: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{path}: not valid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// The JSON is not a usable GeoJSON FeatureCollection.
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        message: String,
    },
    /// The file is not in WGS84 lon/lat.
    #[error(
        "{path}: not WGS84 longitude/latitude: {message}; reproject it to EPSG:4326 (e.g. `ogr2ogr -t_srs EPSG:4326`)"
    )]
    NotWgs84 {
        /// The file.
        path: PathBuf,
        /// The evidence.
        message: String,
    },
}

/// One area: an id, a name and its (multi)polygon in lon/lat.
#[derive(Debug, Clone)]
pub struct Area {
    /// The area's id as a string (e.g. `"1"` for NIL 1, `"015146"` for Milano).
    pub id: String,
    /// The area's name (e.g. `"DUOMO"`).
    pub name: String,
    /// Outline in lon/lat degrees.
    pub shape: MultiPolygon<f64>,
    bbox: Rect<f64>,
}

impl Area {
    /// Builds an area, computing its bounding box.
    pub fn new(id: String, name: String, shape: MultiPolygon<f64>) -> Self {
        let bbox =
            shape.bounding_rect().unwrap_or_else(|| Rect::new(Coord { x: 0.0, y: 0.0 }, Coord { x: 0.0, y: 0.0 }));
        Self { id, name, shape, bbox }
    }

    /// Whether the point (lon, lat) lies inside the area.
    pub fn contains(&self, lng: f64, lat: f64) -> bool {
        let (min, max) = (self.bbox.min(), self.bbox.max());
        lng >= min.x && lng <= max.x && lat >= min.y && lat <= max.y && self.shape.contains(&Point::new(lng, lat))
    }

    /// The bounding box (min lon, min lat, max lon, max lat).
    pub fn bbox(&self) -> (f64, f64, f64, f64) {
        (self.bbox.min().x, self.bbox.min().y, self.bbox.max().x, self.bbox.max().y)
    }
}

/// A set of areas of one kind with a point-in-polygon lookup.
#[derive(Debug, Clone)]
pub struct AreaSet {
    areas: Vec<Area>,
}

impl AreaSet {
    /// Wraps areas.
    pub fn new(areas: Vec<Area>) -> Self {
        Self { areas }
    }

    /// Reads a GeoJSON FeatureCollection, taking the id and name from the given
    /// properties (`name_prop` may be `None` when the file has no names).
    pub fn from_geojson(path: &Path, id_prop: &str, name_prop: Option<&str>) -> Result<Self, TerritoryError> {
        read_geojson(path, id_prop, name_prop).map(Self::new)
    }

    /// The area containing (lon, lat), if any. Boundaries shared by two areas go to
    /// the first in file order.
    pub fn locate(&self, lng: f64, lat: f64) -> Option<&Area> {
        self.areas.iter().find(|a| a.contains(lng, lat))
    }

    /// The area with this id.
    pub fn get(&self, id: &str) -> Option<&Area> {
        self.areas.iter().find(|a| a.id == id)
    }

    /// All areas, in file order.
    pub fn areas(&self) -> &[Area] {
        &self.areas
    }

    /// The number of areas.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// Whether there are no areas.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }
}

fn read_geojson(path: &Path, id_prop: &str, name_prop: Option<&str>) -> Result<Vec<Area>, TerritoryError> {
    let text = std::fs::read_to_string(path).map_err(|source| TerritoryError::Io { path: path.to_owned(), source })?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|source| TerritoryError::Json { path: path.to_owned(), source })?;
    let malformed = |message: String| TerritoryError::Malformed { path: path.to_owned(), message };
    if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(malformed("expected a GeoJSON FeatureCollection at the top level".into()));
    }
    if let Some(crs) = doc.pointer("/crs/properties/name").and_then(Value::as_str) {
        let wgs84 = ["CRS84", "EPSG:4326", "EPSG::4326"].iter().any(|s| crs.to_ascii_uppercase().ends_with(s));
        if !wgs84 {
            return Err(TerritoryError::NotWgs84 {
                path: path.to_owned(),
                message: format!("the file declares CRS '{crs}'"),
            });
        }
    }
    let features = doc
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("the FeatureCollection has no 'features' array".into()))?;
    if features.is_empty() {
        return Err(malformed("the FeatureCollection has no features".into()));
    }
    let mut areas = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let at = format!("feature {i}");
        let props = f.get("properties").unwrap_or(&Value::Null);
        let id = match props.get(id_prop) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(malformed(format!("{at}: property '{id_prop}' is missing or not a string/number"))),
        };
        let name = match name_prop {
            Some(p) => props
                .get(p)
                .and_then(Value::as_str)
                .ok_or_else(|| malformed(format!("{at} (id {id}): property '{p}' is missing or not a string")))?
                .to_owned(),
            None => id.clone(),
        };
        let geom = f.get("geometry").ok_or_else(|| malformed(format!("{at} (id {id}): no geometry")))?;
        let shape = parse_geometry(geom).map_err(|m| malformed(format!("{at} (id {id}): {m}")))?;
        if let Some(c) = shape.iter().flat_map(|p| p.exterior().coords()).find(|c| !lon_lat(c)) {
            return Err(TerritoryError::NotWgs84 {
                path: path.to_owned(),
                message: format!(
                    "{at} (id {id}) has coordinate ({}, {}), outside longitude -180..180 / latitude -90..90; it looks projected (metres)",
                    c.x, c.y
                ),
            });
        }
        areas.push(Area::new(id, name, shape));
    }
    Ok(areas)
}

fn lon_lat(c: &Coord<f64>) -> bool {
    (-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y)
}

fn parse_geometry(geom: &Value) -> Result<MultiPolygon<f64>, String> {
    let kind = geom.get("type").and_then(Value::as_str).unwrap_or("");
    let coords = geom.get("coordinates").ok_or("geometry has no 'coordinates'")?;
    match kind {
        "Polygon" => Ok(MultiPolygon::new(vec![parse_polygon(coords)?])),
        "MultiPolygon" => {
            let polys = coords.as_array().ok_or("MultiPolygon coordinates are not an array")?;
            Ok(MultiPolygon::new(polys.iter().map(parse_polygon).collect::<Result<_, _>>()?))
        }
        other => Err(format!("geometry type '{other}' is not Polygon or MultiPolygon")),
    }
}

fn parse_polygon(v: &Value) -> Result<Polygon<f64>, String> {
    let rings = v.as_array().ok_or("polygon is not an array of rings")?;
    let mut rings = rings.iter().map(parse_ring);
    let exterior = rings.next().ok_or("polygon has no rings")??;
    let interiors = rings.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, interiors))
}

fn parse_ring(v: &Value) -> Result<LineString<f64>, String> {
    let pts = v.as_array().ok_or("ring is not an array of positions")?;
    if pts.len() < 4 {
        return Err(format!("ring has {} positions, a closed ring needs at least 4", pts.len()));
    }
    pts.iter()
        .map(|p| {
            let xy = p.as_array().filter(|a| a.len() >= 2).ok_or("position is not [lon, lat]")?;
            match (xy[0].as_f64(), xy[1].as_f64()) {
                (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Ok(Coord { x, y }),
                _ => Err("position has a non-numeric coordinate".to_owned()),
            }
        })
        .collect::<Result<Vec<_>, String>>()
        .map(LineString::new)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".geojson").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    const SQUARE: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ID":7,"N":"Sq"},
        "geometry":{"type":"Polygon","coordinates":[[[9,45],[10,45],[10,46],[9,46],[9,45]]]}}]}"#;

    #[test]
    fn reads_and_locates() {
        let f = write(SQUARE);
        let set = AreaSet::from_geojson(f.path(), "ID", Some("N")).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.locate(9.5, 45.5).unwrap().id, "7");
        assert!(set.locate(10.5, 45.5).is_none());
    }

    #[test]
    fn projected_coordinates_are_refused() {
        let f = write(&SQUARE.replace(
            "[9,45],[10,45],[10,46],[9,46],[9,45]",
            "[515194,5036236],[515289,5036236],[515289,5037236],[515194,5036236]",
        ));
        let err = AreaSet::from_geojson(f.path(), "ID", Some("N")).unwrap_err();
        assert!(matches!(err, TerritoryError::NotWgs84 { .. }), "{err}");
        assert!(err.to_string().contains("feature 0"), "{err}");
    }

    #[test]
    fn declared_projected_crs_is_refused() {
        let f = write(&SQUARE.replace(
            r#""type":"FeatureCollection","#,
            r#""type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32632"}},"#,
        ));
        let err = AreaSet::from_geojson(f.path(), "ID", Some("N")).unwrap_err();
        assert!(err.to_string().contains("EPSG::32632"), "{err}");
    }

    #[test]
    fn malformed_files_name_the_problem() {
        let missing = AreaSet::from_geojson(Path::new("/nonexistent/x.geojson"), "ID", None).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/x.geojson"));
        let f = write("{not json");
        assert!(matches!(AreaSet::from_geojson(f.path(), "ID", None).unwrap_err(), TerritoryError::Json { .. }));
        let f = write(&SQUARE.replace("\"ID\":7,", ""));
        let err = AreaSet::from_geojson(f.path(), "ID", None).unwrap_err();
        assert!(err.to_string().contains("property 'ID'"), "{err}");
    }
}
