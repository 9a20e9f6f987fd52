//! Inputs as they arrive (JSON bodies or HTML forms, every value as text) and their
//! checking into valid values, field by field. Parse, don't validate: the store only
//! accepts the checked types.

use chrono::NaiveDate;
use mosaico_domain::{AreaUtenza, FiscalCode, IstatCode, Sex, services};
use serde::{Deserialize, Deserializer};

use crate::error::{Checker, Result};

/// Accepts a string, a number, a boolean or null, as text; blank is `None`.
pub(crate) fn flex<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        S(String),
        I(i64),
        F(f64),
        B(bool),
    }
    Ok(Option::<V>::deserialize(d)?
        .map(|v| match v {
            V::S(s) => s,
            V::I(i) => i.to_string(),
            V::F(f) => f.to_string(),
            V::B(b) => b.to_string(),
        })
        .filter(|s| !s.trim().is_empty()))
}

/// Accepts a JSON array of strings or one text with an item per line.
pub(crate) fn lines<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        List(Vec<String>),
        Text(String),
    }
    let items = match Option::<V>::deserialize(d)? {
        None => Vec::new(),
        Some(V::List(l)) => l,
        Some(V::Text(t)) => t.lines().map(str::to_owned).collect(),
    };
    Ok(items.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// A yes from a checkbox or JSON: `true`, `on`, `1`, `yes`, `si`.
pub(crate) fn yes(v: &Option<String>) -> bool {
    matches!(s(v).trim().to_ascii_lowercase().as_str(), "true" | "on" | "1" | "yes" | "si" | "sì")
}

/// An amount in euros (`12.50`, `12,50`) as cents.
pub fn parse_euros(text: &str) -> Option<i64> {
    let t = text.trim().replace(',', ".");
    let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
    if int.is_empty() && frac.is_empty() || frac.len() > 2 {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let euros: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let cents: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    euros.checked_mul(100)?.checked_add(cents)
}

/// An amount in euros (`12.50`, `12,5`) as cents; `required` fails when absent.
pub(crate) fn money(c: &mut Checker, field: &str, v: &Option<String>, required: bool) -> i64 {
    match v.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None if required => {
            c.fail(field, "required", &[], "required (euros, e.g. 12.50)");
            0
        }
        None => 0,
        Some(t) => parse_euros(t).unwrap_or_else(|| {
            c.fail(
                field,
                "not_euros",
                &[("value", t.to_owned())],
                format!("'{t}' is not an amount in euros (e.g. 12.50)"),
            );
            0
        }),
    }
}

fn optional_id(c: &mut Checker, field: &str, v: &Option<String>) -> Option<i64> {
    let t = v.as_deref()?.trim();
    match t.parse::<i64>() {
        Ok(i) if i > 0 => Some(i),
        _ => {
            c.fail(field, "not_an_id", &[("value", t.to_owned())], format!("'{t}' is not a record id"));
            None
        }
    }
}

fn required_id(c: &mut Checker, field: &str, v: &Option<String>) -> i64 {
    if v.is_none() {
        c.fail(field, "required", &[], "required");
        return 0;
    }
    optional_id(c, field, v).unwrap_or(0)
}

fn date_not_future(c: &mut Checker, field: &str, v: &Option<String>, today: NaiveDate) -> NaiveDate {
    match c.date(field, s(v)) {
        Some(d) if d > today => {
            c.fail(field, "future_date", &[("date", d.to_string())], format!("{d} is in the future"));
            d
        }
        Some(d) => d,
        None => today,
    }
}

fn area(c: &mut Checker, field: &str, v: &Option<String>) -> String {
    match s(v).parse::<AreaUtenza>() {
        Ok(a) => a.code().to_owned(),
        Err(e) => {
            c.fail(field, "not_one_of", &[("value", s(v).to_owned())], e.to_string());
            String::new()
        }
    }
}

/// A person as entered: every field text. Creating needs them all (but the optional
/// ones); a change (PATCH) brings only those that change.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct PersonInput {
    #[serde(default, deserialize_with = "flex")]
    pub ente: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub fiscal_code: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub surname: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub given_name: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub sex: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub birth_date: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub birth_place: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub citizenship: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub residence_istat: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub lat: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub lng: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub household_id: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub household_role: Option<String>,
    /// On a change: the version the change is based on (refused if the record moved on).
    #[serde(default, deserialize_with = "flex")]
    pub version: Option<String>,
    /// Set to create the person even though possible duplicates were found.
    #[serde(default, deserialize_with = "flex")]
    pub confirm_not_duplicate: Option<String>,
}

