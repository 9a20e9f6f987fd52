//! Co-payment (*compartecipazione*): how much of a service's cost the user pays,
//! from their ISEE, and how the cost splits into *quota utente*, *quota ente* and
//! *quota SSN* — the same split the INPS record carries.
//!
//! ```text
//!  cost ──▶ SSN pays ssn_share of it (health-social services) ──▶ social part
//!  social part × share(ISEE) ──▶ quota utente, at most the monthly maximum
//!  the rest ──▶ quota ente
//!
//!  share(ISEE):  0 up to `start` (exempt at or below `floor`)
//!                start_share at `start`, rising to max_share at `full`
//!                (linear, a power curve, or equal steps), max_share above
//! ```
//!
//! A rule reads the ISEE as declared (annual) or as a monthly figure (annual / 12), as
//! some comuni write their regulations. Without an ISEE the user pays the maximum share,
//! as regulations prescribe when the declaration is missing.
//!
//! Two real regulations, as tests below:
//! - Lanciano: exempt under an ISEE of €8,000, the full share above €36,000, linear between;
//! - Ascoli Piceno: exempt up to a monthly ISEE of €630.08, 20% from €630.59, one point more
//!   for each ≈ €5.16, 100% at €1,043.24 (80 equal steps).
//!
//! Rules per service are kept in TOML (`domain/copay.toml` is the built-in set):
//!
//! ```toml
//! [services.RSA]
//! name = "RSA: quota sociale della retta"
//! basis = "annual"
//! floor = 8000.0
//! full = 36000.0
//! ssn_share = 0.4
//! monthly_max = 1800.0
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

/// Which ISEE figure a rule's thresholds are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The ISEE as declared (a yearly figure).
    #[default]
    Annual,
    /// The ISEE divided by 12.
    Monthly,
}

/// How the share rises between `start` and `full`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Shape {
    /// A straight line.
    #[default]
    Linear,
    /// `((x - start) / (full - start)) ^ exponent` of the way up.
    Power {
        /// Above 1 rises slowly at first; below 1 quickly.
        exponent: f64,
    },
    /// `steps` equal steps: the share rises by `(max - start_share) / steps` each time
    /// the ISEE passes another `(full - start) / steps`.
    Steps {
        /// How many steps.
        steps: u32,
    },
}

/// A co-payment rule for one service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// What the rule is, in words (shown beside a split).
    #[serde(default)]
    pub name: String,
    /// Annual or monthly ISEE.
    #[serde(default)]
    pub basis: Basis,
    /// Exempt at or below this ISEE.
    pub floor: f64,
    /// Where the share starts (defaults to `floor`); between `floor` and `start` the
    /// user is exempt too.
    #[serde(default)]
    pub start: Option<f64>,
    /// The share at `start` (0–1).
    #[serde(default)]
    pub start_share: f64,
    /// The ISEE at which the share reaches `max_share`.
    pub full: f64,
    /// The share at and above `full` (0–1), the cap.
    #[serde(default = "one")]
    pub max_share: f64,
    /// The curve between `start` and `full`.
    #[serde(default)]
    pub shape: Shape,
    /// The user never pays more than this in a month, in euro.
    #[serde(default)]
    pub monthly_max: Option<f64>,
    /// The share of the cost the health service pays (SSN/SSR), before the user's share.
    #[serde(default)]
    pub ssn_share: f64,
}

fn one() -> f64 {
    1.0
}

/// A cost split three ways, in euro cents; the parts add up to the cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Split {
    /// Quota ente: what the comune pays.
    pub ente_cents: i64,
    /// Quota utente: what the user pays.
    pub utente_cents: i64,
    /// Quota SSN: what the health service pays.
    pub ssn_cents: i64,
}

impl Split {
    /// The cost split.
    pub fn total_cents(&self) -> i64 {
        self.ente_cents + self.utente_cents + self.ssn_cents
    }
}

/// A rule that does not hold together.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("co-payment rule '{service}': {reason}")]
pub struct RuleError {
    /// The service the rule is for.
    pub service: String,
    /// What is wrong.
    pub reason: String,
}

impl Rule {
    fn start(&self) -> f64 {
        self.start.unwrap_or(self.floor)
    }

