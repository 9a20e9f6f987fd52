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
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, UInt64Type};
use datafusion::common::{DataFusionError, Result, ScalarValue, plan_err};
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
                    // Cells stored as Delta `long` are read as they are (see `as_cells`).
                    Arg::Cell if *got == DataType::Int64 => DataType::Int64,
                    Arg::Cell => DataType::UInt64,
                    Arg::Int => DataType::Int64,
                    Arg::Float => DataType::Float64,
                    Arg::Text => DataType::Utf8,
                })
            })
            .collect()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // The common shape, `h3_parent(column, constant)`: no array of the constant.
        if let (Kind::Parent, [ColumnarValue::Array(cells), ColumnarValue::Scalar(ScalarValue::Int64(Some(r)))]) =
            (self.kind, args.args.as_slice())
        {
            return Ok(ColumnarValue::Array(parents(self.kind.name(), &as_cells(cells), *r)?));
        }
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

/// A cell argument as UInt64, without copying: cells kept as Int64 (the Delta `long` of
/// the warehouse's H3 columns) are the same 64 bits. A negative one is no valid cell,
/// and is refused as such where it is used.
fn as_cells(a: &ArrayRef) -> UInt64Array {
    match a.as_primitive_opt::<Int64Type>() {
        Some(signed) => UInt64Array::new(signed.values().inner().clone().into(), signed.nulls().cloned()),
        None => a.as_primitive::<UInt64Type>().clone(),
    }
}

/// `h3_parent` of every cell of an array at one resolution `r`. The cells of a column
/// nearly always share one resolution and one base cell, those of the first: one pass
/// checks each against them with constant masks (the checks of [`parent_bits`]) and sets
/// the parent's bits, a loop the compiler can vectorise. Rows that fail (another
/// resolution or base cell, a pentagon's descendant, no cell) are taken again by
/// [`parent_bits`], whose error names the value.
fn parents(name: &str, cells: &UInt64Array, r: i64) -> Result<ArrayRef> {
    let to = u64::from(u8::from(resolution(name, r)?));
    let values = cells.values();
    let first = cells.iter().flatten().next().unwrap_or_default();
    let (from, base) = ((first >> RES_SHIFT) & 0xF, (first >> 45) & 0x7F);
    // Reserved bit 0, mode 1 (a cell), mode-dependent bits 0, resolution, base cell.
    let top = (0x80 | from) << 7 | base;
    let unused = (1u64 << (3 * (15 - from))) - 1;
    let below = (1u64 << (3 * (15 - to))) - 1;
    let (keep, set) = (!(0xF << RES_SHIFT) & !below, (to << RES_SHIFT) | below);
    let sure = |v: u64| {
        let used = v & DIGITS & !unused;
        let sevens = used & (used >> 1) & (used >> 2) & DIGIT_LOW_BITS;
        (v >> 45 == top) & (v & unused == unused) & (sevens == 0)
    };
    let mut out: Vec<u64> = values.iter().map(|&v| (v & keep) | set).collect();
    let all_sure = match cells.nulls().filter(|n| n.null_count() > 0) {
        None => values.iter().fold(true, |all, &v| all & sure(v)),
        Some(nulls) => values.iter().zip(nulls.iter()).fold(true, |all, (&v, valid)| all & (!valid | sure(v))),
    };
    // What holds for every row that `sure` accepts: they share the first's header.
    let first_fits = to <= from && base < 122 && !PENTAGONS.contains(&base);
    if !(all_sure && first_fits) {
        for (i, (o, &v)) in out.iter_mut().zip(values.iter()).enumerate() {
            if cells.is_valid(i) && !(first_fits && sure(v)) {
                *o = parent_bits(v, r).ok_or_else(|| parent_error(name, v, r))?;
            }
        }
    }
    Ok(Arc::new(UInt64Array::new(out.into(), cells.nulls().cloned())))
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
            let (cells, res) = (as_cells(&a[0]), a[1].as_primitive::<Int64Type>());
            let mut out = Vec::with_capacity(cells.len());
            for i in 0..cells.len() {
                if cells.is_null(i) || res.is_null(i) {
                    out.push(0);
                    continue;
                }
                let (v, r) = (cells.value(i), res.value(i));
                out.push(match parent_bits(v, r) {
                    Some(p) => p,
                    None => return Err(parent_error(name, v, r)),
                });
            }
            let nulls = NullBuffer::union(cells.nulls(), res.nulls());
            Arc::new(UInt64Array::new(out.into(), nulls))
        }
        Kind::ToString => {
            let cells = as_cells(&a[0]);
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
            let (cells, k) = (as_cells(&a[0]), a[1].as_primitive::<Int64Type>());
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
            let (x, y) = (as_cells(&a[0]), as_cells(&a[1]));
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
            let cells = as_cells(&a[0]);
            let v = cells
                .iter()
                .map(|c| c.map(|c| cell(name, c).map(CellIndex::area_km2)).transpose())
                .collect::<Result<Float64Array>>()?;
            Arc::new(v)
        }
        Kind::BoundaryGeojson => {
            let cells = as_cells(&a[0]);
            let v = cells
                .iter()
                .map(|c| c.map(|c| cell(name, c).map(boundary_geojson)).transpose())
                .collect::<Result<StringArray>>()?;
            Arc::new(v)
        }
        Kind::Resolution => {
            let cells = as_cells(&a[0]);
            let v = cells
                .iter()
                .map(|c| c.map(|c| cell(name, c).map(|c| i64::from(u8::from(c.resolution())))).transpose())
                .collect::<Result<Int64Array>>()?;
            Arc::new(v)
        }
    };
    Ok(out)
}

