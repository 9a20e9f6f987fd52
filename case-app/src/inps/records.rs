//! The records of the two flows, as plain values ready to be written: codes are the
//! XSD's codes as text, money in cents, dates as dates. A value the case file does
//! not have is `None`, and the rule checker ([`super::rules`]) says so.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::codes::Character;
use super::{Reason, RecordRef};

/// How the ente appears in `IdentificazioneFlusso` (the same in both flows).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlowHeader {
    /// `Nome`: the flow id (at most 50 characters).
    pub flow_id: String,
    /// `Ente/@Codice`: the ente's INPS code (1 to 32 characters).
    pub code: String,
    /// `Ente/@Denominazione`: the ente's name (1 to 100 characters).
    pub name: Option<String>,
    /// `Ente/@Indirizzo`: the cadastral (Belfiore) code of the ente's seat (4 characters).
    pub belfiore: String,
    /// `Ente/@CFOperatore`: the fiscal code of the operator sending the flow.
    pub operator_cf: String,
}

/// A beneficiary of the PSA flow (`Beneficiario`, its `Anagrafica` and `Indirizzo`).
#[derive(Debug, Clone, PartialEq)]
pub struct Beneficiary {
    /// `CodiceFiscale`.
    pub fiscal_code: String,
    /// `Cognome` (1 to 36 characters).
    pub surname: String,
    /// `Nome` (1 to 36 characters).
    pub given_name: String,
    /// `AnnoNascita`.
    pub birth_year: i32,
    /// `LuogoNascita`: Belfiore code of the birth place, from the fiscal code.
    pub birth_place: Option<String>,
    /// `Genere`: `1` male, `2` female.
    pub sex: Option<&'static str>,
    /// `CodiceCittadinanza`: ISTAT country code (`100` Italy).
    pub citizenship: Option<&'static str>,
    /// The citizenship as the registry holds it (for messages when it has no code).
    pub citizenship_text: String,
    /// `Indirizzo/@CodiceComune`: ISTAT code of the comune of residence.
    pub residence_comune: Option<String>,
    /// `Indirizzo/@CodiceNazione`: ISTAT country code of residence.
    pub residence_country: &'static str,
}

/// A benefit (`PrestazioniSociali`) of a beneficiary. Money in cents.
#[derive(Debug, Clone, PartialEq)]
pub struct Benefit {
    /// `CodicePrestazione` (5 to 10 characters).
    pub code: Option<&'static str>,
    /// `DenominazionePrestazione` (10 to 200 characters).
    pub name: String,
    /// `ProtocolloDomanda`: the ente's reference of the benefit (1 to 32 characters).
    pub request_ref: String,
    /// `CaratterePrestazione`.
    pub character: Character,
    /// `PresenzaProvaMezzi`: `1` ISEE … `4` no means test.
    pub means_test: &'static str,
    /// `NumeroProtocolloDSU` (at most 30 characters).
    pub dsu_protocol: Option<String>,
    /// `DataDSU`; its year is `AnnoProtocolloDSU`.
    pub dsu_date: Option<NaiveDate>,
    /// `DataInizioPrestazione` (periodic).
    pub start: Option<NaiveDate>,
    /// `DataFinePrestazione` (periodic).
    pub end: Option<NaiveDate>,
    /// `PeriodoErogazione` (periodic): months of delivery within the flow's period, 1–12.
    pub months: Option<u32>,
    /// `ImportoMensile` (periodic).
    pub monthly_cents: Option<i64>,
    /// `DataErogazionePrestazione` (one-off).
    pub date: Option<NaiveDate>,
    /// `ImportoPrestazione` (one-off).
    pub amount_cents: Option<i64>,
    /// `ImportoQuotaEnte`.
    pub quota_ente_cents: Option<i64>,
    /// `ImportoQuotaUtente`.
    pub quota_utente_cents: Option<i64>,
    /// `ImportoQuotaSSN`.
    pub quota_ssn_cents: Option<i64>,
    /// `OreServizioMensile` (services counted in hours; at most 999).
    pub monthly_hours: Option<i64>,
    /// `PresaCarico`: taken in charge by the social service (`1`) or not (`2`).
    pub taken_in_charge: bool,
    /// `AreaUtenza`: `1`, `2` or `3`.
    pub area: Option<&'static str>,
    /// The area di utenza of the case file (for messages when it has no INPS area).
    pub area_text: String,
    /// `SINA`: the non-self-sufficiency scheme, when the case has one.
    pub sina: Option<Sina>,
}

/// The SINA block of a benefit: the XSD's codes as text; `None` where not assessed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sina {
    /// `NecessitaInterventiSociali/CodicePrestazione`: the benefit codes the person needs.
    pub needs: Vec<String>,
    /// `InvaliditaCivile/InvCiv`: certifications, codes 1–8.
    pub invalidity: Vec<String>,
    /// `Mobilita` 1–3.
    pub mobility: Option<String>,
    /// `AttivitaVitaQuotidiana` 1–3.
    pub daily_living: Option<String>,
    /// `DisturbiAreaCognitiva` 1–3 (optional in the XSD).
    pub cognitive: Option<String>,
    /// `DisturbiComportamentali` 1–2.
    pub behaviour: Option<String>,
    /// `NecessitaCureSanitarie` 1–3.
    pub health_care: Option<String>,
    /// `AreaReddituale` 1–3.
    pub income: Option<String>,
    /// `AreaSupporto` 1–3.
    pub support: Option<String>,
    /// `FonteDerivazioneValutazione` 1–4.
    pub source: Option<String>,
    /// `StrumentoValutazione` 1–7.
    pub instrument: Option<String>,
    /// `FonteDerivazioneInvalidita` 1–2 (optional in the XSD).
    pub invalidity_source: Option<String>,
}

