//! The two flows as XML, from records that passed [`super::rules`]. Element order
//! follows the XSDs; attributes without a value are left out.

use super::records::{FlowHeader, PsaRecord, SINBA_MONTHS, SINBA_SCHEME, SinbaRecord};
use super::xml::Xml;

/// The namespace of both XSDs.
pub const NAMESPACE: &str = "http://inps.it/Casellario";

/// Cents as an `xs:decimal` with two decimals.
pub fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

fn header(x: &mut Xml, h: &FlowHeader) {
    x.start("Flusso").attr("xmlns", NAMESPACE);
    x.start("IdentificazioneFlusso").attr("Nome", &h.flow_id);
    x.start("Ente")
        .attr("Codice", &h.code)
        .attr_opt("Denominazione", h.name.as_deref())
        .attr("Indirizzo", &h.belfiore)
        .attr("CFOperatore", &h.operator_cf)
        .end();
    x.end();
}

/// The PSA/SINA flow: one `Beneficiario` per person, in the order persons first
/// appear, with each of their benefits.
pub fn psa(h: &FlowHeader, records: &[PsaRecord]) -> Vec<u8> {
    let mut x = Xml::new();
    header(&mut x, h);
    let mut persons: Vec<i64> = Vec::new();
    for r in records {
        if !persons.contains(&r.source.person_id) {
            persons.push(r.source.person_id);
        }
    }
    for person in persons {
        let mine: Vec<&PsaRecord> = records.iter().filter(|r| r.source.person_id == person).collect();
        let Some(first) = mine.first() else { continue };
        let b = &first.beneficiary;
        x.start("Beneficiario").attr("CodiceFiscale", &b.fiscal_code);
        x.start("Anagrafica")
            .attr("Cognome", &b.surname)
            .attr("Nome", &b.given_name)
            .attr("AnnoNascita", &format!("{:04}", b.birth_year))
            .attr_opt("LuogoNascita", b.birth_place.as_deref())
            .attr_opt("Genere", b.sex)
            .attr_opt("CodiceCittadinanza", b.citizenship)
            .end();
        x.start("Indirizzo")
            .attr_opt("CodiceComune", b.residence_comune.as_deref())
            .attr("CodiceNazione", b.residence_country)
            .end();
        for r in mine {
            benefit(&mut x, r);
        }
        x.end();
    }
    x.finish()
}

fn benefit(x: &mut Xml, r: &PsaRecord) {
    let p = &r.benefit;
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    let money = |c: Option<i64>| c.map(euros);
    x.start("PrestazioniSociali")
        .attr("TipoOperazione", "I")
        .attr("PresenzaProvaMezzi", p.means_test)
        .attr("CaratterePrestazione", p.character.code())
        .attr_opt("NumeroProtocolloDSU", p.dsu_protocol.as_deref())
        .attr_opt("AnnoProtocolloDSU", date(p.dsu_date).as_deref().map(|d| &d[..4]))
        .attr_opt("DataDSU", date(p.dsu_date).as_deref())
        .attr_opt("CodicePrestazione", p.code)
        .attr("DenominazionePrestazione", &p.name)
        .attr("ProtocolloDomanda", &p.request_ref)
        .attr_opt("DataInizioPrestazione", date(p.start).as_deref())
        .attr_opt("DataFinePrestazione", date(p.end).as_deref())
        .attr_opt("DataErogazionePrestazione", date(p.date).as_deref())
        .attr_opt("ImportoPrestazione", money(p.amount_cents).as_deref())
        .attr_opt("PeriodoErogazione", p.months.map(|m| m.to_string()).as_deref())
        .attr_opt("ImportoMensile", money(p.monthly_cents).as_deref())
        .attr_opt("ImportoQuotaEnte", money(p.quota_ente_cents).as_deref())
        .attr_opt("ImportoQuotaUtente", money(p.quota_utente_cents).as_deref())
        .attr_opt("ImportoQuotaSSN", money(p.quota_ssn_cents).as_deref())
        .attr_opt("OreServizioMensile", p.monthly_hours.map(|h| h.to_string()).as_deref())
        .attr("PresaCarico", if p.taken_in_charge { "1" } else { "2" })
        .attr_opt("AreaUtenza", p.area);
    if let Some(s) = &p.sina {
        x.start("SINA")
            .attr_opt("Mobilita", s.mobility.as_deref())
            .attr_opt("AttivitaVitaQuotidiana", s.daily_living.as_deref())
            .attr_opt("DisturbiAreaCognitiva", s.cognitive.as_deref())
            .attr_opt("DisturbiComportamentali", s.behaviour.as_deref())
            .attr_opt("NecessitaCureSanitarie", s.health_care.as_deref())
            .attr_opt("AreaReddituale", s.income.as_deref())
            .attr_opt("AreaSupporto", s.support.as_deref())
            .attr_opt("FonteDerivazioneValutazione", s.source.as_deref())
            .attr_opt("StrumentoValutazione", s.instrument.as_deref())
            .attr_opt("FonteDerivazioneInvalidita", s.invalidity_source.as_deref());
        x.start("NecessitaInterventiSociali");
        for c in &s.needs {
            x.leaf("CodicePrestazione", c);
        }
        x.end();
        x.start("InvaliditaCivile");
        for c in &s.invalidity {
            x.leaf("InvCiv", c);
        }
        x.end();
        x.end();
    }
    x.end();
}

/// The SINBA flow: one `SINBA` element per child.
pub fn sinba(h: &FlowHeader, records: &[SinbaRecord]) -> Vec<u8> {
    let mut x = Xml::new();
    header(&mut x, h);
    for r in records {
        x.start("SINBA").attr("IDBeneficiario", &r.child_id);
        if let Some(scheme) = &r.scheme {
            for c in SINBA_SCHEME {
                x.attr_opt(c.name, scheme.get(c.name).map(String::as_str));
            }
            for m in SINBA_MONTHS {
                x.attr_opt(m, scheme.get(*m).map(String::as_str));
            }
        }
        x.attr_opt("CodiceCittadinanzaPadre", r.father_citizenship)
            .attr_opt("CodiceCittadinanzaMadre", r.mother_citizenship)
            .attr_opt("DataPrimaSegnalazione", r.first_report.as_deref())
            .attr_opt("NumeroComponentiISEE", r.isee_members.map(|n| n.to_string()).as_deref())
            .attr_opt("FasciaEtaBeneficiario", r.age_band)
            .attr_opt("FasciaISEEBeneficiario", r.isee_band)
            .attr("AnnoNascita", &format!("{:04}", r.birth_year))
            .attr("CodiceNazioneResidenza", r.residence_country);
        x.start("Prestazioni");
        for c in &r.benefits {
            x.leaf("CodicePrestazione", c);
        }
        x.end();
        x.start("Famiglia");
        for c in &r.family {
            x.leaf("ComposizioneFamiglia", c);
        }
        x.end();
        x.end();
    }
    x.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euros_have_two_decimals() {
        assert_eq!([0, 5, 1_250, 40_000, -7].map(euros), ["0.00", "0.05", "12.50", "400.00", "-0.07"]);
    }
}
