//! The case-management core (*Cartella Sociale Informatizzata*): persons and households,
//! the CSI processes A–E (first contact, assessment, individual plan, interventions,
//! closure), on SQLite or PostgreSQL through sqlx.
//!
//! It depends only on `mosaico-domain` and never on the warehouse: the ingest pipeline
//! reads its database incrementally. Its domain, storage and pages are the subject of the
//! case-management issue; this crate holds its place in the workspace until then.