/// A checked person.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonData {
    /// Fiscal code.
    pub fiscal_code: FiscalCode,
    /// Surname as written.
    pub surname: String,
    /// Given name as written.
    pub given_name: String,
    /// Sex.
    pub sex: Sex,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Birth place.
    pub birth_place: String,
    /// Citizenship.
    pub citizenship: String,
    /// Residence.
    pub residence_istat: IstatCode,
    /// Address.
    pub address: String,
    /// Coordinates, both or neither.
    pub coords: Option<(f64, f64)>,
    /// Household.
    pub household_id: Option<i64>,
    /// Role in it.
    pub household_role: Option<String>,
}

impl PersonInput {
    /// Checks every field; `today` bounds the birth date.
    pub fn check(&self, today: NaiveDate) -> Result<PersonData> {
        let mut c = Checker::default();
        let fiscal_code = if self.fiscal_code.is_none() {
            c.fail("fiscal_code", "required", &[], "required (16 characters, or 11 digits if temporary)");
            None
        } else {
            match FiscalCode::parse(s(&self.fiscal_code)) {
                Ok(cf) => Some(cf),
                Err(e) => {
                    let (code, params) = fiscal_code_problem(&e);
                    c.fail("fiscal_code", code, &params, e.to_string());
                    None
                }
            }
        };
        let surname = c.text("surname", s(&self.surname), 80);
        let given_name = c.text("given_name", s(&self.given_name), 80);
        let sex = match s(&self.sex).trim().to_ascii_uppercase().as_str() {
            "M" => Some(Sex::M),
            "F" => Some(Sex::F),
            other => {
                c.fail("sex", "not_one_of", &[("value", other.to_owned())], format!("'{other}' is not M or F"));
                None
            }
        };
        let birth_date = c.date("birth_date", s(&self.birth_date));
        if let Some(d) = birth_date {
            if d > today {
                c.fail("birth_date", "future_date", &[("date", d.to_string())], format!("{d} is in the future"));
            } else if d < NaiveDate::from_ymd_opt(1890, 1, 1).unwrap_or(d) {
                c.fail("birth_date", "too_early", &[("date", d.to_string())], format!("{d} is before 1890"));
            }
        }
        if let (Some(cf), Some(d), Some(sx)) = (&fiscal_code, birth_date, sex)
            && !cf.agrees_with(d, sx)
        {
            c.fail(
                "fiscal_code",
                "fiscal_code_mismatch",
                &[("code", cf.to_string()), ("date", d.to_string()), ("sex", sx.as_str().to_owned())],
                format!("{cf} does not match the birth date {d} and sex {}", sx.as_str()),
            );
        }
        let birth_place = c.text("birth_place", s(&self.birth_place), 80);
        let citizenship = c.text("citizenship", s(&self.citizenship), 60);
        let residence_istat = match IstatCode::parse(s(&self.residence_istat)) {
            Ok(i) => Some(i),
            Err(e) => {
                c.fail(
                    "residence_istat",
                    "istat_code",
                    &[("value", s(&self.residence_istat).to_owned())],
                    e.to_string(),
                );
                None
            }
        };
        let address = c.text("address", s(&self.address), 200);
        let num = |c: &mut Checker, f: &str, v: &Option<String>, lo: f64, hi: f64| -> Option<f64> {
            let t = v.as_deref()?.trim().replace(',', ".");
            match t.parse::<f64>() {
                Ok(x) if (lo..=hi).contains(&x) => Some(x),
                _ => {
                    c.fail(
                        f,
                        "not_in_range",
                        &[("value", t.clone()), ("min", lo.to_string()), ("max", hi.to_string())],
                        format!("'{t}' is not a number between {lo} and {hi}"),
                    );
                    None
                }
            }
        };
        let lat = num(&mut c, "lat", &self.lat, -90.0, 90.0);
        let lng = num(&mut c, "lng", &self.lng, -180.0, 180.0);
        let coords = match (lat, lng, &self.lat, &self.lng) {
            (Some(a), Some(b), _, _) => Some((a, b)),
            (None, None, None, None) => None,
            (_, _, Some(_), None) => {
                c.fail("lng", "required", &[], "required with lat");
                None
            }
            (_, _, None, Some(_)) => {
                c.fail("lat", "required", &[], "required with lng");
                None
            }
            _ => None,
        };
        let household_id = optional_id(&mut c, "household_id", &self.household_id);
        let household_role = c.optional_text("household_role", self.household_role.as_deref(), 40);
        c.finish()?;
        Ok(PersonData {
            fiscal_code: fiscal_code.ok_or_else(|| crate::CaseError::field("fiscal_code", "required"))?,
            surname,
            given_name,
            sex: sex.unwrap_or(Sex::M),
            birth_date: birth_date.unwrap_or(today),
            birth_place,
            citizenship,
            residence_istat: residence_istat.ok_or_else(|| crate::CaseError::field("residence_istat", "required"))?,
            address,
            coords,
            household_id,
            household_role,
        })
    }

