//! Query results as files: a table for people, CSV, JSON, Parquet, XLSX or Arrow IPC for
//! programs. `mosaico sql` and `/api/v1/sql` write through the same functions.

use std::io::Write;

use anyhow::Context as _;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Schema};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// CSV with a header.
    Csv,
    /// A JSON array of objects.
    Json,
    /// A Parquet file (needs `--out`, or a redirected stdout).
    Parquet,
    /// An Excel workbook (needs `--out`, or a redirected stdout).
    Xlsx,
    /// An Arrow IPC stream.
    Arrow,
}

/// Writes the batches in `format`.
pub fn write(batches: &[RecordBatch], format: Format, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let schema = || batches.first().map(|b| b.schema()).ok_or_else(|| anyhow::anyhow!("the query returned no schema"));
    match format {
        Format::Table => {
            let table = datafusion::arrow::util::pretty::pretty_format_batches(batches)?;
            writeln!(out, "{table}")?;
        }
        Format::Csv => csv(batches, out)?,
        Format::Json => {
            let mut w = datafusion::arrow::json::ArrayWriter::new(out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            writeln!(w.into_inner())?;
        }
        Format::Parquet => {
            let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(out, schema()?, None)?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
        }
        Format::Xlsx => out.write_all(&xlsx(schema()?.as_ref(), batches)?)?,
        Format::Arrow => arrow_ipc(schema()?.as_ref(), batches, out)?,
    }
    Ok(())
}

/// CSV with a header row; dates and times in ISO 8601.
pub fn csv(batches: &[RecordBatch], out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let mut w = datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(out);
    for b in batches {
        w.write(b)?;
    }
    Ok(())
}

/// An Arrow IPC stream (the schema first, even without rows).
pub fn arrow_ipc(schema: &Schema, batches: &[RecordBatch], out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let mut w = datafusion::arrow::ipc::writer::StreamWriter::try_new(out, schema)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()?;
    Ok(())
}

/// The most rows a worksheet holds below its header row.
pub const XLSX_MAX_ROWS: usize = 1_048_575;

/// The largest integer a spreadsheet's floating-point cell keeps exactly (2^53); larger
/// ones (H3 cell ids) are written as text.
const EXACT_IN_F64: u64 = 1 << 53;

/// A workbook with one sheet: a bold header row, numbers as numbers, booleans as
/// booleans, dates as dates (`yyyy-mm-dd`), the rest as text.
pub fn xlsx(schema: &Schema, batches: &[RecordBatch]) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format as CellFormat, Workbook};
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    anyhow::ensure!(rows <= XLSX_MAX_ROWS, "a worksheet holds at most {XLSX_MAX_ROWS} rows; this result has {rows}");
    anyhow::ensure!(schema.fields().len() <= 16_384, "a worksheet holds at most 16,384 columns");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("query")?;
    let bold = CellFormat::new().set_bold();
    let date = CellFormat::new().set_num_format("yyyy-mm-dd");
    for (c, f) in schema.fields().iter().enumerate() {
        sheet.write_string_with_format(0, col_num(c)?, f.name(), &bold)?;
    }
    let mut row: u32 = 1;
    for batch in batches {
        for (c, column) in batch.columns().iter().enumerate() {
            let c = col_num(c)?;
            let text = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default())?;
            for i in 0..column.len() {
                let r = row + u32::try_from(i).context("row number")?;
                if column.is_null(i) {
                    continue;
                }
                match Cell::of(column.as_ref(), i) {
                    Cell::Number(n) => sheet.write_number(r, c, n)?,
                    Cell::Bool(b) => sheet.write_boolean(r, c, b)?,
                    Cell::Date(y, m, d) => sheet.write_datetime_with_format(
                        r,
                        c,
                        rust_xlsxwriter::ExcelDateTime::from_ymd(y, m, d)?,
                        &date,
                    )?,
                    Cell::Text => sheet.write_string(r, c, text.value(i).to_string())?,
                };
            }
        }
        row += u32::try_from(batch.num_rows()).context("row number")?;
    }
    Ok(book.save_to_buffer()?)
}

fn col_num(c: usize) -> anyhow::Result<u16> {
    u16::try_from(c).context("column number")
}

