//! The warehouse on an S3-compatible object store, for real: CI starts a local S3
//! server (moto) and points `MOSAICO_TEST_S3_URL` at a bucket on it, with the usual
//! `AWS_*` variables. Without that variable the test says so and checks nothing.

#![cfg(feature = "s3")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use mosaico_warehouse::{AsOf, Warehouse, datafusion};

fn batch(rows: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("label", DataType::Utf8, false),
    ]));
    let ids: Vec<i64> = (0..rows).collect();
    let labels: Vec<String> = ids.iter().map(|i| format!("row {i}")).collect();
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids)), Arc::new(StringArray::from(labels))]).unwrap()
}

async fn count(wh: &Warehouse, as_of: &AsOf) -> i64 {
    let b = wh.query("select count(*) from things", as_of).await.unwrap();
    b[0].column(0).as_primitive::<Int64Type>().value(0)
}

#[tokio::test]
async fn tables_live_on_an_s3_compatible_store() {
    let Ok(base) = std::env::var("MOSAICO_TEST_S3_URL") else {
        // In CI the server must be there: skipping would hide a broken setup.
        assert!(std::env::var_os("CI").is_none(), "CI must set MOSAICO_TEST_S3_URL (see .ci/run)");
        eprintln!("MOSAICO_TEST_S3_URL is not set: the S3 test did not run (.ci/run sets it)");
        return;
    };
    // A fresh prefix per run, so reruns on the same bucket start empty.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let wh = Warehouse::open(&format!("{}/run-{nanos}", base.trim_end_matches('/'))).unwrap();
    assert!(wh.tables().await.unwrap().is_empty());

    assert_eq!(wh.write_table("things", vec![batch(3)]).await.unwrap(), 0);
    assert_eq!(wh.write_table("things", vec![batch(5)]).await.unwrap(), 1);
    assert_eq!(wh.write_table("others", vec![batch(1)]).await.unwrap(), 0);

    assert_eq!(wh.tables().await.unwrap(), ["others", "things"]);
    assert_eq!(count(&wh, &AsOf::Latest).await, 5);
    assert_eq!(count(&wh, &AsOf::parse("things=0").unwrap()).await, 3);
    let labels = wh.query("select label from things order by id desc limit 1", &AsOf::Latest).await.unwrap();
    let labels = datafusion::arrow::compute::cast(labels[0].column(0), &DataType::Utf8).unwrap();
    assert_eq!(labels.as_string::<i32>().value(0), "row 4");
    // H3 functions work on tables from the object store too.
    let n = wh.query("select count(h3_cell(45.0 + id, 9.0, 9)) from things", &AsOf::Latest).await.unwrap();
    assert_eq!(n[0].column(0).as_primitive::<Int64Type>().value(0), 5);
}
