//! The catalogue an analyst's query sees: a fresh session per request whose only
//! tables are views that keep the caller's enti, and the public reference tables.
//!
//! ```text
//!  shared session (all Delta providers, opened once)
//!        │ provider of `population`
//!        ▼
//!  TableScan(population) ─▶ Filter(comune_istat IN (enti)) ─▶ ViewTable "population"
//!  TableScan(interventions) ─▶ LeftSemi join on case_id with the filtered cases ─▶ "interventions"
//!  areas, cells, census_sections, census_crosswalk ─▶ as they are
//! ```
//!
//! The base providers are reachable only from inside those plans: no name, schema
//! qualified or not, resolves to them, since the fresh session's one catalogue
//! (`mosaico.public`) holds nothing else. A table the policy does not name is left out,
//! so a new table is hidden until someone decides how it is scoped.

use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::datasource::{ViewTable, provider_as_source};
use datafusion::error::Result;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{Expr, JoinType, LogicalPlan, LogicalPlanBuilder, col, lit};
use datafusion::prelude::{SessionConfig, SessionContext};

/// How rows of a warehouse table are kept to the caller's enti.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Rows whose ente column (an ISTAT code) is one of the caller's.
    Ente(&'static str),
    /// Rows whose `key` appears in the scoped rows of `parent` (itself [`Access::Ente`]).
    Through {
        /// The column shared with the parent.
        key: &'static str,
        /// The parent table.
        parent: &'static str,
    },
    /// Reference data without persons: every row.
    Public,
}

/// The tables an analyst may query and how each is scoped. Every other table is out:
/// `quarantine` (rejected source rows, as they came), `ingest_runs` and
/// `ingest_watermarks` (operations), `scenarios` (planners' drafts).
pub const TABLES: &[(&str, Access)] = &[
    ("population", Access::Ente("comune_istat")),
    ("facilities", Access::Ente("comune_istat")),
    ("cases", Access::Ente("ente")),
    ("csi_persons", Access::Ente("ente")),
    ("csi_cases", Access::Ente("ente")),
    ("csi_interventions", Access::Ente("ente")),
    ("csi_assessments", Access::Ente("ente")),
    ("interventions", Access::Through { key: "case_id", parent: "cases" }),
    ("isee", Access::Through { key: "household_key", parent: "population" }),
    ("areas", Access::Public),
    ("cells", Access::Public),
    ("census_sections", Access::Public),
    ("census_crosswalk", Access::Public),
];

/// The engine's limits for one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// The memory pool's size, in bytes.
    pub memory_bytes: usize,
}

/// A fresh session over `shared`'s providers, holding only the scoped views of
/// [`TABLES`] for `enti`, the H3 functions and a memory pool of its own (no spilling to
/// disk: the cap is the cap).
pub async fn tenant_session(shared: &SessionContext, enti: &[String], res: Resources) -> Result<SessionContext> {
    let runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(shared.runtime_env().object_store_registry.clone())
        .with_memory_limit(res.memory_bytes, 1.0)
        .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled))
        .build_arc()?;
    let config =
        SessionConfig::new().with_information_schema(true).with_default_catalog_and_schema("mosaico", "public");
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    for f in mosaico_warehouse::h3::functions() {
        ctx.register_udf(f);
    }
    let mut plans: Vec<(&str, LogicalPlan)> = Vec::new();
    for (name, access) in TABLES {
        let Some(base) = provider(shared, name).await? else { continue };
        let plan = match *access {
            Access::Public => {
                ctx.register_table(*name, base)?;
                continue;
            }
            Access::Ente(column) => {
                if base.schema().field_with_name(column).is_err() {
                    tracing::warn!(table = name, column, "a scoped table has no ente column; the table is left out");
                    continue;
                }
                by_ente(name, base, column, enti)?
            }
            Access::Through { key, parent } => {
                let Some((_, parent_plan)) = plans.iter().find(|(n, _)| *n == parent) else {
                    tracing::warn!(
                        table = name,
                        parent,
                        "the parent of a scoped table is missing; the table is left out"
                    );
                    continue;
                };
                through(name, base, key, parent_plan.clone())?
            }
        };
        ctx.register_table(*name, Arc::new(ViewTable::new(plan.clone(), None)))?;
        plans.push((name, plan));
    }
    Ok(ctx)
}

/// The provider of a table in the shared session, if the warehouse has it.
async fn provider(shared: &SessionContext, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
    if !shared.table_exist(name)? {
        return Ok(None);
    }
    shared.table_provider(name).await.map(Some)
}

/// `SELECT * FROM <base> WHERE <column> IN (<enti>)`; no enti, no rows.
fn by_ente(name: &str, base: Arc<dyn TableProvider>, column: &str, enti: &[String]) -> Result<LogicalPlan> {
    let keep: Expr = if enti.is_empty() {
        lit(false)
    } else {
        col(column).in_list(enti.iter().map(|e| lit(e.as_str())).collect(), false)
    };
    LogicalPlanBuilder::scan(name, provider_as_source(base), None)?.filter(keep)?.build()
}

/// `SELECT * FROM <base> WHERE <key> IN (SELECT <key> FROM <parent>)`, as a semi join.
fn through(name: &str, base: Arc<dyn TableProvider>, key: &str, parent: LogicalPlan) -> Result<LogicalPlan> {
    let keys = LogicalPlanBuilder::from(parent).project(vec![col(key)])?.alias("scope")?.build()?;
    LogicalPlanBuilder::scan(name, provider_as_source(base), None)?
        .join(keys, JoinType::LeftSemi, (vec![key], vec![key]), None)?
        .build()
}