    /// This input laid over an existing person: fields left out keep their value.
    pub fn over(&self, p: &crate::Person) -> PersonInput {
        let keep = |new: &Option<String>, old: String| new.clone().or(Some(old));
        PersonInput {
            ente: None,
            fiscal_code: keep(&self.fiscal_code, p.fiscal_code.clone()),
            surname: keep(&self.surname, p.surname.clone()),
            given_name: keep(&self.given_name, p.given_name.clone()),
            sex: keep(&self.sex, p.sex.clone()),
            birth_date: keep(&self.birth_date, p.birth_date.to_string()),
            birth_place: keep(&self.birth_place, p.birth_place.clone()),
            citizenship: keep(&self.citizenship, p.citizenship.clone()),
            residence_istat: keep(&self.residence_istat, p.residence_istat.clone()),
            address: keep(&self.address, p.address.clone()),
            lat: self.lat.clone().or(p.lat.map(|v| v.to_string())),
            lng: self.lng.clone().or(p.lng.map(|v| v.to_string())),
            household_id: self.household_id.clone().or(p.household_id.map(|v| v.to_string())),
            household_role: self.household_role.clone().or(p.household_role.clone()),
            version: None,
            confirm_not_duplicate: None,
        }
    }

    /// Whether the caller confirmed the person is not one of the candidates.
    pub fn confirmed(&self) -> bool {
        yes(&self.confirm_not_duplicate)
    }
}

/// The code and values of a fiscal-code problem, for the message catalogue.
fn fiscal_code_problem(e: &mosaico_domain::FiscalCodeError) -> (&'static str, Vec<(&'static str, String)>) {
    use mosaico_domain::FiscalCodeError as E;
    match e {
        E::Length(n) => ("fiscal_code_length", vec![("length", n.to_string())]),
        E::Character { position, found, .. } => {
            ("fiscal_code_character", vec![("position", position.to_string()), ("found", found.to_string())])
        }
        E::Month(m) => ("fiscal_code_month", vec![("found", m.to_string())]),
        E::Day(d) => ("fiscal_code_day", vec![("found", d.to_string())]),
        E::Check { found, expected } => {
            ("fiscal_code_check", vec![("found", found.to_string()), ("expected", expected.to_string())])
        }
    }
}

/// Upper-case ASCII letters and single spaces: the key names are searched by.
pub fn name_key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        let c = match ch {
            'à' | 'á' | 'â' | 'ä' | 'À' | 'Á' | 'Â' | 'Ä' => 'A',
            'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'E',
            'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
            'ò' | 'ó' | 'ô' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Ö' => 'O',
            'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
            'ç' | 'Ç' => 'C',
            'ñ' | 'Ñ' => 'N',
            c if c.is_ascii_alphabetic() => c.to_ascii_uppercase(),
            c if c.is_ascii_digit() => c,
            _ => ' ',
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

/// A household to create.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct HouseholdInput {
    #[serde(default, deserialize_with = "flex")]
    pub ente: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub address: Option<String>,
}

/// A member of the social network to add.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct NetworkInput {
    #[serde(default, deserialize_with = "flex")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub relation: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub contact: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub related_person_id: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub note: Option<String>,
}

/// Kinds of network member.
pub const NETWORK_KINDS: &[&str] = &["family", "friend", "neighbour", "volunteer", "professional", "other"];

/// A checked network member.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct NetworkData {
    pub kind: String,
    pub name: String,
    pub relation: String,
    pub contact: Option<String>,
    pub related_person_id: Option<i64>,
    pub note: Option<String>,
}

