//! The checks a record must pass to go into a flow: the XSD's facets that can be
//! checked on one record (patterns, lengths, enumerations, required attributes and
//! elements) and the rules INPS adds beyond the XSD (DESIGN.md):
//!
//! - a periodic benefit needs its start, end, months of delivery and monthly amount;
//! - a one-off benefit needs its date and amount;
//! - a benefit taken in charge (`PresaCarico` 1) needs its `AreaUtenza`;
//! - a SINA block needs mobility, daily living, behaviour, income, support, the source
//!   of the assessment and its instrument;
//! - SINBA identifies the child by a pseudonym, never by the fiscal code.
//!
//! Each function returns every reason a record fails, field by field; an empty list
//! means the record goes into the flow. Amounts are "missing" when zero: a benefit of
//! no value is a recording error, not something to send.

use super::codes::Character;
use super::records::{Beneficiary, Benefit, FlowHeader, PsaRecord, SINBA_MONTHS, SINBA_SCHEME, Sina, SinbaRecord};
use super::{Reason, xml};

/// Reasons gathered for one record; one per field, the first found.
#[derive(Debug, Default)]
struct Reasons(Vec<Reason>);

impl Reasons {
    fn with(found: &[Reason]) -> Self {
        Reasons(found.to_vec())
    }

    fn add(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        if !self.0.iter().any(|r| r.field == field) {
            self.0.push(Reason { field: field.to_owned(), code, message: message.into() });
        }
    }

    /// A required text of `min..=max` characters, all of them allowed in XML.
    fn text(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let n = value.chars().count();
        if n == 0 && min > 0 {
            self.add(field, "required", "required");
        } else if n < min || n > max {
            self.add(field, "length", format!("{n} characters; the XSD accepts {min} to {max}"));
        } else if let Some(c) = value.chars().find(|c| !xml::is_xml_char(*c)) {
            self.add(field, "xml_char", format!("holds the character U+{:04X}, which XML cannot carry", c as u32));
        }
    }

    /// A required code of `1..=max`.
    fn code(&mut self, field: &str, value: Option<&str>, max: u8) {
        match value {
            None => self.add(field, "required", "required"),
            Some(v) => self.enumerated(field, v, max),
        }
    }

    fn enumerated(&mut self, field: &str, value: &str, max: u8) {
        if !value.parse::<u8>().is_ok_and(|n| (1..=max).contains(&n)) || value.starts_with('0') {
            self.add(field, "not_one_of", format!("'{value}' is not a code from 1 to {max}"));
        }
    }

    fn digits(&mut self, field: &str, value: Option<&str>, n: usize) {
        match value {
            None => self.add(field, "required", "required"),
            Some(v) if v.len() != n || !v.bytes().all(|b| b.is_ascii_digit()) => {
                self.add(field, "pattern", format!("'{v}' is not {n} digits"))
            }
            Some(_) => {}
        }
    }

    fn year(&mut self, field: &str, year: i32) {
        if !(1000..=9999).contains(&year) {
            self.add(field, "pattern", format!("{year} is not a four-digit year"));
        }
    }
}

/// Whether `s` matches the XSD's fiscal-code pattern:
/// `([A-Za-z]{6}\d{2}[A-Za-z]\d{2}[A-Za-z][A-Za-z0-9]{3}[A-Za-z])|(\d{11} {0,5})`.
/// A code altered for omocodia in its date digits does not.
pub fn fiscal_code_pattern(s: &str) -> bool {
    let b = s.as_bytes();
    let alpha = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_alphabetic);
    let digit = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let personal = b.len() == 16
        && alpha(0..6)
        && digit(6..8)
        && alpha(8..9)
        && digit(9..11)
        && alpha(11..12)
        && b[12..15].iter().all(u8::is_ascii_alphanumeric)
        && alpha(15..16);
    personal || (11..=16).contains(&b.len()) && digit(0..11) && b[11..].iter().all(|&c| c == b' ')
}

/// What is wrong with the ente's part of a flow (its configuration).
pub fn header_reasons(h: &FlowHeader) -> Vec<Reason> {
    let mut r = Reasons::default();
    r.text("IdentificazioneFlusso.Nome", &h.flow_id, 0, 50);
    r.text("Ente.Codice", &h.code, 1, 32);
    if let Some(name) = &h.name {
        r.text("Ente.Denominazione", name, 1, 100);
    }
    r.text("Ente.Indirizzo", &h.belfiore, 4, 4);
    if !fiscal_code_pattern(&h.operator_cf) {
        r.add("Ente.CFOperatore", "pattern", format!("'{}' is not a fiscal code INPS accepts", h.operator_cf));
    }
    r.0
}

