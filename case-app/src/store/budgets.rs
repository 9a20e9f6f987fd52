//! Budgets and waiting-list facts for the managers' dashboard: SQL written once for both
//! backends (a trait implemented for each connection type), and the operations, which
//! check the role and keep to the user's enti.

use chrono::{DateTime, Utc};

use super::ops::{line, now, scope};
use super::residential_sql::ResidentialOps;
use super::sql::Ops;
use super::{Store, read, tx};
use crate::budgets::{Budget, BudgetData, BudgetInput};
use crate::model::{Actor, Permission};
use crate::residential::Listing;
use crate::{CaseError, Result};

pub(crate) trait BudgetOps {
    async fn budgets_of(&mut self, ente: &str, from_year: i32, to_year: i32) -> sqlx::Result<Vec<Budget>>;
    async fn put_budget(
        &mut self,
        ente: &str,
        year: i32,
        area: &str,
        cents: i64,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<()>;
}

macro_rules! impl_budgets {
    ($conn:ty) => {
        impl BudgetOps for $conn {
            async fn budgets_of(&mut self, ente: &str, from_year: i32, to_year: i32) -> sqlx::Result<Vec<Budget>> {
                sqlx::query_as(
                    "SELECT b.ente, b.year, b.area_utenza, b.amount_cents, u.full_name AS set_by_name, b.set_at \
                     FROM budgets b JOIN users u ON u.id = b.set_by \
                     WHERE b.ente = $1 AND b.year BETWEEN $2 AND $3 ORDER BY b.year, b.area_utenza",
                )
                .bind(ente)
                .bind(from_year)
                .bind(to_year)
                .fetch_all(&mut *self)
                .await
            }

            async fn put_budget(
                &mut self,
                ente: &str,
                year: i32,
                area: &str,
                cents: i64,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO budgets (ente, year, area_utenza, amount_cents, set_by, set_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (ente, year, area_utenza) DO UPDATE SET \
                     amount_cents = excluded.amount_cents, set_by = excluded.set_by, set_at = excluded.set_at",
                )
                .bind(ente)
                .bind(year)
                .bind(area)
                .bind(cents)
                .bind(by)
                .bind(now)
                .execute(&mut *self)
                .await
                .map(|_| ())
            }
        }
    };
}

impl_budgets!(sqlx::SqliteConnection);
impl_budgets!(sqlx::PgConnection);

impl Store {
    /// The budgets of the given enti (those in the user's scope; others are ignored)
    /// for the years `from_year..=to_year`.
    pub async fn budgets(&self, actor: &Actor, enti: &[String], from_year: i32, to_year: i32) -> Result<Vec<Budget>> {
        actor.require(Permission::ReportRead, "see budgets")?;
        let mut out = Vec::new();
        read!(self, |c| {
            for e in enti.iter().filter(|e| actor.sees(e)) {
                out.extend(c.budgets_of(e, from_year, to_year).await?);
            }
        });
        Ok(out)
    }

    /// Sets a year's budget of an ente (default: the user's) for every area di utenza,
    /// in one transaction with its audit line; a bad field saves nothing.
    pub async fn set_budgets(&self, actor: &Actor, input: &BudgetInput) -> Result<Vec<Budget>> {
        actor.require(Permission::BudgetWrite, "set budgets")?;
        let ente = actor.ente_for(input.ente.as_deref())?;
        let BudgetData { year, amounts } = input.check()?;
        tx!(self, |c| {
            let t = now();
            for (area, cents) in &amounts {
                c.put_budget(&ente, year, area, *cents, actor.user_id, t).await?;
            }
            let mut l = line(actor, "set_budget", "budget", i64::from(year), None, &ente);
            l.detail = Some(
                amounts.iter().map(|(a, v)| format!("{a} {}.{:02}", v / 100, v % 100)).collect::<Vec<_>>().join("; "),
            );
            c.audit(l, t).await?;
        });
        self.budgets(actor, std::slice::from_ref(&ente), year, year).await
    }

    /// The placement requests that reached a waiting list in the given enti (those in
    /// the user's scope), without names: for list lengths and waits.
    pub async fn waiting_facts(&self, actor: &Actor, enti: &[String]) -> Result<Vec<Listing>> {
        actor.require(Permission::ReportRead, "see waiting-list figures")?;
        if enti.iter().any(|e| !actor.sees(e)) {
            return Err(CaseError::NotFound("ente"));
        }
        let (ente, ambito) = scope(actor);
        let rows = read!(self, |c| c.listings_in_scope(ente, ambito).await?);
        Ok(rows.into_iter().filter(|r| enti.contains(&r.ente)).collect())
    }
}
