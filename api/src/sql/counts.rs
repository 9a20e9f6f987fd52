//! Primary suppression of counts in ad-hoc results.
//!
//! Which output columns are counts is read from the logical plan, not from names: a
//! column is a count when, followed down through projections (aliases and casts
//! included), sorts, limits, filters, subquery aliases, unions and joins, it ends at a
//! `COUNT(…)` of an aggregate or a window. Such a column's values 1..threshold-1 become
//! null and a companion boolean column `<name>_suppressed` says which ones were hidden.
//!
//! Limits: arithmetic on a count (`count(*) + 0`, `sum` of counts from a subquery) is not
//! followed, and there is no complementary suppression (a total beside a hidden cell can
//! give it away). The rule guards against publishing small counts by accident; the
//! analysts it serves already see pseudonymous rows of their own enti.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, Int64Builder, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::logical_expr::{Distinct, Expr, LogicalPlan};
use mosaico_analytics::disclosure::primary;

/// The suffix of the companion column that marks hidden counts.
pub const SUFFIX: &str = "_suppressed";

/// For each output column of `plan`, whether it is a count.
pub fn count_columns(plan: &LogicalPlan) -> Vec<bool> {
    let width = plan.schema().fields().len();
    match plan {
        LogicalPlan::Projection(p) => p.expr.iter().map(|e| expr_is_count(e, &p.input)).collect(),
        LogicalPlan::Aggregate(a) => {
            let first_aggr = width.saturating_sub(a.aggr_expr.len());
            (0..width).map(|i| i >= first_aggr && a.aggr_expr.get(i - first_aggr).is_some_and(is_count)).collect()
        }
        LogicalPlan::Window(w) => {
            let mut out = count_columns(&w.input);
            out.extend(w.window_expr.iter().map(is_count));
            out
        }
        LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Repartition(_)
        | LogicalPlan::Distinct(Distinct::All(_)) => match plan.inputs().first() {
            Some(input) => count_columns(input),
            None => vec![false; width],
        },
        LogicalPlan::Union(u) => {
            let mut out = vec![false; width];
            for input in &u.inputs {
                for (o, c) in out.iter_mut().zip(count_columns(input)) {
                    *o |= c;
                }
            }
            out
        }
        LogicalPlan::Join(_) => by_qualified_name(plan),
        _ => vec![false; width],
    }
}

/// Each output column looked up by its qualified name in the node's inputs.
fn by_qualified_name(plan: &LogicalPlan) -> Vec<bool> {
    let inputs: Vec<(&LogicalPlan, Vec<bool>)> = plan.inputs().into_iter().map(|p| (p, count_columns(p))).collect();
    plan.schema()
        .columns()
        .iter()
        .map(|c| inputs.iter().any(|(p, counts)| p.schema().maybe_index_of_column(c).is_some_and(|i| counts[i])))
        .collect()
}

/// Whether a projected expression is a count of `input` (or a count itself).
fn expr_is_count(e: &Expr, input: &LogicalPlan) -> bool {
    match e {
        Expr::Alias(a) => expr_is_count(&a.expr, input),
        Expr::Cast(c) => expr_is_count(&c.expr, input),
        Expr::TryCast(c) => expr_is_count(&c.expr, input),
        Expr::Column(c) => {
            input.schema().maybe_index_of_column(c).is_some_and(|i| count_columns(input).get(i) == Some(&true))
        }
        other => is_count(other),
    }
}

/// Whether an aggregate or window expression is `COUNT(…)`.
fn is_count(e: &Expr) -> bool {
    match e {
        Expr::Alias(a) => is_count(&a.expr),
        Expr::AggregateFunction(f) => f.func.name().eq_ignore_ascii_case("count"),
        Expr::WindowFunction(w) => w.fun.name().eq_ignore_ascii_case("count"),
        _ => false,
    }
}

/// The schema after suppression: each count column becomes a nullable Int64 followed
/// by its boolean `<name>_suppressed`.
pub fn suppressed_schema(schema: &Schema, counts: &[bool]) -> SchemaRef {
    let mut fields: Vec<Field> = Vec::with_capacity(schema.fields().len() + counts.len());
    for (f, is_count) in schema.fields().iter().zip(counts) {
        if *is_count {
            fields.push(Field::new(f.name(), DataType::Int64, true));
            fields.push(Field::new(format!("{}{SUFFIX}", f.name()), DataType::Boolean, false));
        } else {
            fields.push(f.as_ref().clone());
        }
    }
    Arc::new(Schema::new(fields))
}

/// Hides the counts under `threshold` in a batch (see the module's rule).
pub fn suppress(
    batch: &RecordBatch,
    counts: &[bool],
    schema: &SchemaRef,
    threshold: u64,
) -> Result<RecordBatch, ArrowError> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (column, is_count) in batch.columns().iter().zip(counts) {
        if !*is_count {
            columns.push(column.clone());
            continue;
        }
        let values = cast(column, &DataType::Int64)?;
        let values = values.as_primitive::<Int64Type>();
        let mut shown = Int64Builder::with_capacity(values.len());
        let mut hidden = BooleanBuilder::with_capacity(values.len());
        for i in 0..values.len() {
            let n = values.is_valid(i).then(|| values.value(i));
            let hide = n.is_some_and(|n| n > 0 && primary(n.unsigned_abs(), threshold));
            shown.append_option(n.filter(|_| !hide));
            hidden.append_value(hide);
        }
        columns.push(Arc::new(shown.finish()));
        columns.push(Arc::new(hidden.finish()));
    }
    RecordBatch::try_new(schema.clone(), columns)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};

    #[test]
    fn small_counts_are_hidden_and_marked_zero_and_null_are_not() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("nil", DataType::Utf8, false),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e"])),
                Arc::new(Int64Array::from(vec![Some(0), Some(1), Some(4), Some(5), None])),
            ],
        )
        .unwrap();
        let counts = [false, true];
        let out_schema = suppressed_schema(&schema, &counts);
        let out = suppress(&batch, &counts, &out_schema, 5).unwrap();
        assert_eq!(out.schema().field(2).name(), "n_suppressed");
        let n = out.column(1).as_primitive::<Int64Type>();
        let hidden = out.column(2).as_boolean();
        let got: Vec<(Option<i64>, bool)> =
            (0..5).map(|i| (n.is_valid(i).then(|| n.value(i)), hidden.value(i))).collect();
        assert_eq!(got, vec![(Some(0), false), (None, true), (None, true), (Some(5), false), (None, false)]);
    }
}