impl NetworkInput {
    /// Checks every field.
    pub fn check(&self) -> Result<NetworkData> {
        let mut c = Checker::default();
        let d = NetworkData {
            kind: c.one_of("kind", s(&self.kind), NETWORK_KINDS),
            name: c.text("name", s(&self.name), 120),
            relation: c.text("relation", s(&self.relation), 80),
            contact: c.optional_text("contact", self.contact.as_deref(), 120),
            related_person_id: optional_id(&mut c, "related_person_id", &self.related_person_id),
            note: c.optional_text("note", self.note.as_deref(), 2000),
        };
        c.finish()?;
        Ok(d)
    }
}

/// A: a first contact to record.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct ContactInput {
    #[serde(default, deserialize_with = "flex")]
    pub person_id: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub contact_date: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub channel: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub requester: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub request: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub area: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub outcome: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub outcome_note: Option<String>,
}

/// Contact channels.
pub const CHANNELS: &[&str] = &["desk", "phone", "email", "home_visit", "referral"];
/// Who asked.
pub const REQUESTERS: &[&str] = &["self", "family", "other_service", "other"];
/// Outcomes of a first contact; `case_opened` opens a case.
pub const CONTACT_OUTCOMES: &[&str] = &["case_opened", "information", "referred", "no_follow_up"];

/// A checked contact.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct ContactData {
    pub person_id: i64,
    pub contact_date: NaiveDate,
    pub channel: String,
    pub requester: String,
    pub request: String,
    pub area: String,
    pub outcome: String,
    pub outcome_note: Option<String>,
}

impl ContactInput {
    /// Checks every field.
    pub fn check(&self, today: NaiveDate) -> Result<ContactData> {
        let mut c = Checker::default();
        let d = ContactData {
            person_id: required_id(&mut c, "person_id", &self.person_id),
            contact_date: date_not_future(&mut c, "contact_date", &self.contact_date, today),
            channel: c.one_of("channel", s(&self.channel), CHANNELS),
            requester: c.one_of("requester", s(&self.requester), REQUESTERS),
            request: c.text("request", s(&self.request), 4000),
            area: area(&mut c, "area", &self.area),
            outcome: c.one_of("outcome", s(&self.outcome), CONTACT_OUTCOMES),
            outcome_note: c.optional_text("outcome_note", self.outcome_note.as_deref(), 2000),
        };
        c.finish()?;
        Ok(d)
    }
}

/// B: an assessment to record. Areas are graded 0-4; the need score (0-100) is
/// computed from them when not given.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct AssessmentInput {
    #[serde(default, deserialize_with = "flex")]
    pub assessed_on: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub instrument: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub health: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub autonomy: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub household: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub housing: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub income: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub work: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub network: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub need_score: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub notes: Option<String>,
}

/// Assessment instruments.
pub const INSTRUMENTS: &[&str] = &["SVAMA", "SVAMDI", "ADL_IADL", "colloquio", "altro"];
/// The assessed areas, in the order of the form.
pub const ASSESSMENT_AREAS: [&str; 7] = ["health", "autonomy", "household", "housing", "income", "work", "network"];

/// A checked assessment.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct AssessmentData {
    pub assessed_on: NaiveDate,
    pub instrument: String,
    /// Grades in the order of [`ASSESSMENT_AREAS`].
    pub grades: [i64; 7],
    pub need_score: i64,
    pub notes: String,
}

impl AssessmentInput {
    /// Checks every field.
    pub fn check(&self, today: NaiveDate) -> Result<AssessmentData> {
        let mut c = Checker::default();
        let assessed_on = date_not_future(&mut c, "assessed_on", &self.assessed_on, today);
        let instrument = c.one_of("instrument", s(&self.instrument), INSTRUMENTS);
        let values =
            [&self.health, &self.autonomy, &self.household, &self.housing, &self.income, &self.work, &self.network];
        let mut grades = [0i64; 7];
        for (i, (name, v)) in ASSESSMENT_AREAS.iter().zip(values).enumerate() {
            match s(v).trim().parse::<i64>() {
                Ok(g) if (0..=4).contains(&g) => grades[i] = g,
                _ => c.fail(
                    *name,
                    "not_a_grade",
                    &[("value", s(v).trim().to_owned())],
                    format!("'{}' is not a grade from 0 (no need) to 4 (severe)", s(v).trim()),
                ),
            }
        }
        let computed = (grades.iter().sum::<i64>() * 100 + 14) / 28;
        let need_score = match self.need_score.as_deref().map(str::trim) {
            None => computed,
            Some(t) => match t.parse::<i64>() {
                Ok(n) if (0..=100).contains(&n) => n,
                _ => {
                    c.fail(
                        "need_score",
                        "not_in_range",
                        &[("value", t.to_owned()), ("min", "0".to_owned()), ("max", "100".to_owned())],
                        format!("'{t}' is not a score from 0 to 100"),
                    );
                    0
                }
            },
        };
        let notes = self.notes.clone().unwrap_or_default().trim().to_owned();
        if notes.chars().count() > 8000 {
            c.fail("notes", "too_long", &[("max", "8000".to_owned())], "at most 8000 characters");
        }
        c.finish()?;
        Ok(AssessmentData { assessed_on, instrument, grades, need_score, notes })
    }
}

