//! Time travel: which version of each table a session reads.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::Error;

/// Which version of the tables to read.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum AsOf {
    /// The latest version of every table.
    #[default]
    Latest,
    /// The same version number for every table.
    Version(u64),
    /// Named versions for some tables; the others at their latest.
    Tables(BTreeMap<String, u64>),
    /// Every table as it was at this time: the one way to read several tables
    /// consistently, since each table numbers its versions on its own.
    Time(DateTime<Utc>),
}

pub(crate) enum Target {
    Latest,
    Version(u64),
    Time(DateTime<Utc>),
}

impl AsOf {
    /// Reads `3`, `population=3,cells=1` or an RFC 3339 time.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if let Ok(v) = s.parse::<u64>() {
            return Ok(Self::Version(v));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Self::Time(t.with_timezone(&Utc)));
        }
        let mut map = BTreeMap::new();
        for part in s.split(',') {
            let (name, v) = part.split_once('=').ok_or_else(|| Error::AsOf(s.to_owned()))?;
            let v = v.trim().parse::<u64>().map_err(|_| Error::AsOf(s.to_owned()))?;
            map.insert(name.trim().to_owned(), v);
        }
        if map.is_empty() {
            return Err(Error::AsOf(s.to_owned()));
        }
        Ok(Self::Tables(map))
    }

    pub(crate) fn version_for(&self, table: &str) -> Target {
        match self {
            AsOf::Latest => Target::Latest,
            AsOf::Version(v) => Target::Version(*v),
            AsOf::Tables(m) => m.get(table).map_or(Target::Latest, |v| Target::Version(*v)),
            AsOf::Time(t) => Target::Time(*t),
        }
    }

    pub(crate) fn check_tables(&self, tables: &[String]) -> Result<(), Error> {
        if let AsOf::Tables(m) = self
            && let Some(missing) = m.keys().find(|k| !tables.contains(k))
        {
            return Err(Error::NoTable(missing.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(AsOf::parse("3").unwrap(), AsOf::Version(3));
        assert!(matches!(AsOf::parse("2026-11-22T10:00:00Z").unwrap(), AsOf::Time(_)));
        let AsOf::Tables(m) = AsOf::parse("population=2, cells=0").unwrap() else { panic!() };
        assert_eq!(m.get("population"), Some(&2));
        assert!(AsOf::parse("yesterday").is_err());
        assert!(AsOf::parse("population=x").is_err());
    }
}
