//! Output of `mosaico sql`: a table for people, CSV, JSON or Parquet for programs.

use std::io::Write;

use datafusion::arrow::record_batch::RecordBatch;

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
}

/// Writes the batches in `format`.
pub fn write(batches: &[RecordBatch], format: Format, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    match format {
        Format::Table => {
            let table = datafusion::arrow::util::pretty::pretty_format_batches(batches)?;
            writeln!(out, "{table}")?;
        }
        Format::Csv => {
            let mut w = datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(out);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = datafusion::arrow::json::ArrayWriter::new(out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            writeln!(w.into_inner())?;
        }
        Format::Parquet => {
            let schema =
                batches.first().map(|b| b.schema()).ok_or_else(|| anyhow::anyhow!("the query returned no schema"))?;
            let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(out, schema, None)?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
        }
    }
    Ok(())
}
