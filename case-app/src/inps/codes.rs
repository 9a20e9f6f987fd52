//! The codings the flows speak that the case file does not: the INPS benefit code of
//! each service of the catalogue, the INPS area di utenza, ISTAT country codes,
//! the birth place carried by a fiscal code, the SINBA age and ISEE bands.
//!
//! Each is one table or one function here, so a change of coding is one change.

use chrono::{Datelike, NaiveDate};
use mosaico_domain::AreaUtenza;

/// Whether a benefit is paid or delivered over a period, or once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Character {
    /// *Periodico* (`CaratterePrestazione` 1): start, end, months and a monthly amount.
    Periodic,
    /// *Occasionale* (`CaratterePrestazione` 2): a date and an amount.
    OneOff,
}

impl Character {
    /// The XSD code: `1` periodic, `2` one-off.
    pub fn code(self) -> &'static str {
        match self {
            Character::Periodic => "1",
            Character::OneOff => "2",
        }
    }
}

/// A service of the catalogue as an INPS benefit (prestazione sociale).
#[derive(Debug, Clone, Copy)]
pub struct Benefit {
    /// The service code of the catalogue (`mosaico_domain::services`).
    pub service: &'static str,
    /// `CodicePrestazione` (5 to 10 characters).
    pub code: &'static str,
    /// `DenominazionePrestazione` (10 to 200 characters).
    pub name: &'static str,
    /// Periodic or one-off: one-off exactly when the catalogue counts the service
    /// `una_tantum` (a test holds the two together).
    pub character: Character,
    /// `PresenzaProvaMezzi` when the benefit's own record does not say: `1` ISEE,
    /// `4` no means test. Transfers and services with an ISEE co-payment are `1`.
    pub means_test: u8,
}

const fn b(service: &'static str, code: &'static str, name: &'static str, one_off: bool, means_test: u8) -> Benefit {
    let character = if one_off { Character::OneOff } else { Character::Periodic };
    Benefit { service, code, name, character, means_test }
}

/// Every service of the catalogue with its INPS benefit code.
///
/// The codes follow the structure of the national nomenclator of social interventions
/// and services (CISIS, adopted for the Casellario): a letter for the macro-area (A
/// access and professional social service, B inclusion, C home care, D day centres, E
/// residential care, F emergency shelter, G economic transfers), a digit for the
/// intervention, two for the service. They are this project's reading of that
/// nomenclator: before a real send, confirm each against the INPS code list in force
/// for the ente (only this table changes).
pub const BENEFITS: &[Benefit] = &[
    b("SEGR", "A1.01", "Segretariato sociale e orientamento", true, 4),
    b("MEDIAZ", "A2.04", "Mediazione culturale e linguistica", false, 4),
    b("SIL", "B2.01", "Servizio di inserimento lavorativo", false, 4),
    b("SAD", "C1.01", "Assistenza domiciliare socio-assistenziale", false, 1),
    b("SAD_DIS", "C1.01", "Assistenza domiciliare socio-assistenziale", false, 1),
    b("ADM", "C1.03", "Assistenza domiciliare socio-educativa per minori", false, 4),
    b("PASTI", "C1.05", "Distribuzione pasti a domicilio", false, 1),
    b("TELESOC", "C1.06", "Telesoccorso e teleassistenza", false, 1),
    b("TRASP", "C2.01", "Trasporto sociale", true, 1),
    b("CDI", "D1.01", "Centro diurno integrato per anziani", false, 1),
    b("CDD", "D1.02", "Centro diurno per persone con disabilità", false, 1),
    b("CSE", "D1.03", "Centro socio educativo per persone con disabilità", false, 1),
    b("NIDO", "D2.01", "Asilo nido e servizi per la prima infanzia", false, 1),
    b("CEM", "E1.01", "Comunità educativa per minori", false, 4),
    b("RSA", "E2.01", "Retta per residenza sanitaria assistenziale (RSA)", false, 1),
    b("RSD", "E2.02", "Retta per residenza sanitaria per persone con disabilità", false, 1),
    b("SERD", "E2.03", "Comunità terapeutica per le dipendenze", false, 4),
    b("CAS", "E3.01", "Accoglienza residenziale per migranti", false, 4),
    b("DORM", "F1.01", "Accoglienza notturna per persone senza dimora", false, 4),
    b("BUONO_ANZ", "G1.01", "Buono sociale per anziani non autosufficienti", false, 1),
    b("CONTR_FAM", "G1.02", "Contributo economico a famiglie con minori", false, 1),
    b("CONTR_ECO", "G1.03", "Contributo economico ad integrazione del reddito", false, 1),
];