fn beneficiary(r: &mut Reasons, b: &Beneficiary) {
    if !fiscal_code_pattern(&b.fiscal_code) {
        r.add(
            "Beneficiario.CodiceFiscale",
            "pattern",
            format!(
                "'{}' does not match the INPS pattern (16 characters with digits in the date, or 11 digits); \
                 a code altered for omocodia in its date is refused",
                b.fiscal_code
            ),
        );
    }
    r.text("Anagrafica.Cognome", &b.surname, 1, 36);
    r.text("Anagrafica.Nome", &b.given_name, 1, 36);
    r.year("Anagrafica.AnnoNascita", b.birth_year);
    match &b.birth_place {
        None => r.add(
            "Anagrafica.LuogoNascita",
            "required",
            "no birth place: a temporary fiscal code carries none; reconcile the fiscal code",
        ),
        Some(p) => r.text("Anagrafica.LuogoNascita", p, 4, 4),
    }
    r.code("Anagrafica.Genere", b.sex, 2);
    if b.citizenship.is_none() {
        r.add(
            "Anagrafica.CodiceCittadinanza",
            "unknown_citizenship",
            format!("citizenship '{}' has no ISTAT country code in the table", b.citizenship_text),
        );
    }
    r.digits("Anagrafica.CodiceCittadinanza", b.citizenship, 3);
    if let Some(c) = &b.residence_comune {
        r.digits("Indirizzo.CodiceComune", Some(c), 6);
    }
    r.digits("Indirizzo.CodiceNazione", Some(b.residence_country), 3);
}

fn positive(v: Option<i64>) -> bool {
    v.is_some_and(|c| c > 0)
}

fn benefit(r: &mut Reasons, p: &Benefit) {
    const F: &str = "PrestazioniSociali";
    match p.code {
        None => r.add(&format!("{F}.CodicePrestazione"), "required", "the service has no INPS benefit code"),
        Some(c) => r.text(&format!("{F}.CodicePrestazione"), c, 5, 10),
    }
    r.text(&format!("{F}.DenominazionePrestazione"), &p.name, 10, 200);
    r.text(&format!("{F}.ProtocolloDomanda"), &p.request_ref, 1, 32);
    r.code(&format!("{F}.PresenzaProvaMezzi"), Some(p.means_test), 4);
    if let Some(n) = &p.dsu_protocol {
        r.text(&format!("{F}.NumeroProtocolloDSU"), n, 0, 30);
    }
    match p.character {
        Character::Periodic => {
            let mut missing = Vec::new();
            if p.start.is_none() {
                missing.push(("DataInizioPrestazione", "the start date"));
            }
            if p.end.is_none() {
                missing.push(("DataFinePrestazione", "the end date"));
            }
            if !p.months.is_some_and(|m| (1..=12).contains(&m)) {
                missing.push(("PeriodoErogazione", "the months of delivery (1 to 12)"));
            }
            if !positive(p.monthly_cents) {
                missing.push(("ImportoMensile", "a monthly amount above zero"));
            }
            for (attr, what) in missing {
                r.add(&format!("{F}.{attr}"), "periodic_needs", format!("a periodic benefit needs {what}"));
            }
            if let (Some(a), Some(z)) = (p.start, p.end)
                && z < a
            {
                r.add(&format!("{F}.DataFinePrestazione"), "date_order", format!("{z} is before the start {a}"));
            }
        }
        Character::OneOff => {
            if p.date.is_none() {
                r.add(
                    &format!("{F}.DataErogazionePrestazione"),
                    "one_off_needs",
                    "a one-off benefit needs the date it was delivered",
                );
            }
            if !positive(p.amount_cents) {
                r.add(
                    &format!("{F}.ImportoPrestazione"),
                    "one_off_needs",
                    "a one-off benefit needs an amount above zero",
                );
            }
        }
    }
    if let Some(h) = p.monthly_hours
        && h > 999
    {
        r.add(
            &format!("{F}.OreServizioMensile"),
            "too_large",
            format!("{h} hours a month; the XSD accepts at most 999"),
        );
    }
    match p.area {
        None if p.taken_in_charge => r.add(
            &format!("{F}.AreaUtenza"),
            "presa_carico_needs_area",
            format!(
                "a benefit taken in charge (PresaCarico 1) needs its AreaUtenza; area '{}' has none \
                 (famiglia e minori, disabilità/non autosufficienza, povertà/esclusione)",
                p.area_text
            ),
        ),
        None => {}
        Some(a) => r.enumerated(&format!("{F}.AreaUtenza"), a, 3),
    }
    if let Some(s) = &p.sina {
        sina(r, s);
    }
}

