//! The territorial measures as SQL table functions in the warehouse session:
//!
//! ```sql
//! SELECT * FROM demand('anziani_75');                      -- res-9 cells
//! SELECT * FROM demand('anziani_75', 'nil');
//! SELECT * FROM supply('RSA,CDI', 'cell', 8);              -- facility types, or a target id
//! SELECT * FROM accessibility('anziani_75', 'cell', 9, 'e2sfca', 3.0);
//! SELECT name, gap FROM gaps('anziani_75', 'nil') ORDER BY rank LIMIT 10;
//! ```
//!
//! Arguments: target (or, for `supply`, facility types), then optionally level
//! (`cell`, `nil`, `municipio`, `comune`), resolution (7–10), method (`2sfca`, `e2sfca`,
//! `g2sfca`) and catchment in km. The measure runs when the query is executed, in the
//! calling session, so it reads the same table versions as the rest of the query.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{MemTable, Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{DataFusionError, ScalarValue, plan_err};
use datafusion::datasource::TableType;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

use crate::targets::Catalogue;
use crate::territory::{self, Level, Method, Request};

/// Which measure a function computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    Demand,
    Supply,
    Accessibility,
    Gaps,
}

impl Measure {
    const ALL: [Measure; 4] = [Measure::Demand, Measure::Supply, Measure::Accessibility, Measure::Gaps];

    fn name(self) -> &'static str {
        match self {
            Measure::Demand => "demand",
            Measure::Supply => "supply",
            Measure::Accessibility => "accessibility",
            Measure::Gaps => "gaps",
        }
    }

    fn schema(self) -> SchemaRef {
        match self {
            Measure::Demand => territory::demand_schema(),
            Measure::Supply => territory::supply_schema(),
            Measure::Accessibility => territory::accessibility_schema(),
            Measure::Gaps => territory::gaps_schema(),
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Measure::Supply => "supply('<facility types, comma-separated, or a target id>' [, level [, res]])",
            Measure::Demand => "demand('<target id>' [, level [, res]])",
            Measure::Accessibility => "accessibility('<target id>' [, level [, res [, method [, catchment_km]]]])",
            Measure::Gaps => "gaps('<target id>' [, level [, res [, method [, catchment_km]]]])",
        }
    }
}

/// One measure bound to a catalogue of targets.
#[derive(Debug)]
struct MeasureFunction {
    measure: Measure,
    catalogue: Arc<Catalogue>,
    threshold: u64,
}

fn literal(e: &Expr) -> Option<&ScalarValue> {
    match e {
        Expr::Literal(v, _) => Some(v),
        _ => None,
    }
}

fn text(e: &Expr) -> Option<String> {
    match literal(e)? {
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => {
            Some(s.clone())
        }
        _ => None,
    }
}

fn number(e: &Expr) -> Option<f64> {
    match literal(e)?.cast_to(&datafusion::arrow::datatypes::DataType::Float64).ok()? {
        ScalarValue::Float64(Some(v)) => Some(v),
        _ => None,
    }
}

impl MeasureFunction {
    fn request(&self, args: &[Expr]) -> datafusion::common::Result<Request> {
        let m = self.measure;
        let usage = || format!("{}: usage {}", m.name(), m.usage());
        let max_args = if matches!(m, Measure::Demand | Measure::Supply) { 3 } else { 5 };
        if args.is_empty() || args.len() > max_args {
            return plan_err!("{}", usage());
        }
        let Some(first) = text(&args[0]) else { return plan_err!("{}: the first argument must be text", usage()) };
        let invalid = |e: crate::Error| DataFusionError::Plan(format!("{}: {e}", m.name()));
        let (target, types) = match (m, self.catalogue.get(&first)) {
            (_, Ok(t)) => (t.clone(), t.facility_types.clone()),
            (Measure::Supply, Err(_)) => {
                // Supply needs no target: any one carries the facility types asked for.
                let Some(any) = self.catalogue.targets().first() else {
                    return plan_err!("supply: the catalogue of targets is empty");
                };
                (any.clone(), first.split(',').map(|t| t.trim().to_owned()).collect())
            }
            (_, Err(e)) => return Err(invalid(e)),
        };
        let level = args.get(1).map(|e| text(e).ok_or_else(|| DataFusionError::Plan(usage()))).transpose()?;
        let res = args
            .get(2)
            .map(|e| number(e).map(|v| v as u8).ok_or_else(|| DataFusionError::Plan(usage())))
            .transpose()?;
        let mut req = Request::new(&target).with_facility_types(types).map_err(invalid)?;
        req.level = Level::parse(level.as_deref().unwrap_or("cell"), res).map_err(invalid)?;
        req.threshold = self.threshold;
        if let Some(e) = args.get(3) {
            req.method = Method::parse(&text(e).ok_or_else(|| DataFusionError::Plan(usage()))?).map_err(invalid)?;
        }
        if let Some(e) = args.get(4) {
            req = req.with_catchment(number(e).ok_or_else(|| DataFusionError::Plan(usage()))?).map_err(invalid)?;
        }
        Ok(req)
    }
}

impl TableFunctionImpl for MeasureFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let req = self.request(args.exprs())?;
        Ok(Arc::new(MeasureTable { measure: self.measure, req }))
    }
}

/// A measure's result, computed when scanned.
#[derive(Debug)]
struct MeasureTable {
    measure: Measure,
    req: Request,
}

#[async_trait]
impl TableProvider for MeasureTable {
    fn schema(&self) -> SchemaRef {
        self.measure.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let Some(session) = state.as_any().downcast_ref::<SessionState>() else {
            return plan_err!("{}: needs a DataFusion session state", self.measure.name());
        };
        let ctx = SessionContext::new_with_state(session.clone());
        let batch = run(self.measure, &ctx, &self.req).await.map_err(|e| match e {
            crate::Error::Query(q) => q,
            other => DataFusionError::Plan(format!("{}: {other}", self.measure.name())),
        })?;
        MemTable::try_new(self.schema(), vec![vec![batch]])?.scan(state, projection, filters, limit).await
    }
}

async fn run(
    measure: Measure,
    ctx: &SessionContext,
    req: &Request,
) -> crate::Result<datafusion::arrow::array::RecordBatch> {
    match measure {
        Measure::Demand => territory::demand(ctx, req).await,
        Measure::Supply => territory::supply(ctx, req).await,
        Measure::Accessibility => territory::accessibility(ctx, req).await,
        Measure::Gaps => territory::gaps(ctx, req).await,
    }
}

/// Registers the `persons` and `households` views and the `demand`, `supply`,
/// `accessibility` and `gaps` table functions in a warehouse session.
pub async fn register(ctx: &SessionContext, catalogue: Arc<Catalogue>, threshold: u64) -> crate::Result<()> {
    crate::views::register(ctx).await?;
    register_functions(ctx, catalogue, threshold);
    Ok(())
}

/// Registers only the table functions: for a session whose queries do not name the
/// views (planning the views reads the logs of every table they join).
pub fn register_functions(ctx: &SessionContext, catalogue: Arc<Catalogue>, threshold: u64) {
    for measure in Measure::ALL {
        ctx.register_udtf(
            measure.name(),
            Arc::new(MeasureFunction { measure, catalogue: catalogue.clone(), threshold }),
        );
    }
}
