//! A schema of the warehouse's tables that reads a table's Delta log only when a query
//! first names it: a one-off query over two tables opens two, not every table.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::error::DataFusionError;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::SessionStateBuilder;
use tokio::sync::OnceCell;

use crate::{AsOf, Warehouse};

/// A table's provider, made by the first query that names it.
type Opening = OnceCell<Arc<dyn TableProvider>>;

/// The tables of one warehouse as a reader of `as_of` sees them, opened on first use
/// and kept for the session's life (so one session reads one version of each).
#[derive(Debug)]
pub(crate) struct LazySchema {
    wh: Warehouse,
    /// The version each visible table is read at: `None` for the one `as_of` asks for
    /// (the session pins the latest ones when it opens).
    pins: BTreeMap<String, Option<u64>>,
    as_of: AsOf,
    /// Where the tables' object stores are registered (the session's).
    runtime: Arc<RuntimeEnv>,
    opened: Mutex<HashMap<String, Arc<Opening>>>,
    /// Tables and views registered by callers (the analytics' views, for example).
    registered: Mutex<HashMap<String, Arc<dyn TableProvider>>>,
}

impl LazySchema {
    /// `pins` names every table the reader sees, with the version it is held at, if any.
    pub(crate) fn new(
        wh: Warehouse,
        as_of: AsOf,
        pins: BTreeMap<String, Option<u64>>,
        runtime: Arc<RuntimeEnv>,
    ) -> Self {
        Self { wh, pins, as_of, runtime, opened: Mutex::default(), registered: Mutex::default() }
    }

    /// The table, opened now if no query has opened it yet.
    pub(crate) async fn opened(&self, name: &str) -> crate::Result<Arc<dyn TableProvider>> {
        let cell =
            self.opened.lock().unwrap_or_else(PoisonError::into_inner).entry(name.to_owned()).or_default().clone();
        Ok(cell.get_or_try_init(|| self.open(name)).await?.clone())
    }

    async fn open(&self, name: &str) -> crate::Result<Arc<dyn TableProvider>> {
        let table = self.wh.load_pinned(name, self.pins.get(name).copied().flatten(), &self.as_of).await?;
        // The object store of the table's location, registered where the session's
        // scans look for it.
        let state = SessionStateBuilder::new().with_runtime_env(self.runtime.clone()).build();
        crate::provider(name, &table, &state).await
    }
}

#[async_trait::async_trait]
impl SchemaProvider for LazySchema {
    fn table_names(&self) -> Vec<String> {
        let registered = self.registered.lock().unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> = self.pins.keys().chain(registered.keys()).cloned().collect();
        names.sort();
        names.dedup();
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        if let Some(t) = self.registered.lock().unwrap_or_else(PoisonError::into_inner).get(name) {
            return Ok(Some(t.clone()));
        }
        if !self.pins.contains_key(name) {
            return Ok(None);
        }
        Ok(Some(self.opened(name).await.map_err(|e| DataFusionError::External(Box::new(e)))?))
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        // A view registered under a table's name hides the table in this session
        // (`CREATE OR REPLACE VIEW`); DataFusion refuses a plain `CREATE VIEW` of an
        // existing name before it gets here.
        let mut registered = self.registered.lock().unwrap_or_else(PoisonError::into_inner);
        if registered.contains_key(&name) {
            return Err(DataFusionError::Execution(format!("The table {name} already exists")));
        }
        Ok(registered.insert(name, table))
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        Ok(self.registered.lock().unwrap_or_else(PoisonError::into_inner).remove(name))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.pins.contains_key(name)
            || self.registered.lock().unwrap_or_else(PoisonError::into_inner).contains_key(name)
    }
}