fn sina(r: &mut Reasons, s: &Sina) {
    // The seven of DESIGN.md first, then what the XSD adds.
    let required: [(&str, &Option<String>, u8, &str); 8] = [
        ("Mobilita", &s.mobility, 3, "mobility"),
        ("AttivitaVitaQuotidiana", &s.daily_living, 3, "daily living"),
        ("DisturbiComportamentali", &s.behaviour, 2, "behaviour"),
        ("AreaReddituale", &s.income, 3, "income"),
        ("AreaSupporto", &s.support, 3, "support"),
        ("FonteDerivazioneValutazione", &s.source, 4, "the source of the assessment"),
        ("StrumentoValutazione", &s.instrument, 7, "the assessment instrument"),
        ("NecessitaCureSanitarie", &s.health_care, 3, "the need of health care"),
    ];
    for (attr, value, max, what) in required {
        match value {
            None => r.add(&format!("SINA.{attr}"), "sina_needs", format!("a SINA block needs {what}")),
            Some(v) => r.enumerated(&format!("SINA.{attr}"), v, max),
        }
    }
    for (attr, value, max) in
        [("DisturbiAreaCognitiva", &s.cognitive, 3), ("FonteDerivazioneInvalidita", &s.invalidity_source, 2)]
    {
        if let Some(v) = value {
            r.enumerated(&format!("SINA.{attr}"), v, max);
        }
    }
    if s.needs.is_empty() {
        r.add("SINA.NecessitaInterventiSociali", "required", "at least one benefit code");
    }
    for c in &s.needs {
        r.text("SINA.NecessitaInterventiSociali", c, 5, 10);
    }
    if s.invalidity.is_empty() {
        r.add(
            "SINA.InvaliditaCivile",
            "required",
            "the XSD needs at least one civil-invalidity certification (InvCiv 1–8); none is recorded",
        );
    }
    for c in &s.invalidity {
        r.enumerated("SINA.InvaliditaCivile", c, 8);
    }
}

/// Every reason a PSA record fails (empty when it goes into the flow).
pub fn psa_reasons(rec: &PsaRecord) -> Vec<Reason> {
    let mut r = Reasons::with(&rec.problems);
    beneficiary(&mut r, &rec.beneficiary);
    benefit(&mut r, &rec.benefit);
    r.0
}