/// C: a plan (PAI) to record.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct PlanInput {
    #[serde(default, deserialize_with = "lines")]
    pub goals: Vec<String>,
    #[serde(default, deserialize_with = "lines")]
    pub actions: Vec<String>,
    #[serde(default, deserialize_with = "lines")]
    pub team: Vec<String>,
    #[serde(default, deserialize_with = "flex")]
    pub start_date: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub end_date: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub review_date: Option<String>,
    /// Submit for approval at once.
    #[serde(default, deserialize_with = "flex")]
    pub submit: Option<String>,
}

/// A checked plan.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct PlanData {
    pub goals: Vec<String>,
    pub actions: Vec<String>,
    pub team: Vec<String>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub review_date: NaiveDate,
    pub submit: bool,
}

impl PlanInput {
    /// Checks every field.
    pub fn check(&self) -> Result<PlanData> {
        let mut c = Checker::default();
        for (name, list) in [("goals", &self.goals), ("actions", &self.actions), ("team", &self.team)] {
            if list.is_empty() {
                c.fail(name, "at_least_one", &[], "at least one");
            }
            for (i, item) in list.iter().enumerate() {
                if item.chars().count() > 500 {
                    c.fail(format!("{name}[{i}]"), "too_long", &[("max", "500".to_owned())], "at most 500 characters");
                }
            }
        }
        let start = c.date("start_date", s(&self.start_date));
        let end = c.date("end_date", s(&self.end_date));
        let review = c.date("review_date", s(&self.review_date));
        if let (Some(a), Some(b)) = (start, end)
            && b < a
        {
            c.fail(
                "end_date",
                "before_start",
                &[("date", b.to_string()), ("start", a.to_string())],
                format!("{b} is before the start {a}"),
            );
        }
        if let (Some(a), Some(b), Some(r)) = (start, end, review)
            && (r < a || r > b)
        {
            c.fail(
                "review_date",
                "outside_period",
                &[("date", r.to_string()), ("start", a.to_string()), ("end", b.to_string())],
                format!("{r} is outside the plan's period {a} – {b}"),
            );
        }
        c.finish()?;
        let d = NaiveDate::MIN;
        Ok(PlanData {
            goals: self.goals.clone(),
            actions: self.actions.clone(),
            team: self.team.clone(),
            start_date: start.unwrap_or(d),
            end_date: end.unwrap_or(d),
            review_date: review.unwrap_or(d),
            submit: yes(&self.submit),
        })
    }
}

/// A coordinator's decision on a submitted plan.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct DecisionInput {
    /// `approve` or `reject`.
    #[serde(default, deserialize_with = "flex")]
    pub decision: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub note: Option<String>,
}

/// D: an intervention to record. Money in euros (`12.50`); the ente's quota is what
/// the user and the health service do not pay.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct InterventionInput {
    #[serde(default, deserialize_with = "flex")]
    pub plan_id: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub service_code: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub area: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub start_date: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub end_date: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub quantity: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub unit_cost: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub quota_utente: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub quota_ssn: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub note: Option<String>,
}

/// A checked intervention.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct InterventionData {
    pub plan_id: i64,
    pub service_code: String,
    pub area: String,
    pub spending: String,
    pub unit: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub quantity: f64,
    pub unit_cost_cents: i64,
    pub amount_cents: i64,
    pub quota_ente_cents: i64,
    pub quota_utente_cents: i64,
    pub quota_ssn_cents: i64,
    pub note: Option<String>,
}

