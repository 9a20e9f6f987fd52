//! A loaded warehouse shared by the tests of one test binary: 20,000 synthetic
//! persons over the real territory, built once.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mosaico_api::config::Config;
use mosaico_ingest::samples::{self, Options, Summary};
use mosaico_warehouse::Warehouse;

pub const PERSONS: u64 = 20_000;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub summary: Summary,
}

impl Fixture {
    pub fn warehouse_path(&self) -> PathBuf {
        self.dir.path().join("warehouse")
    }

    pub fn warehouse(&self) -> Warehouse {
        Warehouse::open(&self.warehouse_path().display().to_string()).unwrap()
    }
}

pub fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data-samples/reference")
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // Built on its own runtime: the tests' runtimes come and go.
        std::thread::spawn(|| {
            let dir = tempfile::tempdir().unwrap();
            let sample = dir.path().join("sample");
            let summary = samples::generate(&Options {
                seed: 1,
                persons: PERSONS,
                interventions: None,
                reference: reference_dir(),
                out: sample.clone(),
            })
            .unwrap();
            let cfg = Config { data_dir: dir.path().to_owned(), reference_dir: reference_dir(), ..Config::default() };
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let wh = Warehouse::open(&dir.path().join("warehouse").display().to_string()).unwrap();
                mosaico_api::demo::load(&cfg, &wh, &sample).await.unwrap();
            });
            Fixture { dir, summary }
        })
        .join()
        .unwrap()
    })
}