/// Every reason a SINBA record fails (empty when it goes into the flow).
pub fn sinba_reasons(rec: &SinbaRecord) -> Vec<Reason> {
    let mut r = Reasons::with(&rec.problems);
    let id = &rec.child_id;
    r.text("SINBA.IDBeneficiario", id, 1, 20);
    if fiscal_code_pattern(id.trim()) || mosaico_domain::FiscalCode::parse(id).is_ok() {
        r.add("SINBA.IDBeneficiario", "not_pseudonymous", "the child's id must be a pseudonym, never a fiscal code");
    }
    if rec.benefits.is_empty() {
        r.add("SINBA.Prestazioni", "required", "at least one benefit code");
    }
    for c in &rec.benefits {
        r.text("SINBA.Prestazioni", c, 5, 10);
    }
    if rec.family.is_empty() {
        r.add(
            "SINBA.Famiglia",
            "required",
            "the child belongs to no household in the registry; the XSD needs at least one ComposizioneFamiglia",
        );
    }
    for c in &rec.family {
        r.enumerated("SINBA.Famiglia", c, 6);
    }
    r.year("SINBA.AnnoNascita", rec.birth_year);
    if rec.age_band.is_none() {
        r.add("SINBA.FasciaEtaBeneficiario", "not_a_minor", "SINBA records children under 18");
    }
    r.digits("SINBA.CodiceNazioneResidenza", Some(rec.residence_country), 3);
    match &rec.first_report {
        None => r.add("SINBA.DataPrimaSegnalazione", "required", "required"),
        Some(m) if !month_pattern(m) => {
            r.add("SINBA.DataPrimaSegnalazione", "pattern", format!("'{m}' is not MM/YYYY"))
        }
        Some(_) => {}
    }
    for (attr, v) in
        [("CodiceCittadinanzaPadre", rec.father_citizenship), ("CodiceCittadinanzaMadre", rec.mother_citizenship)]
    {
        if v.is_some() {
            r.digits(&format!("SINBA.{attr}"), v, 3);
        }
    }
    if let Some(b) = rec.isee_band {
        r.enumerated("SINBA.FasciaISEEBeneficiario", b, 8);
    }
    if let Some(n) = rec.isee_members
        && !(0..=9).contains(&n)
    {
        r.add("SINBA.NumeroComponentiISEE", "too_large", format!("{n}; the XSD accepts at most 9"));
    }
    let Some(scheme) = &rec.scheme else {
        r.add("SINBA", "sinba_missing", "no SINBA scheme is recorded for the child's case");
        return r.0;
    };
    for c in SINBA_SCHEME {
        let field = format!("SINBA.{}", c.name);
        match scheme.get(c.name) {
            None if c.required => r.add(&field, "required", "required by the SINBA scheme"),
            None => {}
            Some(v) => r.enumerated(&field, v, c.max),
        }
    }
    for m in SINBA_MONTHS {
        if let Some(v) = scheme.get(*m)
            && !month_pattern(v)
        {
            r.add(&format!("SINBA.{m}"), "pattern", format!("'{v}' is not MM/YYYY"));
        }
    }
    for k in scheme.keys() {
        if !SINBA_SCHEME.iter().any(|c| c.name == k) && !SINBA_MONTHS.contains(&k.as_str()) {
            r.add(&format!("SINBA.{k}"), "unknown", format!("'{k}' is not an attribute of the SINBA scheme"));
        }
    }
    r.0
}