/// How a value goes into a spreadsheet cell.
enum Cell {
    Number(f64),
    Bool(bool),
    Date(u16, u8, u8),
    Text,
}

impl Cell {
    #[allow(clippy::cast_precision_loss)]
    fn of(a: &dyn Array, i: usize) -> Cell {
        use datafusion::arrow::datatypes as t;
        let int = |v: i64| if v.unsigned_abs() < EXACT_IN_F64 { Cell::Number(v as f64) } else { Cell::Text };
        match a.data_type() {
            DataType::Boolean => Cell::Bool(a.as_boolean().value(i)),
            DataType::Int8 => Cell::Number(a.as_primitive::<t::Int8Type>().value(i).into()),
            DataType::Int16 => Cell::Number(a.as_primitive::<t::Int16Type>().value(i).into()),
            DataType::Int32 => Cell::Number(a.as_primitive::<t::Int32Type>().value(i).into()),
            DataType::Int64 => int(a.as_primitive::<t::Int64Type>().value(i)),
            DataType::UInt8 => Cell::Number(a.as_primitive::<t::UInt8Type>().value(i).into()),
            DataType::UInt16 => Cell::Number(a.as_primitive::<t::UInt16Type>().value(i).into()),
            DataType::UInt32 => Cell::Number(a.as_primitive::<t::UInt32Type>().value(i).into()),
            DataType::UInt64 => {
                let v = a.as_primitive::<t::UInt64Type>().value(i);
                if v < EXACT_IN_F64 { Cell::Number(v as f64) } else { Cell::Text }
            }
            DataType::Float32 => Cell::Number(a.as_primitive::<t::Float32Type>().value(i).into()),
            DataType::Float64 => {
                let v = a.as_primitive::<t::Float64Type>().value(i);
                if v.is_finite() { Cell::Number(v) } else { Cell::Text }
            }
            DataType::Date32 => match a.as_primitive::<Date32Type>().value_as_date(i) {
                Some(d) => {
                    use chrono::Datelike as _;
                    match (u16::try_from(d.year()), u8::try_from(d.month()), u8::try_from(d.day())) {
                        (Ok(y), Ok(m), Ok(dd)) if (1900..=9999).contains(&y) => Cell::Date(y, m, dd),
                        _ => Cell::Text,
                    }
                }
                None => Cell::Text,
            },
            _ => Cell::Text,
        }
    }
}

/// One value as JSON: numbers as numbers (integers beyond 2^53 too: read them as
/// 64-bit integers), booleans, null, and the rest (dates, times, text) as text.
pub fn json_value(a: &dyn Array, i: usize, text: &ArrayFormatter<'_>) -> serde_json::Value {
    use datafusion::arrow::datatypes as t;
    use serde_json::Value;
    if a.is_null(i) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Int8 => a.as_primitive::<t::Int8Type>().value(i).into(),
        DataType::Int16 => a.as_primitive::<t::Int16Type>().value(i).into(),
        DataType::Int32 => a.as_primitive::<t::Int32Type>().value(i).into(),
        DataType::Int64 => a.as_primitive::<t::Int64Type>().value(i).into(),
        DataType::UInt8 => a.as_primitive::<t::UInt8Type>().value(i).into(),
        DataType::UInt16 => a.as_primitive::<t::UInt16Type>().value(i).into(),
        DataType::UInt32 => a.as_primitive::<t::UInt32Type>().value(i).into(),
        DataType::UInt64 => a.as_primitive::<t::UInt64Type>().value(i).into(),
        DataType::Float32 => serde_json::Number::from_f64(a.as_primitive::<t::Float32Type>().value(i).into())
            .map_or(Value::Null, Value::Number),
        DataType::Float64 => {
            serde_json::Number::from_f64(a.as_primitive::<t::Float64Type>().value(i)).map_or(Value::Null, Value::Number)
        }
        DataType::Decimal128(_, _) | DataType::Decimal256(_, _) => {
            let s = text.value(i).to_string();
            s.parse::<serde_json::Number>().map_or(Value::String(s), Value::Number)
        }
        _ => Value::String(text.value(i).to_string()),
    }
}
