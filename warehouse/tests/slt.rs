//! Runs every `.slt` file in `tests/slt/` against a warehouse session.
//!
//! Each file tests one topic of the warehouse's SQL (H3 functions first). Expected
//! values come from the H3 reference implementation (h3-py 4.5, bindings of the C
//! library), not from h3o, so a disagreement between the two fails here.

use std::path::PathBuf;

use datafusion::arrow::util::display::array_value_to_string;
use datafusion::prelude::SessionContext;
use mosaico_warehouse::{AsOf, Warehouse, datafusion};
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};

struct Db {
    ctx: SessionContext,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SltError(String);

#[async_trait::async_trait]
impl AsyncDB for Db {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let df = self.ctx.sql(sql).await.map_err(|e| SltError(e.to_string()))?;
        let batches = df.collect().await.map_err(|e| SltError(e.to_string()))?;
        let mut rows = Vec::new();
        let mut types = Vec::new();
        for b in &batches {
            types = b.schema().fields().iter().map(|_| DefaultColumnType::Any).collect();
            for r in 0..b.num_rows() {
                let mut row = Vec::new();
                for c in b.columns() {
                    row.push(if c.is_null(r) {
                        "NULL".to_owned()
                    } else {
                        array_value_to_string(c, r).map_err(|e| SltError(e.to_string()))?
                    });
                }
                rows.push(row);
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "mosaico-datafusion"
    }
}

#[tokio::test]
async fn sqllogictest_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "expected the .slt files in {}", dir.display());
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let wh = Warehouse::open(&empty.path().display().to_string()).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    for file in &files {
        let wh = wh.clone();
        let mut runner = sqllogictest::Runner::new(move || {
            let wh = wh.clone();
            async move {
                let ctx = wh.session(&AsOf::Latest).await.map_err(|e| SltError(e.to_string()))?;
                Ok::<_, SltError>(Db { ctx })
            }
        });
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}: {e}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