impl InterventionInput {
    /// Checks every field against the service catalogue.
    pub fn check(&self) -> Result<InterventionData> {
        let mut c = Checker::default();
        let plan_id = required_id(&mut c, "plan_id", &self.plan_id);
        let code = s(&self.service_code).trim().to_ascii_uppercase();
        let svc = services::service(&code);
        if svc.is_none() {
            let known: Vec<&str> = services::SERVICES.iter().map(|s| s.code).collect();
            c.fail(
                "service_code",
                "not_one_of",
                &[("value", code.clone())],
                format!("unknown service '{code}'; the catalogue has {}", known.join(", ")),
            );
        }
        let area = match (&self.area, svc) {
            (Some(_), _) => area(&mut c, "area", &self.area),
            (None, Some(svc)) => svc.area.code().to_owned(),
            (None, None) => String::new(),
        };
        let start_date = c.date("start_date", s(&self.start_date));
        let end_date = self.end_date.as_ref().and_then(|e| c.date("end_date", e));
        if let (Some(a), Some(b)) = (start_date, end_date)
            && b < a
        {
            c.fail(
                "end_date",
                "before_start",
                &[("date", b.to_string()), ("start", a.to_string())],
                format!("{b} is before the start {a}"),
            );
        }
        let quantity = match s(&self.quantity).trim().replace(',', ".").parse::<f64>() {
            Ok(q) if q > 0.0 && q <= 100_000.0 => q,
            _ => {
                c.fail(
                    "quantity",
                    "not_a_quantity",
                    &[("value", s(&self.quantity).trim().to_owned())],
                    format!("'{}' is not a positive quantity", s(&self.quantity).trim()),
                );
                0.0
            }
        };
        let unit_cost_cents = money(&mut c, "unit_cost", &self.unit_cost, true);
        let quota_utente_cents = money(&mut c, "quota_utente", &self.quota_utente, false);
        let quota_ssn_cents = money(&mut c, "quota_ssn", &self.quota_ssn, false);
        let amount_cents = (quantity * unit_cost_cents as f64).round() as i64;
        let quota_ente_cents = amount_cents - quota_utente_cents - quota_ssn_cents;
        if quota_ente_cents < 0 {
            c.fail(
                "quota_utente",
                "quotas_exceed",
                &[],
                format!(
                    "user and health-service quotas ({:.2} €) exceed the amount ({:.2} €)",
                    (quota_utente_cents + quota_ssn_cents) as f64 / 100.0,
                    amount_cents as f64 / 100.0
                ),
            );
        }
        let note = c.optional_text("note", self.note.as_deref(), 2000);
        c.finish()?;
        let svc = svc.ok_or_else(|| crate::CaseError::field("service_code", "unknown"))?;
        Ok(InterventionData {
            plan_id,
            service_code: code,
            area,
            spending: svc.spending.code().to_owned(),
            unit: svc.unit.code().to_owned(),
            start_date: start_date.unwrap_or(NaiveDate::MIN),
            end_date,
            quantity,
            unit_cost_cents,
            amount_cents,
            quota_ente_cents,
            quota_utente_cents,
            quota_ssn_cents,
            note,
        })
    }
}

/// The end date of a running intervention.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct EndInput {
    #[serde(default, deserialize_with = "flex")]
    pub end_date: Option<String>,
}

/// A diary entry to record.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct DiaryInput {
    #[serde(default, deserialize_with = "flex")]
    pub entry_date: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub text: Option<String>,
}

/// Kinds of diary entry.
pub const DIARY_KINDS: &[&str] = &["interview", "home_visit", "phone", "meeting", "note"];

/// A checked diary entry.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct DiaryData {
    pub entry_date: NaiveDate,
    pub kind: String,
    pub text: String,
}

impl DiaryInput {
    /// Checks every field.
    pub fn check(&self, today: NaiveDate) -> Result<DiaryData> {
        let mut c = Checker::default();
        let d = DiaryData {
            entry_date: date_not_future(&mut c, "entry_date", &self.entry_date, today),
            kind: c.one_of("kind", s(&self.kind), DIARY_KINDS),
            text: c.text("text", s(&self.text), 8000),
        };
        c.finish()?;
        Ok(d)
    }
}

/// E: closing a case.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct ClosureInput {
    #[serde(default, deserialize_with = "flex")]
    pub closed_on: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub outcome: Option<String>,
}