/// Bits of an H3 index (the H3 specification, "H3 index representation"): mode in bits
/// 59–62, resolution in 52–55, base cell in 45–51, then fifteen 3-bit digits, the
/// first in 42–44; digits past the cell's resolution are 7.
const RES_SHIFT: u32 = 52;
const DIGITS: u64 = (1 << 45) - 1;
/// The lowest bit of each of the fifteen digits.
const DIGIT_LOW_BITS: u64 = 0o111_111_111_111_111;
/// Base cells that are pentagons, whose descendants lose the K-axis sub-sequence.
const PENTAGONS: [u64; 12] = [4, 14, 24, 38, 49, 58, 63, 72, 83, 97, 107, 117];
/// The ancestor of `v` at resolution `r` by bit arithmetic, or `None` when `v` is not
/// a valid cell or `r` is not a resolution between 0 and the cell's own. The checks are
/// H3's `isValidCell`, pentagon descendants' deleted sub-sequence by h3o. The parent is
/// the cell with its resolution field set to `r` and every digit after it set to 7.
fn parent_bits(v: u64, r: i64) -> Option<u64> {
    let res = (v >> RES_SHIFT) & 0xF;
    let r = u64::try_from(r).ok().filter(|r| *r <= res)?;
    // Reserved bit 0, mode 1 (a cell), mode-dependent bits 0, base cell below 122.
    if v >> 56 != 0b0000_1000 || (v >> 45) & 0x7F >= 122 {
        return None;
    }
    let unused = (1u64 << (3 * (15 - res))) - 1;
    if v & unused != unused {
        return None;
    }
    // A used digit of 7 (all three bits set) is invalid.
    let used = v & DIGITS & !unused;
    let sevens = used & (used >> 1) & (used >> 2) & DIGIT_LOW_BITS & !unused;
    if sevens != 0 {
        return None;
    }
    // A pentagon's descendants may not start with the deleted K-axis digit: h3o checks.
    if PENTAGONS.contains(&((v >> 45) & 0x7F)) {
        CellIndex::try_from(v).ok()?;
    }
    Some((v & !(0xF << RES_SHIFT)) | (r << RES_SHIFT) | ((1u64 << (3 * (15 - r))) - 1))
}

/// Why `h3_parent(v, r)` has no answer, in the words of the other functions.
fn parent_error(name: &str, v: u64, r: i64) -> DataFusionError {
    let c = match cell(name, v) {
        Ok(c) => c,
        Err(e) => return e,
    };
    match resolution(name, r) {
        Err(e) => e,
        Ok(_) => DataFusionError::Execution(format!(
            "{name}: resolution {r} is finer than the cell's resolution {}",
            u8::from(c.resolution())
        )),
    }
}

