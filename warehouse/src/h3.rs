//! H3 SQL functions, built on h3o, registered in every warehouse session.
//!
//! | function | returns |
//! |---|---|
//! | `h3_cell(lat, lng, res)` | the cell (UInt64) containing the point at resolution `res` |
//! | `h3_parent(cell, res)` | the ancestor of `cell` at the coarser resolution `res` |
//! | `h3_to_string(cell)` / `h3_from_string(text)` | the hexadecimal form (`8a1f99cdd4effff`) and back |
//! | `h3_grid_disk(cell, k)` | the cells within `k` steps, as a list |
//! | `h3_grid_distance(a, b)` | steps between two cells of one resolution (NULL if H3 cannot tell) |
//! | `h3_cell_area_km2(cell)` | the cell's exact area in km² |
//! | `h3_boundary_geojson(cell)` | the cell's outline as a GeoJSON Polygon |
//! | `h3_resolution(cell)` | the cell's resolution |
//!
//! NULL in gives NULL out. Out-of-range resolutions, invalid cells and strings
//! are errors that name the function and the value.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, ListBuilder, StringArray, UInt64Array, UInt64Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, UInt64Type};
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use h3o::{CellIndex, LatLng, Resolution};

/// The H3 function set, one entry per SQL function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Cell,
    Parent,
    ToString,
    FromString,
    GridDisk,
    GridDistance,
    AreaKm2,
    BoundaryGeojson,
    Resolution,
}

/// The kinds of argument the functions take; each is coerced to one Arrow type.
#[derive(Debug, Clone, Copy)]
enum Arg {
    Cell,
    Int,
    Float,
    Text,
}

impl Kind {
    const ALL: [Kind; 9] = [
        Kind::Cell,
        Kind::Parent,
        Kind::ToString,
        Kind::FromString,
        Kind::GridDisk,
        Kind::GridDistance,
        Kind::AreaKm2,
        Kind::BoundaryGeojson,
        Kind::Resolution,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Cell => "h3_cell",
            Kind::Parent => "h3_parent",
            Kind::ToString => "h3_to_string",
            Kind::FromString => "h3_from_string",
            Kind::GridDisk => "h3_grid_disk",
            Kind::GridDistance => "h3_grid_distance",
            Kind::AreaKm2 => "h3_cell_area_km2",
            Kind::BoundaryGeojson => "h3_boundary_geojson",
            Kind::Resolution => "h3_resolution",
        }
    }

    fn args(self) -> &'static [Arg] {
        match self {
            Kind::Cell => &[Arg::Float, Arg::Float, Arg::Int],
            Kind::Parent | Kind::GridDisk => &[Arg::Cell, Arg::Int],
            Kind::ToString | Kind::AreaKm2 | Kind::BoundaryGeojson | Kind::Resolution => &[Arg::Cell],
            Kind::FromString => &[Arg::Text],
            Kind::GridDistance => &[Arg::Cell, Arg::Cell],
        }
    }

    fn return_type(self) -> DataType {
        match self {
            Kind::Cell | Kind::Parent | Kind::FromString => DataType::UInt64,
            Kind::ToString | Kind::BoundaryGeojson => DataType::Utf8,
            Kind::GridDisk => DataType::List(Arc::new(Field::new("item", DataType::UInt64, true))),
            Kind::GridDistance | Kind::Resolution => DataType::Int64,
            Kind::AreaKm2 => DataType::Float64,
        }
    }
}

/// One H3 SQL function.
#[derive(Debug, PartialEq, Eq, Hash)]
struct H3Function {
    kind: Kind,
    signature: Signature,
}

/// All H3 functions, ready to register in a DataFusion session.
pub fn functions() -> Vec<ScalarUDF> {
    Kind::ALL
        .into_iter()
        .map(|kind| ScalarUDF::from(H3Function { kind, signature: Signature::user_defined(Volatility::Immutable) }))
        .collect()
}

impl ScalarUDFImpl for H3Function {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.kind.return_type())
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let want = self.kind.args();
        if arg_types.len() != want.len() {
            return plan_err!("{} takes {} argument(s), got {}", self.name(), want.len(), arg_types.len());
        }
        want.iter()
            .zip(arg_types)
            .map(|(arg, got)| {
                let ok = match arg {
                    Arg::Cell | Arg::Int | Arg::Float => got.is_numeric() || got.is_null(),
                    Arg::Text => {
                        matches!(got, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null)
                    }
                };
                if !ok {
                    return plan_err!("{}: an argument of type {got} cannot be used here", self.name());
                }
                Ok(match arg {
                    Arg::Cell => DataType::UInt64,
                    Arg::Int => DataType::Int64,
                    Arg::Float => DataType::Float64,
                    Arg::Text => DataType::Utf8,
                })
            })
            .collect()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out = evaluate(self.kind, &arrays)?;
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

fn resolution(name: &str, value: i64) -> Result<Resolution> {
    u8::try_from(value)
        .ok()
        .and_then(|r| Resolution::try_from(r).ok())
        .ok_or_else(|| DataFusionError::Execution(format!("{name}: resolution {value} is not between 0 and 15")))
}

fn cell(name: &str, value: u64) -> Result<CellIndex> {
    CellIndex::try_from(value)
        .map_err(|_| DataFusionError::Execution(format!("{name}: {value} ({value:x}) is not a valid H3 cell")))
}