/// The INPS benefit of a service code, if the table has it.
pub fn benefit(service: &str) -> Option<&'static Benefit> {
    BENEFITS.iter().find(|b| b.service == service)
}

/// `AreaUtenza` of the PSA flow: `1` famiglia e minori, `2` disabilità e non
/// autosufficienza (the ISTAT areas disabili and anziani: the elderly's services in
/// the catalogue answer non-self-sufficiency), `3` povertà ed esclusione sociale
/// (povertà e disagio adulti, dipendenze, immigrati e nomadi). Multiutenza has no INPS
/// area: a benefit under it cannot be sent as taken in charge.
pub fn area_utenza(area: AreaUtenza) -> Option<&'static str> {
    match area {
        AreaUtenza::FamigliaMinori => Some("1"),
        AreaUtenza::Disabili | AreaUtenza::Anziani => Some("2"),
        AreaUtenza::PovertaDisagioAdulti | AreaUtenza::Dipendenze | AreaUtenza::ImmigratiNomadi => Some("3"),
        AreaUtenza::Multiutenza => None,
    }
}

/// ISTAT's code for Italy among the countries.
pub const ITALY: &str = "100";

/// Countries of citizenship: ISO 3166 alpha-2, ISTAT three-digit code, and the names a
/// registry or a social worker may write (Italian and English, lower case; the
/// Italian adjective for Italy).
const COUNTRIES: &[(&str, &str, &[&str])] = &[
    ("IT", "100", &["italia", "italy", "italiana", "italiano"]),
    ("AL", "201", &["albania"]),
    ("BG", "209", &["bulgaria"]),
    ("FR", "215", &["francia", "france"]),
    ("DE", "216", &["germania", "germany"]),
    ("GB", "219", &["regno unito", "united kingdom"]),
    ("PL", "233", &["polonia", "poland"]),
    ("RO", "235", &["romania"]),
    ("ES", "239", &["spagna", "spain"]),
    ("CH", "241", &["svizzera", "switzerland"]),
    ("UA", "243", &["ucraina", "ukraine"]),
    ("MD", "254", &["moldova", "moldavia"]),
    ("RS", "271", &["serbia"]),
    ("BD", "305", &["bangladesh"]),
    ("LK", "311", &["sri lanka"]),
    ("CN", "314", &["cina", "china"]),
    ("PH", "323", &["filippine", "philippines"]),
    ("IN", "330", &["india"]),
    ("PK", "344", &["pakistan"]),
    ("EG", "419", &["egitto", "egypt"]),
    ("ET", "420", &["etiopia", "ethiopia"]),
    ("MA", "436", &["marocco", "morocco"]),
    ("NG", "443", &["nigeria"]),
    ("SN", "450", &["senegal"]),
    ("TN", "460", &["tunisia"]),
    ("ER", "466", &["eritrea"]),
    ("SV", "517", &["el salvador"]),
    ("US", "536", &["stati uniti", "united states"]),
    ("BR", "605", &["brasile", "brazil"]),
    ("EC", "609", &["ecuador"]),
    ("PE", "615", &["perù", "peru"]),
    ("AU", "701", &["australia"]),
];

/// The ISTAT country code of a citizenship as the registry holds it (an ISO alpha-2
/// code or a country name); `None` when the table does not know it.
pub fn country_code(citizenship: &str) -> Option<&'static str> {
    let t = citizenship.trim();
    let lower = t.to_lowercase();
    COUNTRIES
        .iter()
        .find(|(iso, _, names)| t.eq_ignore_ascii_case(iso) || names.contains(&lower.as_str()))
        .map(|(_, code, _)| *code)
}

/// The citizenships [`country_code`] knows, as ISO codes (for messages).
pub fn known_countries() -> impl Iterator<Item = &'static str> {
    COUNTRIES.iter().map(|(iso, _, _)| *iso)
}

/// The cadastral (Belfiore) code of the birth place: characters 12–15 of a personal
/// fiscal code, with the digits an omocodia code replaced by letters put back. `None`
/// for an 11-digit temporary code or anything else that is not 16 characters.
pub fn birth_place(fiscal_code: &str) -> Option<String> {
    const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";
    let b = fiscal_code.trim().as_bytes();
    if b.len() != 16 || !b[11].is_ascii_alphabetic() {
        return None;
    }
    let mut out = String::with_capacity(4);
    out.push(b[11].to_ascii_uppercase() as char);
    for &c in &b[12..15] {
        let c = c.to_ascii_uppercase();
        match c {
            b'0'..=b'9' => out.push(c as char),
            _ => out.push(char::from(b'0' + OMOCODIA.iter().position(|&o| o == c)? as u8)),
        }
    }
    Some(out)
}