/// Why a case closes.
pub const CLOSURE_REASONS: &[&str] =
    &["goals_reached", "moved_away", "deceased", "refused", "transferred", "no_longer_eligible", "other"];

/// A checked closure.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct ClosureData {
    pub closed_on: NaiveDate,
    pub reason: String,
    pub outcome: String,
}

impl ClosureInput {
    /// Checks every field.
    pub fn check(&self, today: NaiveDate) -> Result<ClosureData> {
        let mut c = Checker::default();
        let d = ClosureData {
            closed_on: date_not_future(&mut c, "closed_on", &self.closed_on, today),
            reason: c.one_of("reason", s(&self.reason), CLOSURE_REASONS),
            outcome: c.text("outcome", s(&self.outcome), 4000),
        };
        c.finish()?;
        Ok(d)
    }
}

/// An alert (segnalazione) to record.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct AlertInput {
    #[serde(default, deserialize_with = "flex")]
    pub ente: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub source: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub reporter: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub received_on: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub subject: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub person_id: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub urgency: Option<String>,
}

/// Where alerts come from.
pub const ALERT_SOURCES: &[&str] = &["school", "hospital", "police", "court", "other"];
/// How urgent.
pub const URGENCIES: &[&str] = &["low", "medium", "high"];

/// A checked alert.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct AlertData {
    pub source: String,
    pub reporter: String,
    pub received_on: NaiveDate,
    pub subject: String,
    pub person_id: Option<i64>,
    pub description: String,
    pub urgency: String,
}

impl AlertInput {
    /// Checks every field.
    pub fn check(&self, today: NaiveDate) -> Result<AlertData> {
        let mut c = Checker::default();
        let d = AlertData {
            source: c.one_of("source", s(&self.source), ALERT_SOURCES),
            reporter: c.text("reporter", s(&self.reporter), 200),
            received_on: date_not_future(&mut c, "received_on", &self.received_on, today),
            subject: c.text("subject", s(&self.subject), 200),
            person_id: optional_id(&mut c, "person_id", &self.person_id),
            description: c.text("description", s(&self.description), 8000),
            urgency: c.one_of("urgency", s(&self.urgency), URGENCIES),
        };
        c.finish()?;
        Ok(d)
    }
}

/// Triage of an alert: dismiss it, attach it to an existing case, or open a case for
/// the person it is about.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub struct TriageInput {
    /// `dismiss`, `attach` or `open_case`.
    #[serde(default, deserialize_with = "flex")]
    pub action: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub case_id: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub person_id: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub note: Option<String>,
}

/// A checked triage.
#[derive(Debug, Clone)]
pub enum TriageData {
    /// Nothing for social services.
    Dismiss {
        /// Why.
        note: String,
    },
    /// Belongs to an existing case.
    Attach {
        /// The case.
        case_id: i64,
        /// Note.
        note: Option<String>,
    },
    /// Open a case for the person.
    OpenCase {
        /// The person.
        person_id: i64,
        /// Note.
        note: Option<String>,
    },
}

impl TriageInput {
    /// Checks every field.
    pub fn check(&self) -> Result<TriageData> {
        let mut c = Checker::default();
        let action = c.one_of("action", s(&self.action), &["dismiss", "attach", "open_case"]);
        let note = c.optional_text("note", self.note.as_deref(), 2000);
        let data = match action.as_str() {
            "dismiss" => {
                if note.is_none() {
                    c.fail("note", "required", &[], "required: say why the alert is dismissed");
                }
                TriageData::Dismiss { note: note.unwrap_or_default() }
            }
            "attach" => TriageData::Attach { case_id: required_id(&mut c, "case_id", &self.case_id), note },
            _ => TriageData::OpenCase { person_id: required_id(&mut c, "person_id", &self.person_id), note },
        };
        c.finish()?;
        Ok(data)
    }
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(missing_docs)]
pub struct AuditQuery {
    #[serde(default, deserialize_with = "flex")]
    pub case_id: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub entity: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub to: Option<String>,
    #[serde(default, deserialize_with = "flex")]
    pub limit: Option<String>,
}

/// Checked audit filters.
#[derive(Debug, Clone, Default)]
#[allow(missing_docs)]
pub struct AuditFilter {
    pub case_id: Option<i64>,
    pub user_id: Option<i64>,
    pub entity: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub limit: i64,
}

