//! Mosaico's ingest: what the comune holds, turned into warehouse tables.
//!
//! ```text
//!  data-samples/reference (real boundaries, census) ─┐
//!                                                     ├─▶ samples::generate ─▶ registry.csv, isee.csv,
//!                                                     │                        facilities.csv, cases.csv,
//!                                                     │                        interventions.csv
//!                                                     └─▶ territory::load ─▶ tables `areas`, `cells`
//!  source CSVs ─▶ load::load_sources (pseudonymise, H3-tag) ─▶ tables `population`, `isee`,
//!                                                              `facilities`, `cases`, `interventions`
//! ```
//!
//! The load here is the simple one of the foundation: it reads the generator's files,
//! drops names, fiscal codes and addresses, keys persons by an HMAC of the fiscal
//! code, and places them on the H3 grid.

pub mod load;
pub mod pipeline;
pub mod pseudonym;
pub mod reference;
pub mod samples;
pub mod territory;

use std::path::{Path, PathBuf};

/// What went wrong while reading sources or loading them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A boundary file is missing, malformed or not WGS84.
    #[error(transparent)]
    Territory(#[from] mosaico_domain::territory::TerritoryError),
    /// A source file has a problem at a known place.
    #[error("{path}: {message}")]
    Source {
        /// The file.
        path: PathBuf,
        /// What and where.
        message: String,
    },
    /// File-system error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The warehouse refused a write.
    #[error(transparent)]
    Warehouse(#[from] mosaico_warehouse::Error),
    /// Arrow could not build a batch (a bug, not bad input).
    #[error("internal error building a table: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}

impl Error {
    pub(crate) fn csv(path: &Path, e: csv::Error) -> Self {
        let at = e.position().map(|p| format!("line {}: ", p.line())).unwrap_or_default();
        Error::Source { path: path.to_owned(), message: format!("{at}{e}") }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io { path: path.to_owned(), source }
    }
}

/// Result alias for ingest.
pub type Result<T, E = Error> = std::result::Result<T, E>;