/// One record of the PSA flow: a benefit and its beneficiary. Records of one person
/// are written under one `Beneficiario`.
#[derive(Debug, Clone, PartialEq)]
pub struct PsaRecord {
    /// Where it comes from in the case file.
    pub source: RecordRef,
    /// The beneficiary.
    pub beneficiary: Beneficiary,
    /// The benefit.
    pub benefit: Benefit,
    /// Problems found while the record was read from the case file.
    pub problems: Vec<Reason>,
}

/// A coded attribute of the SINBA record: its XSD name, the highest code of its
/// enumeration (codes run from 1), and whether the XSD requires it.
#[derive(Debug, Clone, Copy)]
pub struct SchemeCode {
    /// The attribute's official name.
    pub name: &'static str,
    /// Codes are `1..=max`.
    pub max: u8,
    /// `use="required"` in the XSD.
    pub required: bool,
}

const fn code(name: &'static str, max: u8, required: bool) -> SchemeCode {
    SchemeCode { name, max, required }
}

/// The SINBA attributes a social worker records (the child's condition, the family's,
/// the reports and court orders, foster care, residential care, closure), in the XSD's
/// order. What the case file itself provides (the child's id, age band, birth year,
/// residence, benefits, family, parents' citizenship, ISEE) is not here.
pub const SINBA_SCHEME: &[SchemeCode] = &[
    code("MinoreStranieroNoAcc", 2, true),
    code("CondizioneMinore", 5, true),
    code("LuogoVita", 8, true),
    code("ScuolaFrequentata", 8, true),
    code("CondizioneLavoro", 4, true),
    code("Disabilita", 2, true),
    code("TipoDisabilita", 4, false),
    code("InvCivCertificazioni", 5, false),
    code("TitoloStudioPadre", 6, false),
    code("TitoloStudioMadre", 6, false),
    code("OccupazionePadre", 8, false),
    code("OccupazioneMadre", 8, false),
    code("FonteSegnalazione", 14, true),
    code("ValutazioneMinore", 13, true),
    code("ValutazioneFamigliaMinore", 13, true),
    code("SegnalazioneAutoritaGiudiziaria", 2, true),
    code("ProvvedimentoGiudiziario", 2, true),
    code("AutoritaProvvedimento", 4, false),
    code("PotestaTutela", 5, false),
    code("TipoProvvedimentoGiudiziario", 8, false),
    code("FormaInterventoAffido", 2, false),
    code("TipoInterventoAffido", 2, false),
    code("DurataAffido", 2, false),
    code("CarattereAffido", 2, false),
    code("EsitoAffido", 9, false),
    code("CarattereInserimentoResidenziale", 10, false),
    code("FormaInserimentoResidenziale", 2, false),
    code("TipoInserimentoResidenziale", 2, false),
    code("EsitoInserimentoStruttura", 9, false),
    code("MotivazioneChiusuraCarico", 9, false),
    code("SituazioneChiusuraCarico", 8, false),
    code("CollaborazioniInterventi", 9, false),
];

/// The SINBA attributes that are a month (`MM/YYYY`), recorded with the scheme.
pub const SINBA_MONTHS: &[&str] = &["DataSegnalazione", "DataProvvedimentoGiudiziario"];

/// One record of the SINBA flow: a child taken in charge, without name or fiscal code.
#[derive(Debug, Clone, PartialEq)]
pub struct SinbaRecord {
    /// Where it comes from in the case file.
    pub source: RecordRef,
    /// `IDBeneficiario`: the child's pseudonym (1 to 20 characters), never the fiscal code.
    pub child_id: String,
    /// `Prestazioni/CodicePrestazione`: the codes of the benefits received in the period.
    pub benefits: Vec<String>,
    /// `Famiglia/ComposizioneFamiglia`: who the child lives with, codes 1–6.
    pub family: Vec<String>,
    /// `AnnoNascita`.
    pub birth_year: i32,
    /// `FasciaEtaBeneficiario` 1–6; `None` for an adult.
    pub age_band: Option<&'static str>,
    /// `CodiceNazioneResidenza`.
    pub residence_country: &'static str,
    /// `DataPrimaSegnalazione` (`MM/YYYY`): the first contact or alert about the child.
    pub first_report: Option<String>,
    /// `CodiceCittadinanzaPadre`.
    pub father_citizenship: Option<&'static str>,
    /// `CodiceCittadinanzaMadre`.
    pub mother_citizenship: Option<&'static str>,
    /// `FasciaISEEBeneficiario` 1–8.
    pub isee_band: Option<&'static str>,
    /// `NumeroComponentiISEE` (at most 9).
    pub isee_members: Option<i64>,
    /// The attributes of [`SINBA_SCHEME`] and [`SINBA_MONTHS`] recorded for the child,
    /// by name; `None` when no SINBA scheme was recorded.
    pub scheme: Option<BTreeMap<String, String>>,
    /// Problems found while the record was read from the case file.
    pub problems: Vec<Reason>,
}
