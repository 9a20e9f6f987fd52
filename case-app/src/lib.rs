//! Mosaico's case-management core: the *Cartella Sociale Informatizzata* that social
//! workers, coordinators and back office keep, on SQLite (the default, one file) or
//! PostgreSQL.
//!
//! ```text
//!  pages (/app/…, HTML forms)  ─┐
//!  JSON API (/api/v1/…)        ─┼─▶ Store operations ──▶ sql::Ops ──▶ SQLite | PostgreSQL
//!  session cookie + CSRF       ─┘     role check, scope to the user's enti,
//!                                     CSI transitions (409), audit, one transaction
//! ```
//!
//! - the registry (anagrafica): persons with validated fiscal codes, households, the
//!   social network, full history, duplicate detection and merge;
//! - tenancy: enti (comuni) grouped in ambiti; every read and write is scoped;
//! - the CSI processes: A first contact, B needs assessment, C individual plan (PAI)
//!   with a coordinator's approval, D interventions with the co-payment split, E closure;
//!   the social diary, documents with checksums, alerts and their triage;
//! - work lists, and an append-only audit of every read and write of a case file;
//! - citizens' online applications (income support, disability parking permit) with
//!   automatic checks and decisions, the back-office queue and its time to decision
//!   ([`applications`]).
//!
//! This crate knows nothing of the warehouse or analytics; `mosaico-api` mounts its
//! [`router`] beside the dashboard.
//!
//! ```no_run
//! # async fn f() -> mosaico_case_app::Result<()> {
//! use mosaico_case_app::Store;
//! let store = Store::open("sqlite://data/cases.db").await?;
//! let session = store.login("assistente", "password123!", "127.0.0.1").await?;
//! let found = store.search_persons(&session.actor, "rossi mar", 20).await?;
//! # Ok(()) }
//! ```

pub mod applications;
pub mod auth;
pub mod budgets;
mod error;
pub mod export;
pub mod http;
pub mod inps;
pub mod input;
pub mod model;
mod pages;
pub mod residential;
pub mod residential_http;
mod residential_pages;
pub mod seed;
mod store;

pub use error::{CaseError, Checker, FieldError, Result};
pub use http::{CaseState, router};
pub use model::{Actor, Permission, Person, Role};
pub use store::Store;
pub use store::ops::{Created, DocumentBytes, ImportSummary, MAX_DOCUMENT_BYTES, Session, today};