    /// Checks the thresholds and shares are in order.
    pub fn check(&self, service: &str) -> Result<(), RuleError> {
        let fail = |reason: String| Err(RuleError { service: service.to_owned(), reason });
        let shares = [("start_share", self.start_share), ("max_share", self.max_share), ("ssn_share", self.ssn_share)];
        for (name, v) in shares {
            if !(0.0..=1.0).contains(&v) {
                return fail(format!("{name} {v} is not between 0 and 1"));
            }
        }
        if !(self.floor >= 0.0 && self.floor <= self.start() && self.start() < self.full) {
            return fail(format!(
                "thresholds must rise: floor {} <= start {} < full {}",
                self.floor,
                self.start(),
                self.full
            ));
        }
        if self.start_share > self.max_share {
            return fail(format!("start_share {} is above max_share {}", self.start_share, self.max_share));
        }
        match self.shape {
            Shape::Power { exponent } if !(exponent > 0.0 && exponent.is_finite()) => {
                return fail(format!("power exponent {exponent} must be positive"));
            }
            Shape::Steps { steps: 0 } => return fail("steps must be at least 1".into()),
            _ => {}
        }
        if self.monthly_max.is_some_and(|m| m.is_nan() || m < 0.0) {
            return fail("monthly_max must not be negative".into());
        }
        Ok(())
    }

    /// The share of the social part the user pays, for an annual ISEE (`None`: not
    /// declared, which costs the maximum share).
    pub fn share(&self, isee: Option<f64>) -> f64 {
        let Some(isee) = isee else { return self.max_share };
        let x = match self.basis {
            Basis::Annual => isee,
            Basis::Monthly => isee / 12.0,
        };
        let start = self.start();
        if x <= self.floor || x < start {
            return 0.0;
        }
        if x >= self.full {
            return self.max_share;
        }
        let t = (x - start) / (self.full - start);
        let rise = match self.shape {
            Shape::Linear => t,
            Shape::Power { exponent } => t.powf(exponent),
            Shape::Steps { steps } => (t * f64::from(steps) + 1e-9).floor() / f64::from(steps),
        };
        self.start_share + (self.max_share - self.start_share) * rise
    }

    /// Splits a cost for a user with this ISEE; `months` is how many months the cost
    /// covers (the monthly maximum scales with it).
    pub fn split(&self, isee: Option<f64>, cost_cents: i64, months: f64) -> Split {
        let cost_cents = cost_cents.max(0);
        let ssn_cents = round_cents(cost_cents as f64 * self.ssn_share);
        let social = cost_cents - ssn_cents;
        let mut utente_cents = round_cents(social as f64 * self.share(isee));
        if let Some(max) = self.monthly_max {
            utente_cents = utente_cents.min(round_cents(max * 100.0 * months.max(0.0)));
        }
        Split { ente_cents: social - utente_cents, utente_cents, ssn_cents }
    }
}

fn round_cents(v: f64) -> i64 {
    v.round() as i64
}

/// The co-payment rules, one per service or facility type code.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// By service code.
    pub services: BTreeMap<String, Rule>,
}

impl Default for Rules {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Rules {
    /// The built-in rules (`domain/copay.toml`).
    pub fn builtin() -> Self {
        #[allow(clippy::expect_used)] // checked by a test
        Self::from_toml(include_str!("../copay.toml")).expect("domain/copay.toml holds valid rules")
    }

    /// Reads rules from TOML and checks each.
    pub fn from_toml(text: &str) -> Result<Self, RuleError> {
        let rules: Rules =
            toml::from_str(text).map_err(|e| RuleError { service: "(file)".into(), reason: e.message().to_owned() })?;
        for (code, rule) in &rules.services {
            rule.check(code)?;
        }
        Ok(rules)
    }

