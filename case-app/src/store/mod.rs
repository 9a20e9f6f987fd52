//! The case store: one API over SQLite (the default, one file) and PostgreSQL.
//!
//! ```text
//!  Store::open(url) ──▶ Backend::{Sqlite, Postgres}(pool) ──▶ migrations/<backend>/*.sql
//!  store.create_person(&actor, input)            (permission, scope, checks)
//!     └─ tx!(one transaction) ──▶ conn.insert_person(..) + conn.audit(..)   (sql.rs, written once)
//! ```
//!
//! The SQL is written once, in [`sql`], and compiled for each backend's connection
//! type; both backends accept `$n` parameters. Every operation runs in one
//! transaction (on SQLite `BEGIN IMMEDIATE`, so concurrent writers queue instead of
//! failing), so an error leaves nothing half-written.

pub(crate) mod budgets;
pub(crate) mod inps_ops;
pub(crate) mod inps_sql;
pub(crate) mod ops;
pub(crate) mod residential;
mod residential_sql;
pub(crate) mod sql;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::{CaseError, Result};

/// The schema, one script per version and backend.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "case_core", include_str!("../../migrations/sqlite/0001_case_core.sql")),
    (2, "residential", include_str!("../../migrations/sqlite/0002_residential.sql")),
    (3, "applications", include_str!("../../migrations/sqlite/0003_applications.sql")),
    (4, "inps", include_str!("../../migrations/sqlite/0004_inps.sql")),
    (5, "budgets", include_str!("../../migrations/sqlite/0005_budgets.sql")),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "case_core", include_str!("../../migrations/postgres/0001_case_core.sql")),
    (2, "residential", include_str!("../../migrations/postgres/0002_residential.sql")),
    (3, "applications", include_str!("../../migrations/postgres/0003_applications.sql")),
    (4, "inps", include_str!("../../migrations/postgres/0004_inps.sql")),
    (5, "budgets", include_str!("../../migrations/postgres/0005_budgets.sql")),
];

/// The connection pool of one backend.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The case-management store.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    /// The co-payment rules pre-bills split residents' amounts by.
    pub(crate) copay: std::sync::Arc<mosaico_domain::copay::Rules>,
}

/// Runs `$body` in one transaction with `$c` bound to the backend's connection;
/// commits if the body gets through, rolls back if it returns early with an error.
macro_rules! tx {
    ($store:expr, |$c:ident| $body:expr) => {{
        match &$store.backend {
            $crate::store::Backend::Sqlite(pool) => {
                let mut t = pool.begin_with("BEGIN IMMEDIATE").await?;
                let $c: &mut sqlx::SqliteConnection = &mut t;
                let out = $body;
                t.commit().await?;
                out
            }
            $crate::store::Backend::Postgres(pool) => {
                let mut t = pool.begin().await?;
                let $c: &mut sqlx::PgConnection = &mut t;
                let out = $body;
                t.commit().await?;
                out
            }
        }
    }};
}
pub(crate) use tx;

/// Runs `$body` on a pooled connection, outside a transaction (plain reads).
macro_rules! read {
    ($store:expr, |$c:ident| $body:expr) => {{
        match &$store.backend {
            $crate::store::Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                let $c: &mut sqlx::SqliteConnection = &mut conn;
                $body
            }
            $crate::store::Backend::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let $c: &mut sqlx::PgConnection = &mut conn;
                $body
            }
        }
    }};
}
pub(crate) use read;

impl Store {
    /// Opens the store at `url` and brings its schema up to date:
    /// `sqlite://path/to/file.db` (created if missing), `sqlite::memory:`, or
    /// `postgres://user@host/db`.
    pub async fn open(url: &str) -> Result<Self> {
        let backend = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| CaseError::Internal(format!("case database URL '{url}': {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            // An in-memory database lives as long as its one connection.
            let max = if url.contains(":memory:") { 1 } else { 8 };
            let pool = SqlitePoolOptions::new().max_connections(max).connect_with(opts).await?;
            Backend::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| CaseError::Internal(format!("case database URL '{url}': {e}")))?;
            Backend::Postgres(Self::pg_pool(opts).await?)
        } else {
            return Err(CaseError::Internal(format!(
                "case database URL '{url}' is neither sqlite://… nor postgres://…"
            )));
        };
        let store = Store { backend, copay: Default::default() };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens a PostgreSQL store on the given options (tests use this to pick a schema).
    pub async fn open_postgres(opts: PgConnectOptions) -> Result<Self> {
        let store = Store { backend: Backend::Postgres(Self::pg_pool(opts).await?), copay: Default::default() };
        store.migrate().await?;
        Ok(store)
    }

    async fn pg_pool(opts: PgConnectOptions) -> Result<PgPool> {
        Ok(PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect_with(opts).await?)
    }

    /// Replaces the co-payment rules (default: `domain/copay.toml`).
    pub fn with_copay_rules(mut self, rules: mosaico_domain::copay::Rules) -> Self {
        self.copay = std::sync::Arc::new(rules);
        self
    }

    /// The co-payment rules in force.
    pub fn copay_rules(&self) -> &mosaico_domain::copay::Rules {
        &self.copay
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(p) => p.close().await,
            Backend::Postgres(p) => p.close().await,
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Applies the migrations not yet applied, each in its own transaction.
    async fn migrate(&self) -> Result<()> {
        const TABLE: &str =
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)";
        match &self.backend {
            Backend::Sqlite(pool) => {
                sqlx::query(TABLE).execute(pool).await?;
                for &(version, name, script) in SQLITE_MIGRATIONS {
                    let mut t = pool.begin_with("BEGIN IMMEDIATE").await?;
                    let done: Option<i64> =
                        sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                            .bind(version)
                            .fetch_optional(&mut *t)
                            .await?;
                    if done.is_none() {
                        sqlx::raw_sql(script).execute(&mut *t).await?;
                        sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
                            .bind(version)
                            .bind(name)
                            .execute(&mut *t)
                            .await?;
                        tracing::info!(version, name, "case database migrated (sqlite)");
                    }
                    t.commit().await?;
                }
            }
            Backend::Postgres(pool) => {
                // Two processes starting together must not both migrate.
                let mut t = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7233001)").execute(&mut *t).await?;
                sqlx::query(TABLE).execute(&mut *t).await?;
                for &(version, name, script) in POSTGRES_MIGRATIONS {
                    let done: Option<i64> =
                        sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                            .bind(version)
                            .fetch_optional(&mut *t)
                            .await?;
                    if done.is_none() {
                        sqlx::raw_sql(script).execute(&mut *t).await?;
                        sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
                            .bind(version)
                            .bind(name)
                            .execute(&mut *t)
                            .await?;
                        tracing::info!(version, name, "case database migrated (postgres)");
                    }
                }
                t.commit().await?;
            }
        }
        Ok(())
    }
}