/// The outline of a cell as a GeoJSON Polygon (lon/lat, closed ring, 7 decimals).
pub fn boundary_geojson(c: CellIndex) -> String {
    let mut pts: Vec<String> = c.boundary().iter().map(|ll| format!("[{:.7},{:.7}]", ll.lng(), ll.lat())).collect();
    if let Some(first) = pts.first().cloned() {
        pts.push(first);
    }
    format!("{{\"type\":\"Polygon\",\"coordinates\":[[{}]]}}", pts.join(","))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// What h3o answers for `h3_parent(v, r)`.
    fn reference(v: u64, r: i64) -> Option<u64> {
        let c = CellIndex::try_from(v).ok()?;
        let r = Resolution::try_from(u8::try_from(r).ok()?).ok()?;
        c.parent(r).map(u64::from)
    }

    #[test]
    fn parents_by_bits_agree_with_h3o() {
        // Every cell around points spread over the globe (pentagons included, through
        // their base cells' children), at every resolution, to every coarser one.
        let mut cells = Vec::new();
        for base in CellIndex::base_cells() {
            cells.extend(base.children(Resolution::Three));
        }
        for lat in (-85..=85).step_by(17) {
            for lng in (-175..=175).step_by(25) {
                let ll = LatLng::new(f64::from(lat) + 0.123, f64::from(lng) + 0.456).unwrap();
                cells.extend(Resolution::range(Resolution::Zero, Resolution::Fifteen).map(|r| ll.to_cell(r)));
            }
        }
        let mut checked = 0;
        for c in &cells {
            let v = u64::from(*c);
            for r in -1..=16 {
                assert_eq!(parent_bits(v, r), reference(v, r), "{c} to {r}");
                checked += 1;
            }
        }
        assert!(checked > 700_000, "{checked}");
    }

    #[test]
    fn parents_of_an_array_agree_with_parent_bits() {
        // One resolution and base cell (the fast pass), then mixed ones with
        // pentagons' descendants (the second pass).
        let ll = LatLng::new(45.4642, 9.19).unwrap();
        let milan: Vec<u64> = ll.to_cell(Resolution::Ten).grid_disk::<Vec<_>>(5).into_iter().map(u64::from).collect();
        let mut mixed: Vec<u64> =
            CellIndex::base_cells().flat_map(|b| b.children(Resolution::Two)).map(u64::from).collect();
        mixed.extend(Resolution::range(Resolution::Two, Resolution::Fifteen).map(|r| u64::from(ll.to_cell(r))));
        for cells in [&milan, &mixed] {
            for r in 0..=2 {
                let got = parents("h3_parent", &UInt64Array::from(cells.clone()), r).unwrap();
                let want: UInt64Array = cells.iter().map(|v| parent_bits(*v, r)).collect();
                assert_eq!(want.null_count(), 0);
                assert_eq!(got.as_primitive::<UInt64Type>(), &want, "to {r}");
            }
        }
        let cells = mixed;
        // Cells as the warehouse keeps them (Int64), with NULLs, through the SQL function.
        let signed: ArrayRef = Arc::new(Int64Array::from(vec![Some(cells[400] as i64), None, Some(cells[401] as i64)]));
        let f = H3Function { kind: Kind::Parent, signature: Signature::user_defined(Volatility::Immutable) };
        assert_eq!(f.coerce_types(&[DataType::Int64, DataType::Int64]).unwrap(), [DataType::Int64, DataType::Int64]);
        let field = Arc::new(Field::new("c", DataType::Int64, true));
        let args = ScalarFunctionArgs {
            args: vec![ColumnarValue::Array(signed), ColumnarValue::Scalar(ScalarValue::Int64(Some(1)))],
            arg_fields: vec![field.clone(), field],
            number_rows: 3,
            return_field: Arc::new(Field::new("p", DataType::UInt64, true)),
            config_options: Arc::default(),
        };
        let ColumnarValue::Array(out) = f.invoke_with_args(args).unwrap() else { panic!("an array") };
        let want = UInt64Array::from(vec![parent_bits(cells[400], 1), None, parent_bits(cells[401], 1)]);
        assert_eq!(out.as_primitive::<UInt64Type>(), &want);
        // A bad cell among good ones is named; a finer resolution is refused.
        let bad = UInt64Array::from(vec![cells[0], 12345, cells[1]]);
        assert!(parents("h3_parent", &bad, 0).unwrap_err().to_string().contains("12345"));
        let milan = UInt64Array::from(vec![milan[0]]);
        assert!(parents("h3_parent", &milan, 11).unwrap_err().to_string().contains("finer than"));
        assert!(parents("h3_parent", &milan, 16).unwrap_err().to_string().contains("between 0 and 15"));
    }

    #[test]
    fn invalid_cells_have_no_parent() {
        let valid = u64::from(LatLng::new(45.4642, 9.19).unwrap().to_cell(Resolution::Ten));
        let broken = [
            0,
            12345,
            valid | 1 << 63,                     // reserved bit
            (valid & !(0xF << 59)) | 2 << 59,    // mode 2: a directed edge
            valid | 1 << 56,                     // mode-dependent bits
            (valid & !(0x7F << 45)) | 122 << 45, // base cell 122
            valid & !0o7,                        // digit 15 unused but not 7
            (valid & !(0o7 << 15)) | 0o7 << 15,  // digit 10 used but 7
            u64::from(CellIndex::base_cells().nth(4).unwrap()) & !(0o7 << 42) | 1 << 42 | 1 << 52, // pentagon, K axis
        ];
        for v in broken {
            assert_eq!(reference(v, 0), None, "{v:x} should be invalid");
            assert_eq!(parent_bits(v, 0), None, "{v:x}");
        }
        assert!(parent_error("h3_parent", 12345, 5).to_string().contains("is not a valid H3 cell"));
        assert!(parent_error("h3_parent", valid, 11).to_string().contains("finer than the cell's resolution 10"));
        assert!(parent_error("h3_parent", valid, 16).to_string().contains("is not between 0 and 15"));
    }
}