    /// The rule for a service, if it has one.
    pub fn get(&self, service: &str) -> Option<&Rule> {
        self.services.get(service)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lanciano() -> Rule {
        Rules::from_toml("[services.SAD]\nfloor = 8000.0\nfull = 36000.0\n").unwrap().services["SAD"].clone()
    }

    fn ascoli() -> Rule {
        let text = "[services.RSA]\nbasis = \"monthly\"\nfloor = 630.08\nstart = 630.59\nstart_share = 0.2\n\
                    full = 1043.24\nshape = { kind = \"steps\", steps = 80 }\n";
        Rules::from_toml(text).unwrap().services["RSA"].clone()
    }

    #[test]
    fn lanciano_is_exempt_under_8000_and_full_above_36000() {
        let r = lanciano();
        assert_eq!(r.share(Some(5_000.0)), 0.0);
        assert_eq!(r.share(Some(8_000.0)), 0.0);
        assert!((r.share(Some(22_000.0)) - 0.5).abs() < 1e-12);
        assert!((r.share(Some(15_000.0)) - 0.25).abs() < 1e-12);
        assert_eq!(r.share(Some(36_000.0)), 1.0);
        assert_eq!(r.share(Some(90_000.0)), 1.0);
        assert_eq!(r.share(None), 1.0, "no ISEE: the full share");
        // 22,000 €: half of 400 € is the user's.
        assert_eq!(
            r.split(Some(22_000.0), 40_000, 1.0),
            Split { ente_cents: 20_000, utente_cents: 20_000, ssn_cents: 0 }
        );
    }

    #[test]
    fn ascoli_piceno_rises_a_point_per_5_16_euro_of_monthly_isee() {
        let r = ascoli();
        let monthly = |m: f64| r.share(Some(m * 12.0));
        assert_eq!(monthly(630.08), 0.0, "exempt up to 630.08 monthly");
        assert_eq!(monthly(630.50), 0.0, "below the band's start");
        assert!((monthly(630.59) - 0.20).abs() < 1e-12, "20% from 630.59");
        assert!((monthly(630.59 + 5.16) - 0.21).abs() < 1e-12, "+1 point after ≈ 5.16 €");
        assert!((monthly(630.59 + 5.15) - 0.20).abs() < 1e-12, "not before");
        assert!((monthly(630.59 + 10.0 * 5.16) - 0.30).abs() < 1e-12);
        assert!((monthly(1043.23) - 0.99).abs() < 1e-12);
        assert_eq!(monthly(1043.24), 1.0, "100% at 1,043.24");
        // The published step: (1043.24 - 630.59) / 80.
        assert!(((1043.24 - 630.59) / 80.0 - 5.16_f64).abs() < 0.01);
    }

    #[test]
    fn the_split_adds_up_with_ssn_and_a_monthly_cap() {
        let mut r = lanciano();
        r.ssn_share = 0.4;
        r.monthly_max = Some(1_000.0);
        // A month of RSA at 100 €/day: 3,000 €, SSN 1,200, social 1,800; ISEE 36,000: full share, capped at 1,000.
        let s = r.split(Some(36_000.0), 300_000, 1.0);
        assert_eq!(s, Split { ente_cents: 80_000, utente_cents: 100_000, ssn_cents: 120_000 });
        assert_eq!(s.total_cents(), 300_000);
        // Two months: the cap doubles.
        assert_eq!(r.split(Some(36_000.0), 600_000, 2.0).utente_cents, 200_000);
        // Odd cents: the parts still add up.
        for cost in [1, 7, 99_999, 123_457] {
            for isee in [None, Some(0.0), Some(9_999.99), Some(20_000.0), Some(50_000.0)] {
                assert_eq!(r.split(isee, cost, 1.0).total_cents(), cost);
            }
        }
    }

    #[test]
    fn power_shape_bends_the_band() {
        let mut r = lanciano();
        r.shape = Shape::Power { exponent: 2.0 };
        assert!((r.share(Some(22_000.0)) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn bad_rules_are_refused_with_the_service_named() {
        let e = Rules::from_toml("[services.X]\nfloor = 9000.0\nfull = 8000.0\n").unwrap_err();
        assert_eq!(e.service, "X");
        assert!(e.reason.contains("thresholds must rise"), "{e}");
        let e = Rules::from_toml("[services.Y]\nfloor = 0.0\nfull = 1.0\nmax_share = 1.5\n").unwrap_err();
        assert!(e.to_string().contains("max_share 1.5"), "{e}");
        let e = Rules::from_toml("[services.Z]\nfloor = 0.0\nfull = 1.0\ncap = 3\n").unwrap_err();
        assert!(e.reason.contains("cap"), "{e}");
    }

    #[test]
    fn builtin_rules_load_and_cover_residential_types() {
        let rules = Rules::builtin();
        for t in crate::services::FACILITY_TYPES {
            let r = rules.get(t.code).unwrap_or_else(|| panic!("no rule for {}", t.code));
            assert!((r.ssn_share - t.ssn_share).abs() < 1e-12, "{}: SSN share as the catalogue", t.code);
        }
    }
}