impl AuditQuery {
    /// Checks the filters.
    pub fn check(&self) -> Result<AuditFilter> {
        let mut c = Checker::default();
        let f = AuditFilter {
            case_id: optional_id(&mut c, "case_id", &self.case_id),
            user_id: optional_id(&mut c, "user_id", &self.user_id),
            entity: self.entity.clone(),
            from: self.from.as_ref().and_then(|v| c.date("from", v)),
            to: self.to.as_ref().and_then(|v| c.date("to", v)),
            limit: match self.limit.as_deref().map(str::parse::<i64>) {
                None => 200,
                Some(Ok(n)) if (1..=10_000).contains(&n) => n,
                Some(_) => {
                    c.add("limit", "a number from 1 to 10000");
                    0
                }
            },
        };
        c.finish()?;
        Ok(f)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::CaseError;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn good_person() -> PersonInput {
        serde_json::from_value(serde_json::json!({
            "fiscal_code": "rssmra85t10a562s", "surname": "Rossi", "given_name": "Mario", "sex": "M",
            "birth_date": "1985-12-10", "birth_place": "San Giuliano Milanese", "citizenship": "Italia",
            "residence_istat": 15146, "address": "Via Padova 1", "lat": 45.49, "lng": "9,22"
        }))
        .unwrap()
    }

    #[test]
    fn a_good_person_checks() {
        let p = good_person().check(today()).unwrap();
        assert_eq!(p.fiscal_code.as_str(), "RSSMRA85T10A562S");
        assert_eq!(p.residence_istat.as_str(), "015146");
        assert_eq!(p.coords, Some((45.49, 9.22)));
    }

    #[test]
    fn bad_person_fields_are_all_named() {
        let mut p = good_person();
        p.fiscal_code = Some("RSSMRA85T10A562X".into());
        p.birth_date = Some("1985-02-30".into());
        p.residence_istat = Some("MILANO".into());
        p.lat = Some("45.4".into());
        p.lng = None;
        let Err(CaseError::Invalid(errors)) = p.check(today()) else { panic!() };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["fiscal_code", "birth_date", "residence_istat", "lng"], "{errors:?}");
        assert!(errors[0].message.contains("check character"), "{}", errors[0].message);
    }

    #[test]
    fn fiscal_code_must_agree_with_birth_data() {
        let mut p = good_person();
        p.birth_date = Some("1985-12-11".into());
        let Err(CaseError::Invalid(errors)) = p.check(today()) else { panic!() };
        assert_eq!(errors[0].field, "fiscal_code");
    }

    #[test]
    fn name_keys_fold_accents_and_punctuation() {
        assert_eq!(name_key("  D'Àngelo  Nicolò "), "D ANGELO NICOLO");
        assert_eq!(name_key("rossi"), "ROSSI");
    }

    #[test]
    fn euros_parse_to_cents() {
        assert_eq!(parse_euros("12.5"), Some(1250));
        assert_eq!(parse_euros("12,05"), Some(1205));
        assert_eq!(parse_euros("7"), Some(700));
        assert_eq!(parse_euros("1.234"), None);
        assert_eq!(parse_euros("-3"), None);
        assert_eq!(parse_euros("abc"), None);
    }

    #[test]
    fn interventions_split_the_amount() {
        let i: InterventionInput = serde_json::from_value(serde_json::json!({
            "plan_id": 3, "service_code": "sad", "start_date": "2026-01-01", "quantity": 10,
            "unit_cost": "22.50", "quota_utente": "50"
        }))
        .unwrap();
        let d = i.check().unwrap();
        assert_eq!((d.amount_cents, d.quota_utente_cents, d.quota_ente_cents), (22500, 5000, 17500));
        assert_eq!(d.area, "anziani");
        assert_eq!(d.unit, "ora");
    }

    #[test]
    fn plan_lists_come_from_lines_or_arrays() {
        let p: PlanInput = serde_json::from_value(serde_json::json!({
            "goals": "Autonomia a casa\n\n Rete di vicinato ", "actions": ["SAD 3 volte a settimana"], "team": ["AS Bianchi"],
            "start_date": "2026-01-01", "end_date": "2026-12-31", "review_date": "2027-01-15"
        }))
        .unwrap();
        assert_eq!(p.goals, ["Autonomia a casa", "Rete di vicinato"]);
        let Err(CaseError::Invalid(errors)) = p.check() else { panic!() };
        assert_eq!(errors[0].field, "review_date");
    }
}
