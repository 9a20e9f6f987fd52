//! Aree di utenza of the ISTAT survey of municipal social services.

use std::fmt;
use std::str::FromStr;

/// The seven aree di utenza of the ISTAT survey *Interventi e servizi sociali dei comuni*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaUtenza {
    /// Famiglia e minori.
    FamigliaMinori,
    /// Disabili.
    Disabili,
    /// Dipendenze.
    Dipendenze,
    /// Anziani (65+).
    Anziani,
    /// Immigrati e nomadi.
    ImmigratiNomadi,
    /// Povertà e disagio adulti.
    PovertaDisagioAdulti,
    /// Multiutenza.
    Multiutenza,
}

impl AreaUtenza {
    /// All areas, in the survey's order.
    pub const ALL: [AreaUtenza; 7] = [
        Self::FamigliaMinori,
        Self::Disabili,
        Self::Dipendenze,
        Self::Anziani,
        Self::ImmigratiNomadi,
        Self::PovertaDisagioAdulti,
        Self::Multiutenza,
    ];

    /// The stable code used in files and tables.
    pub fn code(self) -> &'static str {
        match self {
            Self::FamigliaMinori => "famiglia_minori",
            Self::Disabili => "disabili",
            Self::Dipendenze => "dipendenze",
            Self::Anziani => "anziani",
            Self::ImmigratiNomadi => "immigrati_nomadi",
            Self::PovertaDisagioAdulti => "poverta_disagio_adulti",
            Self::Multiutenza => "multiutenza",
        }
    }

    /// The official Italian name.
    pub fn name_it(self) -> &'static str {
        match self {
            Self::FamigliaMinori => "Famiglia e minori",
            Self::Disabili => "Disabili",
            Self::Dipendenze => "Dipendenze",
            Self::Anziani => "Anziani",
            Self::ImmigratiNomadi => "Immigrati e nomadi",
            Self::PovertaDisagioAdulti => "Povertà e disagio adulti",
            Self::Multiutenza => "Multiutenza",
        }
    }
}

impl fmt::Display for AreaUtenza {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An unknown area code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown area di utenza '{0}'; expected one of famiglia_minori, disabili, dipendenze, anziani, immigrati_nomadi, poverta_disagio_adulti, multiutenza"
)]
pub struct UnknownArea(pub String);

impl FromStr for AreaUtenza {
    type Err = UnknownArea;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|a| a.code() == s.trim()).ok_or_else(|| UnknownArea(s.to_owned()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for a in AreaUtenza::ALL {
            assert_eq!(a.code().parse::<AreaUtenza>().unwrap(), a);
        }
        assert!("anziano".parse::<AreaUtenza>().is_err());
    }
}
