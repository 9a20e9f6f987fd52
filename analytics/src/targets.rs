//! The catalogue of targets: groups of persons or households, each a SQL rule over the
//! `persons` or `households` view, linked to the services that answer it. The catalogue
//! is TOML (`analytics/targets.toml`, built in; another file can replace it), so planners
//! add targets without code changes.

use std::collections::HashSet;

use mosaico_domain::AreaUtenza;
use mosaico_domain::services::{FACILITY_TYPES, service};

use crate::{Error, Result};

/// The catalogue shipped with Mosaico.
pub const BUILT_IN: &str = include_str!("../targets.toml");

/// Whom a target counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Persons: rows of the `persons` view.
    Person,
    /// Households: rows of the `households` view.
    Household,
}

impl Kind {
    /// The view the rule is written over.
    pub fn view(self) -> &'static str {
        match self {
            Kind::Person => "persons",
            Kind::Household => "households",
        }
    }
}

/// One target.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Stable code (lowercase letters, digits, underscores).
    pub id: String,
    /// Italian name.
    pub name: String,
    /// English name.
    #[serde(default)]
    pub name_en: Option<String>,
    /// Persons or households.
    pub kind: Kind,
    /// Area di utenza code.
    pub area: String,
    /// SQL predicate over the kind's view.
    pub rule: String,
    /// Facility types whose places answer the target.
    pub facility_types: Vec<String>,
    /// Intervention codes that answer it.
    #[serde(default)]
    pub services: Vec<String>,
}

impl Target {
    /// The name in `lang` (`it` or `en`; Italian when there is no translation).
    pub fn name_in(&self, lang: &str) -> &str {
        match (lang, &self.name_en) {
            ("en", Some(en)) => en,
            _ => &self.name,
        }
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    target: Vec<Target>,
}

/// A checked catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    targets: Vec<Target>,
}

impl Catalogue {
    /// The built-in catalogue.
    pub fn built_in() -> Result<Self> {
        Self::parse(BUILT_IN, "analytics/targets.toml")
    }

    /// Parses and checks a catalogue; `origin` names it in errors. Each problem names
    /// the target and the field.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let file: File = toml::from_str(text).map_err(|e| Error::Invalid(format!("{origin}: {e}")))?;
        let mut problems = Vec::new();
        let mut ids = HashSet::new();
        let areas: Vec<&str> = AreaUtenza::ALL.iter().map(|a| a.code()).collect();
        let facility_types: Vec<&str> = FACILITY_TYPES.iter().map(|f| f.code).collect();
        for (n, t) in file.target.iter().enumerate() {
            let at = format!("target {} ('{}')", n + 1, t.id);
            if t.id.is_empty() || !t.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                problems.push(format!("{at}: id must be lowercase letters, digits and underscores"));
            }
            if !ids.insert(t.id.as_str()) {
                problems.push(format!("{at}: the id is used twice"));
            }
            if t.name.trim().is_empty() {
                problems.push(format!("{at}: name is empty"));
            }
            if !areas.contains(&t.area.as_str()) {
                problems.push(format!("{at}: area '{}' is not one of {}", t.area, areas.join(", ")));
            }
            if t.rule.trim().is_empty() || t.rule.contains(';') {
                problems.push(format!("{at}: rule must be one SQL predicate"));
            }
            if t.facility_types.is_empty() {
                problems.push(format!("{at}: facility_types is empty: accessibility needs at least one"));
            }
            for f in &t.facility_types {
                if !facility_types.contains(&f.as_str()) {
                    problems.push(format!("{at}: facility type '{f}' is not one of {}", facility_types.join(", ")));
                }
            }
            for s in &t.services {
                if service(s).is_none() {
                    problems.push(format!("{at}: service '{s}' is not in the intervention catalogue"));
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(format!("{origin}: {}", problems.join("; "))));
        }
        Ok(Self { targets: file.target })
    }

    /// Every target, in file order.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// A target by id; an unknown id is an error that lists the known ones.
    pub fn get(&self, id: &str) -> Result<&Target> {
        self.targets.iter().find(|t| t.id == id).ok_or_else(|| {
            let nearest =
                self.targets.iter().min_by_key(|t| mosaico_domain::text::edit_distance(&t.id, id)).map(|t| &t.id);
            Error::Invalid(format!(
                "unknown target '{id}'{}; the targets are: {}",
                nearest.map(|n| format!(" (did you mean '{n}'?)")).unwrap_or_default(),
                self.targets.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalogue_has_enough_targets_of_both_kinds() {
        let c = Catalogue::built_in().unwrap();
        let persons = c.targets().iter().filter(|t| t.kind == Kind::Person).count();
        let households = c.targets().iter().filter(|t| t.kind == Kind::Household).count();
        assert!(persons >= 30 && households >= 10, "{persons} person targets, {households} household targets");
        assert_eq!(c.get("anziani_75_soli").unwrap().rule, "age >= 75 AND household_size = 1");
    }

    #[test]
    fn problems_name_the_target_and_the_field() {
        let bad = r#"
[[target]]
id = "Bad Id"
name = "x"
kind = "person"
area = "elderly"
rule = "age > 1; drop table population"
facility_types = ["HOSPITAL"]
services = ["NOPE"]
"#;
        let err = Catalogue::parse(bad, "my.toml").unwrap_err().to_string();
        for needle in [
            "my.toml: target 1 ('Bad Id'): id must be",
            "area 'elderly' is not one of",
            "rule must be one SQL predicate",
            "facility type 'HOSPITAL' is not one of RSA",
            "service 'NOPE' is not in the intervention catalogue",
        ] {
            assert!(err.contains(needle), "{needle} not in {err}");
        }
        let unknown = "[[target]]\nid = \"a\"\nname = \"x\"\nkind = \"person\"\narea = \"anziani\"\nrule = \"TRUE\"\nfacility_types = [\"RSA\"]\ncolour = \"red\"\n";
        assert!(Catalogue::parse(unknown, "u.toml").unwrap_err().to_string().contains("colour"));
        let c = Catalogue::built_in().unwrap();
        let err = c.get("anziani_75_sol").unwrap_err().to_string();
        assert!(err.contains("did you mean 'anziani_75_soli'?") && err.contains("prima_infanzia"), "{err}");
    }

    #[test]
    fn a_catalogue_grows_without_code_changes() {
        // Ninety person and twenty-five household targets, generated: all accepted.
        let mut text = String::new();
        for (kind, n) in [("person", 90), ("household", 25)] {
            for i in 0..n {
                let rule =
                    if kind == "person" { format!("age >= {i}") } else { format!("household_size >= {}", i % 6) };
                text.push_str(&format!(
                    "[[target]]\nid = \"{kind}_{i}\"\nname = \"Gruppo {i}\"\nkind = \"{kind}\"\narea = \"multiutenza\"\nrule = \"{rule}\"\nfacility_types = [\"CDI\"]\n\n"
                ));
            }
        }
        let c = Catalogue::parse(&text, "big.toml").unwrap();
        assert_eq!(c.targets().len(), 115);
    }
}
