//! Mosaico's shared vocabulary, kept deliberately small.
//!
//! Every other crate speaks these types instead of bare strings and numbers:
//!
//! - [`FiscalCode`]: an Italian *codice fiscale*, parsed with its check character
//!   (16 characters, omocodia allowed) or an 11-digit temporary code;
//! - [`IstatCode`]: the six-digit ISTAT code of a comune (`015146` is Milano);
//! - [`AreaUtenza`]: the ISTAT areas of the survey of municipal social services;
//! - [`services`]: the catalogue of social services and facility types;
//! - [`copay`]: co-payment rules from ISEE and the ente / utente / SSN split;
//! - [`i18n`]: the message catalogue (Italian and English) every page speaks from;
//! - [`territory`]: GeoJSON boundaries (NIL, Municipi, comuni) read strictly as WGS84
//!   lon/lat, with a point-in-polygon index.
//!
//! ```
//! use mosaico_domain::FiscalCode;
//! let cf = FiscalCode::parse("RSSMRA85T10A562S").unwrap();
//! assert_eq!(cf.as_str(), "RSSMRA85T10A562S");
//! assert!(FiscalCode::parse("RSSMRA85T10A562X").is_err());
//! ```

mod area_utenza;
pub mod copay;
mod fiscal_code;
pub mod i18n;
mod istat;
pub mod services;
pub mod territory;
pub mod text;

pub use area_utenza::{AreaUtenza, UnknownArea};
pub use fiscal_code::{FiscalCode, FiscalCodeError, Sex};
pub use istat::{IstatCode, IstatCodeError};

/// The ISTAT code of the Comune di Milano.
pub const MILANO: &str = "015146";