fn evaluate(kind: Kind, a: &[ArrayRef]) -> Result<ArrayRef> {
    let name = kind.name();
    let out: ArrayRef = match kind {
        Kind::Cell => {
            let (lat, lng, res) = (
                a[0].as_primitive::<Float64Type>(),
                a[1].as_primitive::<Float64Type>(),
                a[2].as_primitive::<Int64Type>(),
            );
            let mut b = UInt64Builder::with_capacity(lat.len());
            for i in 0..lat.len() {
                if lat.is_null(i) || lng.is_null(i) || res.is_null(i) {
                    b.append_null();
                    continue;
                }
                let r = resolution(name, res.value(i))?;
                let ll = LatLng::new(lat.value(i), lng.value(i)).map_err(|e| {
                    DataFusionError::Execution(format!(
                        "{name}: ({}, {}) is not a valid latitude/longitude: {e}",
                        lat.value(i),
                        lng.value(i)
                    ))
                })?;
                b.append_value(u64::from(ll.to_cell(r)));
            }
            Arc::new(b.finish())
        }
        Kind::Parent => {
            let (cells, res) = (a[0].as_primitive::<UInt64Type>(), a[1].as_primitive::<Int64Type>());
            let mut b = UInt64Builder::with_capacity(cells.len());
            // Rows often repeat a cell (members of a household share a home): the last
            // input and its parent are kept, sparing the cell's validation.
            let mut last: Option<(u64, i64, u64)> = None;
            for i in 0..cells.len() {
                if cells.is_null(i) || res.is_null(i) {
                    b.append_null();
                    continue;
                }
                let (v, rv) = (cells.value(i), res.value(i));
                if let Some((lv, lr, lp)) = last
                    && lv == v
                    && lr == rv
                {
                    b.append_value(lp);
                    continue;
                }
                let c = cell(name, v)?;
                let r = resolution(name, rv)?;
                match c.parent(r) {
                    Some(p) => {
                        last = Some((v, rv, u64::from(p)));
                        b.append_value(u64::from(p));
                    }
                    None => {
                        return exec_err!(
                            "{name}: resolution {} is finer than the cell's resolution {}",
                            res.value(i),
                            u8::from(c.resolution())
                        );
                    }
                }
            }
            Arc::new(b.finish())
        }
        Kind::ToString => {
            let cells = a[0].as_primitive::<UInt64Type>();
            let v = cells
                .iter()
                .map(|c| c.map(|c| cell(name, c).map(|c| c.to_string())).transpose())
                .collect::<Result<StringArray>>()?;
            Arc::new(v)
        }
        Kind::FromString => {
            let text = a[0].as_string::<i32>();
            let v = text
                .iter()
                .map(|s| {
                    s.map(|s| {
                        s.trim().parse::<CellIndex>().map(u64::from).map_err(|_| {
                            DataFusionError::Execution(format!(
                                "{name}: '{s}' is not an H3 cell (expected hexadecimal such as 8a1f99cdd4effff)"
                            ))
                        })
                    })
                    .transpose()
                })
                .collect::<Result<UInt64Array>>()?;
            Arc::new(v)
        }
        Kind::GridDisk => {
            let (cells, k) = (a[0].as_primitive::<UInt64Type>(), a[1].as_primitive::<Int64Type>());
            let mut b = ListBuilder::new(UInt64Builder::new());
            for i in 0..cells.len() {
                if cells.is_null(i) || k.is_null(i) {
                    b.append_null();
                    continue;
                }
                let c = cell(name, cells.value(i))?;
                let k = u32::try_from(k.value(i)).ok().filter(|k| *k <= 1000).ok_or_else(|| {
                    DataFusionError::Execution(format!("{name}: k = {} is not between 0 and 1000", k.value(i)))
                })?;
                let mut disk: Vec<CellIndex> = c.grid_disk(k);
                disk.sort_unstable();
                b.values().append_slice(&disk.into_iter().map(u64::from).collect::<Vec<_>>());
                b.append(true);
            }
            Arc::new(b.finish())
        }
        Kind::GridDistance => {
            let (x, y) = (a[0].as_primitive::<UInt64Type>(), a[1].as_primitive::<UInt64Type>());
            let mut v = Vec::with_capacity(x.len());
            for i in 0..x.len() {
                if x.is_null(i) || y.is_null(i) {
                    v.push(None);
                    continue;
                }
                let (p, q) = (cell(name, x.value(i))?, cell(name, y.value(i))?);
                v.push(p.grid_distance(q).ok().map(i64::from));
            }
            Arc::new(Int64Array::from(v))
        }
        Kind::AreaKm2 => {
            let cells = a[0].as_primitive::<UInt64Type>();
            let v = cells
                .iter()
                .map(|c| c.map(|c| cell(name, c).map(CellIndex::area_km2)).transpose())
                .collect::<Result<Float64Array>>()?;
            Arc::new(v)
        }
        Kind::BoundaryGeojson => {
            let cells = a[0].as_primitive::<UInt64Type>();
            let v = cells
                .iter()
                .map(|c| c.map(|c| cell(name, c).map(boundary_geojson)).transpose())
                .collect::<Result<StringArray>>()?;
            Arc::new(v)
        }
        Kind::Resolution => {
            let cells = a[0].as_primitive::<UInt64Type>();
            let v = cells
                .iter()
                .map(|c| c.map(|c| cell(name, c).map(|c| i64::from(u8::from(c.resolution())))).transpose())
                .collect::<Result<Int64Array>>()?;
            Arc::new(v)
        }
    };
    Ok(out)
}

/// The outline of a cell as a GeoJSON Polygon (lon/lat, closed ring, 7 decimals).
pub fn boundary_geojson(c: CellIndex) -> String {
    let mut pts: Vec<String> = c.boundary().iter().map(|ll| format!("[{:.7},{:.7}]", ll.lng(), ll.lat())).collect();
    if let Some(first) = pts.first().cloned() {
        pts.push(first);
    }
    format!("{{\"type\":\"Polygon\",\"coordinates\":[[{}]]}}", pts.join(","))
}
