//! Typed columns built row by row into record batches of a fixed schema.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, Int64Builder,
    PrimitiveBuilder, StringBuilder, UInt64Builder,
};
use datafusion::arrow::datatypes::{ArrowPrimitiveType, DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use crate::Result;

/// Rows per record batch.
pub(crate) const BATCH_ROWS: usize = 16 * 1024;

/// Days from 0001-01-01 to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// A typed column under construction.
enum Builder {
    Str(StringBuilder),
    I32(Int32Builder),
    I64(Int64Builder),
    U64(UInt64Builder),
    F64(Float64Builder),
    Date(Date32Builder),
    Bool(BooleanBuilder),
}

impl Builder {
    /// The column so far; the builder starts again with room for as many rows (and,
    /// for text, as many bytes), so batches of a steady size do not regrow it.
    fn finish(&mut self) -> ArrayRef {
        fn again<T: ArrowPrimitiveType>(b: &mut PrimitiveBuilder<T>) -> ArrayRef {
            let rows = b.len();
            Arc::new(std::mem::replace(b, PrimitiveBuilder::with_capacity(rows)).finish())
        }
        match self {
            Builder::Str(b) => {
                let (rows, bytes) = (b.len(), b.values_slice().len());
                Arc::new(std::mem::replace(b, StringBuilder::with_capacity(rows, bytes)).finish())
            }
            Builder::I32(b) => again(b),
            Builder::I64(b) => again(b),
            Builder::U64(b) => again(b),
            Builder::F64(b) => again(b),
            Builder::Date(b) => again(b),
            Builder::Bool(b) => {
                let rows = b.len();
                Arc::new(std::mem::replace(b, BooleanBuilder::with_capacity(rows)).finish())
            }
        }
    }
}

/// A schema from `(name, type, nullable)` triples.
pub(crate) fn schema(fields: &[(&str, DataType, bool)]) -> SchemaRef {
    Arc::new(Schema::new(fields.iter().map(|(n, t, null)| Field::new(*n, t.clone(), *null)).collect::<Vec<_>>()))
}

/// Builds record batches of a fixed schema, row by row; every [`BATCH_ROWS`] rows
/// [`TableBuilder::end_row`] hands back a full batch.
pub(crate) struct TableBuilder {
    schema: SchemaRef,
    cols: Vec<Builder>,
    rows: usize,
}

impl TableBuilder {
    pub(crate) fn new(schema: SchemaRef) -> Self {
        let cols = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Int32 => Builder::I32(Int32Builder::new()),
                DataType::Int64 => Builder::I64(Int64Builder::new()),
                DataType::UInt64 => Builder::U64(UInt64Builder::new()),
                DataType::Float64 => Builder::F64(Float64Builder::new()),
                DataType::Date32 => Builder::Date(Date32Builder::new()),
                DataType::Boolean => Builder::Bool(BooleanBuilder::new()),
                _ => Builder::Str(StringBuilder::new()),
            })
            .collect();
        Self { schema, cols, rows: 0 }
    }

    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub(crate) fn str(&mut self, i: usize, v: Option<&str>) {
        if let Builder::Str(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    pub(crate) fn i32(&mut self, i: usize, v: Option<i32>) {
        if let Builder::I32(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    pub(crate) fn i64(&mut self, i: usize, v: Option<i64>) {
        if let Builder::I64(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    pub(crate) fn u64(&mut self, i: usize, v: Option<u64>) {
        if let Builder::U64(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    pub(crate) fn f64(&mut self, i: usize, v: Option<f64>) {
        if let Builder::F64(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    pub(crate) fn date(&mut self, i: usize, v: Option<NaiveDate>) {
        if let Builder::Date(b) = &mut self.cols[i] {
            b.append_option(v.map(|d| d.num_days_from_ce() - EPOCH_DAYS_FROM_CE));
        }
    }
    pub(crate) fn bool(&mut self, i: usize, v: bool) {
        if let Builder::Bool(b) = &mut self.cols[i] {
            b.append_value(v);
        }
    }

    /// Ends a row; returns a batch when one is full.
    pub(crate) fn end_row(&mut self) -> Result<Option<RecordBatch>> {
        self.rows += 1;
        if self.rows == BATCH_ROWS { self.flush() } else { Ok(None) }
    }

    /// The rows not yet handed back, if any.
    pub(crate) fn flush(&mut self) -> Result<Option<RecordBatch>> {
        if self.rows == 0 {
            return Ok(None);
        }
        let arrays = self.cols.iter_mut().map(Builder::finish).collect();
        self.rows = 0;
        Ok(Some(RecordBatch::try_new(self.schema.clone(), arrays)?))
    }
}