/// The XSD's `DataMeseAnnoType`: `((0[1-9])|(1[0-2]))[/](19|20)[0-9]{2}`.
pub fn month_pattern(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && matches!((b[0], b[1]), (b'0', b'1'..=b'9') | (b'1', b'0'..=b'2'))
        && b[2] == b'/'
        && matches!(&b[3..5], b"19" | b"20")
        && b[5..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;

    use super::*;
    use crate::inps::RecordRef;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn source() -> RecordRef {
        RecordRef { person_id: 1, case_id: 2, intervention_id: Some(3), service_code: Some("SAD".into()) }
    }

    fn good_psa() -> PsaRecord {
        PsaRecord {
            source: source(),
            beneficiary: Beneficiary {
                fiscal_code: "RSSMRA50C04F205X".into(),
                surname: "Rossi".into(),
                given_name: "Mario".into(),
                birth_year: 1950,
                birth_place: Some("F205".into()),
                sex: Some("1"),
                citizenship: Some("100"),
                citizenship_text: "Italia".into(),
                residence_comune: Some("015146".into()),
                residence_country: "100",
            },
            benefit: Benefit {
                code: Some("C1.01"),
                name: "Assistenza domiciliare socio-assistenziale".into(),
                request_ref: "015146-2-3".into(),
                character: Character::Periodic,
                means_test: "1",
                dsu_protocol: None,
                dsu_date: None,
                start: Some(d("2024-01-10")),
                end: Some(d("2024-12-31")),
                months: Some(6),
                monthly_cents: Some(40_000),
                date: None,
                amount_cents: None,
                quota_ente_cents: Some(40_000),
                quota_utente_cents: Some(0),
                quota_ssn_cents: Some(0),
                monthly_hours: Some(20),
                taken_in_charge: true,
                area: Some("2"),
                area_text: "anziani".into(),
                sina: Some(good_sina()),
            },
            problems: Vec::new(),
        }
    }

    fn good_sina() -> Sina {
        let s = |v: &str| Some(v.to_owned());
        Sina {
            needs: vec!["C1.01".into()],
            invalidity: vec!["2".into()],
            mobility: s("2"),
            daily_living: s("2"),
            cognitive: None,
            behaviour: s("1"),
            health_care: s("2"),
            income: s("3"),
            support: s("1"),
            source: s("2"),
            instrument: s("1"),
            invalidity_source: None,
        }
    }

    fn fields(reasons: &[Reason]) -> Vec<&str> {
        reasons.iter().map(|r| r.field.as_str()).collect()
    }

    #[test]
    fn a_complete_record_passes() {
        assert_eq!(psa_reasons(&good_psa()), []);
    }

    #[test]
    fn a_periodic_benefit_needs_start_end_months_and_monthly_amount() {
        let mut r = good_psa();
        r.benefit.start = None;
        r.benefit.end = None;
        r.benefit.months = Some(0);
        r.benefit.monthly_cents = Some(0);
        let got = psa_reasons(&r);
        assert_eq!(
            fields(&got),
            [
                "PrestazioniSociali.DataInizioPrestazione",
                "PrestazioniSociali.DataFinePrestazione",
                "PrestazioniSociali.PeriodoErogazione",
                "PrestazioniSociali.ImportoMensile"
            ]
        );
        assert!(got.iter().all(|r| r.code == "periodic_needs"), "{got:?}");
        let mut r = good_psa();
        r.benefit.end = Some(d("2023-01-01"));
        assert_eq!(psa_reasons(&r)[0].code, "date_order");
    }

    #[test]
    fn a_one_off_benefit_needs_date_and_amount() {
        let mut r = good_psa();
        r.benefit.character = Character::OneOff;
        r.benefit.date = None;
        r.benefit.amount_cents = None;
        let got = psa_reasons(&r);
        assert_eq!(
            fields(&got),
            ["PrestazioniSociali.DataErogazionePrestazione", "PrestazioniSociali.ImportoPrestazione"]
        );
        r.benefit.date = Some(d("2024-03-03"));
        r.benefit.amount_cents = Some(2_500);
        assert_eq!(psa_reasons(&r), []);
    }

    #[test]
    fn taken_in_charge_needs_an_area() {
        let mut r = good_psa();
        r.benefit.area = None;
        r.benefit.area_text = "multiutenza".into();
        let got = psa_reasons(&r);
        assert_eq!((got.len(), got[0].code), (1, "presa_carico_needs_area"));
        assert!(got[0].message.contains("multiutenza"));
        r.benefit.taken_in_charge = false;
        assert_eq!(psa_reasons(&r), []);
        r.benefit.area = Some("4");
        assert_eq!(psa_reasons(&r)[0].code, "not_one_of");
    }

    #[test]
    fn a_sina_block_needs_its_seven_dimensions() {
        let mut r = good_psa();
        r.benefit.sina = Some(Sina { needs: vec!["C1.01".into()], invalidity: vec!["1".into()], ..Sina::default() });
        let got = psa_reasons(&r);
        assert_eq!(
            fields(&got)[..7],
            [
                "SINA.Mobilita",
                "SINA.AttivitaVitaQuotidiana",
                "SINA.DisturbiComportamentali",
                "SINA.AreaReddituale",
                "SINA.AreaSupporto",
                "SINA.FonteDerivazioneValutazione",
                "SINA.StrumentoValutazione"
            ]
        );
        assert_eq!(fields(&got)[7], "SINA.NecessitaCureSanitarie", "the XSD requires it too");
        let mut r = good_psa();
        r.benefit.sina.as_mut().unwrap().invalidity.clear();
        r.benefit.sina.as_mut().unwrap().mobility = Some("4".into());
        assert_eq!(fields(&psa_reasons(&r)), ["SINA.Mobilita", "SINA.InvaliditaCivile"]);
    }

    #[test]
    fn xsd_facets_of_the_beneficiary() {
        let mut r = good_psa();
        r.beneficiary.fiscal_code = "RSSMRA5LC04F205X".into(); // omocodia in the year
        r.beneficiary.surname = "A".repeat(37);
        r.beneficiary.given_name = "Ma\u{7}rio".into();
        r.beneficiary.birth_place = None;
        r.beneficiary.citizenship = None;
        r.beneficiary.citizenship_text = "Atlantide".into();
        let got = psa_reasons(&r);
        assert_eq!(
            fields(&got),
            [
                "Beneficiario.CodiceFiscale",
                "Anagrafica.Cognome",
                "Anagrafica.Nome",
                "Anagrafica.LuogoNascita",
                "Anagrafica.CodiceCittadinanza"
            ]
        );
        assert_eq!(got[2].code, "xml_char");
        assert!(got[4].message.contains("Atlantide"), "one reason per field, the most telling");
        let mut r = good_psa();
        r.benefit.monthly_hours = Some(1000);
        r.benefit.request_ref = "x".repeat(33);
        assert_eq!(
            fields(&psa_reasons(&r)),
            ["PrestazioniSociali.ProtocolloDomanda", "PrestazioniSociali.OreServizioMensile"]
        );
    }

    #[test]
    fn the_fiscal_code_pattern_is_the_xsd_s() {
        assert!(fiscal_code_pattern("RSSMRA50C04F205X"));
        assert!(fiscal_code_pattern("RSSMRA50C04F2LNX"), "omocodia in the place is accepted");
        assert!(!fiscal_code_pattern("RSSMRA50C0QF205X"));
        assert!(fiscal_code_pattern("12345678903"));
        assert!(fiscal_code_pattern("12345678903     "));
        assert!(!fiscal_code_pattern("1234567890"));
        assert!(!fiscal_code_pattern("12345678903x"));
    }

    fn good_sinba() -> SinbaRecord {
        let scheme: BTreeMap<String, String> = [
            ("MinoreStranieroNoAcc", "2"),
            ("CondizioneMinore", "1"),
            ("LuogoVita", "1"),
            ("ScuolaFrequentata", "5"),
            ("CondizioneLavoro", "1"),
            ("Disabilita", "2"),
            ("FonteSegnalazione", "13"),
            ("ValutazioneMinore", "2"),
            ("ValutazioneFamigliaMinore", "12"),
            ("SegnalazioneAutoritaGiudiziaria", "2"),
            ("ProvvedimentoGiudiziario", "2"),
            ("DataSegnalazione", "03/2024"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        SinbaRecord {
            source: source(),
            child_id: "9f86d081884c7d659a2f".into(),
            benefits: vec!["C1.03".into()],
            family: vec!["1".into(), "3".into()],
            birth_year: 2015,
            age_band: Some("4"),
            residence_country: "100",
            first_report: Some("02/2024".into()),
            father_citizenship: None,
            mother_citizenship: Some("235"),
            isee_band: Some("3"),
            isee_members: Some(3),
            scheme: Some(scheme),
            problems: Vec::new(),
        }
    }

    #[test]
    fn sinba_records() {
        assert_eq!(sinba_reasons(&good_sinba()), []);
        let mut r = good_sinba();
        r.child_id = "RSSMRA50C04F205X".into();
        r.family.clear();
        r.age_band = None;
        r.first_report = Some("13/2024".into());
        let s = r.scheme.as_mut().unwrap();
        s.remove("LuogoVita");
        s.insert("DurataAffido".into(), "3".into());
        s.insert("Colore".into(), "1".into());
        let got = sinba_reasons(&r);
        assert_eq!(
            fields(&got),
            [
                "SINBA.IDBeneficiario",
                "SINBA.Famiglia",
                "SINBA.FasciaEtaBeneficiario",
                "SINBA.DataPrimaSegnalazione",
                "SINBA.LuogoVita",
                "SINBA.DurataAffido",
                "SINBA.Colore"
            ]
        );
        assert_eq!(got[0].code, "not_pseudonymous");
        let mut r = good_sinba();
        r.scheme = None;
        assert_eq!(fields(&sinba_reasons(&r)), ["SINBA"]);
    }

    #[test]
    fn months_and_headers() {
        assert!(month_pattern("01/2024") && month_pattern("12/1999"));
        assert!(!month_pattern("00/2024") && !month_pattern("13/2024") && !month_pattern("1/2024"));
        assert!(!month_pattern("01/2124"));
        let h = FlowHeader {
            flow_id: "F205.PSA.INPS.20240101.0000001".into(),
            code: "F205".into(),
            name: Some("Milano".into()),
            belfiore: "F205".into(),
            operator_cf: "01199250158".into(),
        };
        assert_eq!(header_reasons(&h), []);
        let bad = FlowHeader { belfiore: "F20".into(), operator_cf: "x".into(), ..h };
        assert_eq!(fields(&header_reasons(&bad)), ["Ente.Indirizzo", "Ente.CFOperatore"]);
    }
}
