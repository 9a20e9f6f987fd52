//! Budgets of the managers' dashboard: per ente, year and area di utenza, in euro cents,
//! with who set each figure and when; and the waiting-list facts the dashboard measures
//! waits from (no names: ente, facility type, listing and admission dates).
//!
//! A year's budget is set in one go (all seven areas, one transaction, audited): a form
//! with a bad field saves nothing.

use chrono::{DateTime, Utc};
use mosaico_domain::AreaUtenza;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Result;
use crate::error::Checker;
use crate::input::parse_euros;

/// One budget figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct Budget {
    /// Ente (ISTAT code).
    pub ente: String,
    /// Calendar year.
    pub year: i32,
    /// Area di utenza code.
    pub area_utenza: String,
    /// Amount, euro cents.
    pub amount_cents: i64,
    /// Who set it.
    pub set_by_name: String,
    /// When.
    pub set_at: DateTime<Utc>,
}

/// A year's budget per area, as text from a form or JSON (euros: `1250000`,
/// `1.250.000`, `1250000,50`). Every area is required.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct BudgetInput {
    /// The ente (default: the user's own).
    pub ente: Option<String>,
    /// The year (2000–2100).
    pub year: Option<String>,
    /// Famiglia e minori.
    pub famiglia_minori: Option<String>,
    /// Disabili.
    pub disabili: Option<String>,
    /// Dipendenze.
    pub dipendenze: Option<String>,
    /// Anziani.
    pub anziani: Option<String>,
    /// Immigrati e nomadi.
    pub immigrati_nomadi: Option<String>,
    /// Povertà e disagio adulti.
    pub poverta_disagio_adulti: Option<String>,
    /// Multiutenza.
    pub multiutenza: Option<String>,
}

/// A checked year's budget: the year and the cents of each area, in [`AreaUtenza::ALL`]'s order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetData {
    /// Year.
    pub year: i32,
    /// (area code, cents).
    pub amounts: Vec<(&'static str, i64)>,
}

/// Euros as a manager types them: `1.250.000` (dots grouping thousands), `1 250 000`,
/// `1250000,50`, `1250000.50`.
pub fn parse_amount(text: &str) -> Option<i64> {
    let t: String = text.trim().chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\'' | '€')).collect();
    // With a decimal comma, or in groups of three, dots group thousands (Italian style).
    let grouped = t.contains(',')
        || t.split('.').count() > 2
        || t.split_once('.').is_some_and(|(a, b)| b.len() == 3 && !a.is_empty());
    let plain = if grouped { t.replace('.', "") } else { t };
    parse_euros(&plain)
}

impl BudgetInput {
    /// The amount typed for an area.
    pub fn amount(&self, area: AreaUtenza) -> Option<&str> {
        let v = match area {
            AreaUtenza::FamigliaMinori => &self.famiglia_minori,
            AreaUtenza::Disabili => &self.disabili,
            AreaUtenza::Dipendenze => &self.dipendenze,
            AreaUtenza::Anziani => &self.anziani,
            AreaUtenza::ImmigratiNomadi => &self.immigrati_nomadi,
            AreaUtenza::PovertaDisagioAdulti => &self.poverta_disagio_adulti,
            AreaUtenza::Multiutenza => &self.multiutenza,
        };
        v.as_deref()
    }

    /// Checks every field, reporting all problems at once.
    pub fn check(&self) -> Result<BudgetData> {
        let mut c = Checker::default();
        let raw_year = self.year.as_deref().unwrap_or("").trim();
        let year = match raw_year.parse::<i32>() {
            Ok(y) if (2000..=2100).contains(&y) => y,
            _ if raw_year.is_empty() => {
                c.fail("year", "required", &[], "required (a year, e.g. 2026)");
                0
            }
            _ => {
                c.fail(
                    "year",
                    "not_a_year",
                    &[("value", raw_year.to_owned())],
                    format!("'{raw_year}' is not a year between 2000 and 2100"),
                );
                0
            }
        };
        let mut amounts = Vec::with_capacity(AreaUtenza::ALL.len());
        for area in AreaUtenza::ALL {
            let field = area.code();
            let cents = match self.amount(area).map(str::trim).filter(|t| !t.is_empty()) {
                None => {
                    c.fail(field, "required", &[], "required (euros, e.g. 1.250.000)");
                    0
                }
                Some(t) => match parse_amount(t) {
                    Some(v) if v <= 10_000_000_000_000 => v,
                    _ => {
                        c.fail(
                            field,
                            "not_euros",
                            &[("value", t.to_owned())],
                            format!("'{t}' is not an amount in euros (e.g. 1.250.000 or 1250000,50)"),
                        );
                        0
                    }
                },
            };
            amounts.push((field, cents));
        }
        c.finish()?;
        Ok(BudgetData { year, amounts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_as_managers_type_them() {
        assert_eq!(parse_amount("1.250.000"), Some(125_000_000));
        assert_eq!(parse_amount("1 250 000"), Some(125_000_000));
        assert_eq!(parse_amount("1250000,50"), Some(125_000_050));
        assert_eq!(parse_amount("12.50"), Some(1250));
        assert_eq!(parse_amount("250.000"), Some(25_000_000));
        assert_eq!(parse_amount("300.000,50"), Some(30_000_050));
        assert_eq!(parse_amount("€ 3.000"), Some(300_000));
        assert_eq!(parse_amount("molti"), None);
        assert_eq!(parse_amount("-5"), None);
    }

    #[test]
    fn every_field_is_checked_at_once() {
        let input = BudgetInput { year: Some("20x6".into()), anziani: Some("tanti".into()), ..Default::default() };
        let Err(crate::CaseError::Invalid(errs)) = input.check() else { panic!("accepted") };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"year") && fields.contains(&"anziani") && fields.contains(&"disabili"), "{fields:?}");
        assert_eq!(errs.iter().find(|e| e.field == "anziani").map(|e| e.code.as_str()), Some("not_euros"));
    }
}