/// Completed years of age on `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// `FasciaEtaBeneficiario` of SINBA for completed years of age: `1` 0–3, `2` 3–6,
/// … `6` 15–18; `None` for an adult.
pub fn age_band(age: i32) -> Option<&'static str> {
    match age {
        i32::MIN..=2 => Some("1"),
        3..=5 => Some("2"),
        6..=8 => Some("3"),
        9..=11 => Some("4"),
        12..=14 => Some("5"),
        15..=17 => Some("6"),
        _ => None,
    }
}

/// `FasciaISEEBeneficiario` of SINBA for an ISEE value in cents: `1` zero, `2` up to
/// €3,000, then bands of €3,000 to €15,000, `7` up to €20,000, `8` above.
pub fn isee_band(cents: i64) -> &'static str {
    match cents {
        i64::MIN..=0 => "1",
        1..=300_000 => "2",
        300_001..=600_000 => "3",
        600_001..=900_000 => "4",
        900_001..=1_200_000 => "5",
        1_200_001..=1_500_000 => "6",
        1_500_001..=2_000_000 => "7",
        _ => "8",
    }
}

/// Calendar months touched by the days `from..=to` (0 when `to < from`).
pub fn months_touched(from: NaiveDate, to: NaiveDate) -> u32 {
    if to < from {
        return 0;
    }
    let a = from.year() * 12 + from.month0() as i32;
    let z = to.year() * 12 + to.month0() as i32;
    (z - a + 1) as u32
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use mosaico_domain::services::{self, Unit};

    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn every_service_of_the_catalogue_has_a_benefit_of_the_right_character() {
        for s in services::SERVICES {
            let b = benefit(s.code).unwrap_or_else(|| panic!("{} has no INPS benefit", s.code));
            assert_eq!(b.character == Character::OneOff, s.unit == Unit::OneOff, "{}", s.code);
            assert!((5..=10).contains(&b.code.chars().count()), "{}", b.code);
            assert!((10..=200).contains(&b.name.chars().count()), "{}", b.name);
            assert!((1..=4).contains(&b.means_test));
        }
        assert_eq!(BENEFITS.len(), services::SERVICES.len(), "a benefit for a service not in the catalogue");
    }

    #[test]
    fn citizenships_map_to_istat_codes() {
        assert_eq!(country_code("Italia"), Some("100"));
        assert_eq!(country_code(" it "), Some("100"));
        assert_eq!(country_code("italiana"), Some("100"));
        assert_eq!(country_code("RO"), Some("235"));
        assert_eq!(country_code("Perù"), Some("615"));
        assert_eq!(country_code("Atlantide"), None);
        assert_eq!(country_code(""), None);
    }

    #[test]
    fn birth_place_comes_from_the_fiscal_code_and_undoes_omocodia() {
        assert_eq!(birth_place("RSSMRA85T10A562S").as_deref(), Some("A562"));
        // Omocodia: the digits 5, 6, 2 of the place became R, S, N.
        assert_eq!(birth_place("RSSMRA85T10ARSNS").as_deref(), Some("A562"));
        assert_eq!(birth_place("12345678903"), None);
        assert_eq!(birth_place("RSSMRA85T10A5X2S"), None);
    }

    #[test]
    fn bands_and_months() {
        assert_eq!(age_on(d("2010-06-15"), d("2024-06-14")), 13);
        assert_eq!(age_on(d("2010-06-15"), d("2024-06-15")), 14);
        assert_eq!(
            [0, 2, 3, 8, 9, 17].map(age_band),
            [Some("1"), Some("1"), Some("2"), Some("3"), Some("4"), Some("6")]
        );
        assert_eq!(age_band(18), None);
        assert_eq!([0, 1, 300_000, 300_001, 2_000_000, 2_000_001].map(isee_band), ["1", "2", "2", "3", "7", "8"]);
        assert_eq!(months_touched(d("2024-01-31"), d("2024-02-01")), 2);
        assert_eq!(months_touched(d("2024-01-01"), d("2024-12-31")), 12);
        assert_eq!(months_touched(d("2024-03-01"), d("2024-02-01")), 0);
    }
}
