//! The records of the case file, the users who keep them, and what each role may do.
//!
//! Rows come out of the store as these types and go out of the API as JSON unchanged.
//! Inputs (`New…`) arrive as text, from JSON or from a form, and are checked field by
//! field in [`crate::input`] before anything is written.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What a user does in the service, which decides what they may see and do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Assistente sociale: keeps case files.
    SocialWorker,
    /// Coordinatore: a social worker who also approves plans and merges records.
    Coordinator,
    /// Back office: registry, alerts intake.
    BackOffice,
    /// Operatore di struttura: presences in a facility (no case files).
    FacilityOperator,
    /// Dirigente: dashboards only.
    Manager,
    /// Policy planner: territorial analysis only.
    Planner,
    /// Statistician: reports only.
    Statistician,
    /// Administrator: users and the audit log.
    Admin,
}

/// Something a role may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Search and read the registry.
    RegistryRead,
    /// Create and change persons, households and networks.
    RegistryWrite,
    /// Merge duplicate persons.
    RegistryMerge,
    /// Read case files.
    CaseRead,
    /// Record contacts, assessments, plans, interventions, diary, documents, closures.
    CaseWrite,
    /// Approve or reject individual plans.
    PlanApprove,
    /// Record alerts (segnalazioni).
    AlertCreate,
    /// Triage alerts.
    AlertTriage,
    /// Query the audit log.
    AuditRead,
    /// See facilities, waiting lists and stays (residential care).
    FacilityRead,
    /// Verify placement documents, set waiting-list weights, admit, transfer, discharge,
    /// approve pre-bills (residential care back office).
    ResidentialManage,
    /// Record daily presences (facility operators: only in their facilities).
    PresenceWrite,
    /// Produce the INPS flows (PSA/SINA, SINBA) and their pre-send reports, and set up
    /// how an ente appears in them.
    InpsSend,
    /// See citizens' online applications and decide those in review.
    ApplicationDecide,
    /// See the managers' dashboard and produce the reports (Piano di Zona, ISTAT) of
    /// the enti in scope.
    ReportRead,
    /// Set the yearly budgets per area di utenza shown on the managers' dashboard.
    BudgetWrite,
    /// Query the warehouse with SQL (read-only, rows filtered to the enti in scope).
    SqlQuery,
}

impl Role {
    /// Every role, in the order pages list them.
    pub const ALL: [Role; 8] = [
        Role::SocialWorker,
        Role::Coordinator,
        Role::BackOffice,
        Role::FacilityOperator,
        Role::Manager,
        Role::Planner,
        Role::Statistician,
        Role::Admin,
    ];

    /// The stable code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Role::SocialWorker => "social_worker",
            Role::Coordinator => "coordinator",
            Role::BackOffice => "back_office",
            Role::FacilityOperator => "facility_operator",
            Role::Manager => "manager",
            Role::Planner => "planner",
            Role::Statistician => "statistician",
            Role::Admin => "admin",
        }
    }

    /// The role with this code.
    pub fn parse(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether this role may do `p`.
    pub fn can(self, p: Permission) -> bool {
        use Permission as P;
        match self {
            Role::SocialWorker => matches!(
                p,
                P::RegistryRead
                    | P::RegistryWrite
                    | P::CaseRead
                    | P::CaseWrite
                    | P::AlertCreate
                    | P::AlertTriage
                    | P::FacilityRead
            ),
            Role::Coordinator => !matches!(p, P::AuditRead | P::SqlQuery),
            Role::BackOffice => matches!(
                p,
                P::RegistryRead
                    | P::RegistryWrite
                    | P::RegistryMerge
                    | P::AlertCreate
                    | P::FacilityRead
                    | P::ResidentialManage
                    | P::PresenceWrite
                    | P::InpsSend
                    | P::ApplicationDecide
            ),
            Role::Admin => matches!(p, P::AuditRead),
            Role::FacilityOperator => matches!(p, P::FacilityRead | P::PresenceWrite),
            Role::Manager => matches!(p, P::FacilityRead | P::ReportRead | P::BudgetWrite),
            Role::Planner | Role::Statistician => matches!(p, P::ReportRead | P::SqlQuery),
        }
    }
}

/// The signed-in user a request acts for, with the enti they may see.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Actor {
    /// User id.
    pub user_id: i64,
    /// Login name.
    pub username: String,
    /// Name shown on pages.
    pub full_name: String,
    /// Role.
    pub role: Role,
    /// The user's ente, for an ente-level user.
    pub ente: Option<String>,
    /// The ISTAT codes of the enti in scope: the user's ente, or every member of their ambito.
    pub enti: Vec<String>,
    /// The ambito, for an ambito-level user.
    pub ambito: Option<String>,
}

impl Actor {
    /// Fails with 403 unless the role allows `p`.
    pub fn require(&self, p: Permission, what: &'static str) -> crate::Result<()> {
        if self.role.can(p) { Ok(()) } else { Err(crate::CaseError::Forbidden(what)) }
    }

    /// Whether `ente` is in the user's scope.
    pub fn sees(&self, ente: &str) -> bool {
        self.enti.iter().any(|e| e == ente)
    }

    /// The ente new records go to: the user's own, or the one asked for if in scope.
    pub fn ente_for(&self, asked: Option<&str>) -> crate::Result<String> {
        match asked.map(str::trim).filter(|s| !s.is_empty()) {
            Some(e) if self.sees(e) => Ok(e.to_owned()),
            Some(e) => Err(crate::CaseError::field_code(
                "ente",
                "not_your_ente",
                &[("value", e.to_owned())],
                format!("ente '{e}' is not one of yours"),
            )),
            None if self.enti.len() == 1 => Ok(self.enti[0].clone()),
            None => Err(crate::CaseError::field("ente", "required: you work for several enti; say which")),
        }
    }
}

/// A comune.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Ente {
    /// ISTAT code.
    pub istat: String,
    /// Name.
    pub name: String,
    /// Ambito code.
    pub ambito: String,
}

/// A user as others see them (no password hash).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// Role code.
    pub role: String,
    /// Ente, for an ente-level user.
    pub ente: Option<String>,
    /// Ambito, for an ambito-level user.
    pub ambito: Option<String>,
}

/// A person in the registry (anagrafica).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Person {
    /// Id.
    pub id: i64,
    /// Ente keeping the record.
    pub ente: String,
    /// Codice fiscale, or an 11-digit temporary code.
    pub fiscal_code: String,
    /// Whether `fiscal_code` is temporary, to be reconciled.
    pub temporary_code: bool,
    /// Cognome.
    pub surname: String,
    /// Nome.
    pub given_name: String,
    /// `M` or `F`.
    pub sex: String,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// Place of birth (comune or foreign country).
    pub birth_place: String,
    /// Citizenship (country name or ISO code).
    pub citizenship: String,
    /// ISTAT code of the comune of residence.
    pub residence_istat: String,
    /// Street address of residence.
    pub address: String,
    /// Latitude of the residence, WGS84.
    pub lat: Option<f64>,
    /// Longitude of the residence, WGS84.
    pub lng: Option<f64>,
    /// Household (nucleo).
    pub household_id: Option<i64>,
    /// Role in the household (intestatario, coniuge, figlio, ...).
    pub household_role: Option<String>,
    /// Set when this record was merged into another (a duplicate).
    pub merged_into: Option<i64>,
    /// Incremented on every change.
    pub version: i64,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One version of a person: the values after a change, who made it and when.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonVersion {
    /// Version number, from 1.
    pub version: i64,
    /// `created`, `updated`, `merged`.
    pub change: String,
    /// Who changed it.
    pub changed_by: String,
    /// When.
    pub changed_at: DateTime<Utc>,
    /// The fields that differ from the previous version.
    pub changed_fields: Vec<String>,
    /// The values as they were after this change.
    #[schema(value_type = Object)]
    pub values: serde_json::Value,
}

/// A possible duplicate found when a person is created.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DuplicateCandidate {
    /// The existing person.
    pub person: Person,
    /// `same_fiscal_code`, `same_name_and_birth_date` or `similar_name`.
    #[schema(value_type = String)]
    pub reason: &'static str,
}

/// A household (nucleo familiare) and its members.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Household {
    /// Id.
    pub id: i64,
    /// Ente.
    pub ente: String,
    /// Address.
    pub address: String,
    /// When created.
    pub created_at: DateTime<Utc>,
}

/// A member of a person's social network (rete).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct NetworkMember {
    /// Id.
    pub id: i64,
    /// Whose network.
    pub person_id: i64,
    /// `family`, `friend`, `neighbour`, `volunteer`, `professional`, `other`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Relation to the person (figlia, vicino, medico di base, ...).
    pub relation: String,
    /// Phone or e-mail.
    pub contact: Option<String>,
    /// The related person, when in the registry.
    pub related_person_id: Option<i64>,
    /// Note.
    pub note: Option<String>,
}

/// A case (cartella) of a person.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Case {
    /// Id.
    pub id: i64,
    /// Ente.
    pub ente: String,
    /// The person.
    pub person_id: i64,
    /// `open` or `closed`.
    pub status: String,
    /// The social worker in charge.
    pub worker_id: i64,
    /// Opened on.
    pub opened_on: NaiveDate,
    /// Closed on.
    pub closed_on: Option<NaiveDate>,
    /// Closure reason code.
    pub closure_reason: Option<String>,
    /// Closure outcome (final evaluation).
    pub closure_outcome: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A case in a list, with the person's name.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CaseSummary {
    /// Case id.
    pub id: i64,
    /// Ente.
    pub ente: String,
    /// Person id.
    pub person_id: i64,
    /// Surname.
    pub surname: String,
    /// Given name.
    pub given_name: String,
    /// Fiscal code.
    pub fiscal_code: String,
    /// `open` or `closed`.
    pub status: String,
    /// Social worker in charge.
    pub worker_id: i64,
    /// Their name.
    pub worker_name: String,
    /// Opened on.
    pub opened_on: NaiveDate,
}

/// A: first contact and request.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Contact {
    /// Id.
    pub id: i64,
    /// Ente.
    pub ente: String,
    /// Person.
    pub person_id: i64,
    /// The case it opened or belongs to.
    pub case_id: Option<i64>,
    /// Date.
    pub contact_date: NaiveDate,
    /// `desk`, `phone`, `email`, `home_visit`, `referral`.
    pub channel: String,
    /// `self`, `family`, `other_service`, `other`.
    pub requester: String,
    /// The request in the person's words.
    pub request: String,
    /// Area di utenza.
    pub area: String,
    /// `case_opened`, `information`, `referred`, `no_follow_up`.
    pub outcome: String,
    /// Note on the outcome.
    pub outcome_note: Option<String>,
    /// Recorded by.
    pub created_by: i64,
    /// When recorded.
    pub created_at: DateTime<Utc>,
}

/// B: a needs assessment. Areas graded 0 (no need) to 4 (severe).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Assessment {
    /// Id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// Date.
    pub assessed_on: NaiveDate,
    /// Instrument (SVAMA, SVAMDI, ...).
    pub instrument: String,
    /// Health.
    pub health: i64,
    /// Autonomy (ADL/IADL).
    pub autonomy: i64,
    /// Household.
    pub household: i64,
    /// Housing.
    pub housing: i64,
    /// Income.
    pub income: i64,
    /// Work.
    pub work: i64,
    /// Social network.
    pub network: i64,
    /// Need score 0-100.
    pub need_score: i64,
    /// Notes.
    pub notes: String,
    /// Assessor.
    pub assessor_id: i64,
    /// Recorded.
    pub created_at: DateTime<Utc>,
}

/// C: an individual plan (PAI).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Plan {
    /// Id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// Goals.
    pub goals: Vec<String>,
    /// Actions.
    pub actions: Vec<String>,
    /// Équipe members.
    pub team: Vec<String>,
    /// Start.
    pub start_date: NaiveDate,
    /// End.
    pub end_date: NaiveDate,
    /// Review date.
    pub review_date: NaiveDate,
    /// `draft`, `submitted`, `approved`, `rejected`.
    pub status: String,
    /// Author.
    pub created_by: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Submitted for approval.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Coordinator who approved or rejected it.
    pub decided_by: Option<i64>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// Why (for a rejection).
    pub decision_note: Option<String>,
}

/// A plan as stored: lists as JSON text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PlanRow {
    pub id: i64,
    pub case_id: i64,
    pub goals: String,
    pub actions: String,
    pub team: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub review_date: NaiveDate,
    pub status: String,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
}

impl From<PlanRow> for Plan {
    fn from(r: PlanRow) -> Self {
        let list = |s: &str| serde_json::from_str::<Vec<String>>(s).unwrap_or_default();
        Plan {
            id: r.id,
            case_id: r.case_id,
            goals: list(&r.goals),
            actions: list(&r.actions),
            team: list(&r.team),
            start_date: r.start_date,
            end_date: r.end_date,
            review_date: r.review_date,
            status: r.status,
            created_by: r.created_by,
            created_at: r.created_at,
            submitted_at: r.submitted_at,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            decision_note: r.decision_note,
        }
    }
}

/// A plan in a work list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PlanSummary {
    /// Plan id.
    pub id: i64,
    /// Case id.
    pub case_id: i64,
    /// Person's surname.
    pub surname: String,
    /// Person's given name.
    pub given_name: String,
    /// Status.
    pub status: String,
    /// Review date.
    pub review_date: NaiveDate,
    /// Social worker in charge of the case.
    pub worker_name: String,
}

/// D: an intervention delivered (erogazione). Money in euro cents.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Intervention {
    /// Id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// The approved plan it answers.
    pub plan_id: i64,
    /// Service code from the catalogue (SAD, PASTI, RSA, ...).
    pub service_code: String,
    /// Area di utenza.
    pub area: String,
    /// ISTAT spending type.
    pub spending: String,
    /// Unit of quantity.
    pub unit: String,
    /// Start.
    pub start_date: NaiveDate,
    /// End; `None` while it runs.
    pub end_date: Option<NaiveDate>,
    /// Quantity (hours, days, meals, months...).
    pub quantity: f64,
    /// Unit cost, cents.
    pub unit_cost_cents: i64,
    /// Amount, cents.
    pub amount_cents: i64,
    /// Quota paid by the ente, cents.
    pub quota_ente_cents: i64,
    /// Quota paid by the user (compartecipazione), cents.
    pub quota_utente_cents: i64,
    /// Quota paid by the health service, cents.
    pub quota_ssn_cents: i64,
    /// Note.
    pub note: Option<String>,
    /// Recorded by.
    pub created_by: i64,
    /// Recorded.
    pub created_at: DateTime<Utc>,
}

/// A social diary entry.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DiaryEntry {
    /// Id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// Date of the event.
    pub entry_date: NaiveDate,
    /// `interview`, `home_visit`, `phone`, `meeting`, `note`.
    pub kind: String,
    /// Text.
    pub text: String,
    /// Author id.
    pub author_id: i64,
    /// Author name.
    pub author_name: String,
    /// Recorded.
    pub created_at: DateTime<Utc>,
}

/// A document attached to a case (without its bytes).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Document {
    /// Id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Uploaded by.
    pub uploaded_by: i64,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

/// An alert (segnalazione).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Alert {
    /// Id.
    pub id: i64,
    /// Ente.
    pub ente: String,
    /// `school`, `hospital`, `police`, `court`, `other`.
    pub source: String,
    /// Who reported (office, person).
    pub reporter: String,
    /// Date received.
    pub received_on: NaiveDate,
    /// Who the alert is about, as reported.
    pub subject: String,
    /// The person, once identified.
    pub person_id: Option<i64>,
    /// What was reported.
    pub description: String,
    /// `low`, `medium`, `high`.
    pub urgency: String,
    /// `new`, `triaged`, `dismissed`.
    pub status: String,
    /// Triage note.
    pub triage_note: Option<String>,
    /// Triaged by.
    pub triaged_by: Option<i64>,
    /// When.
    pub triaged_at: Option<DateTime<Utc>>,
    /// The case it was assigned to.
    pub case_id: Option<i64>,
    /// Recorded.
    pub created_at: DateTime<Utc>,
}

/// One line of the audit log.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Id.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// User id.
    pub user_id: i64,
    /// User name.
    pub username: String,
    /// Role.
    pub role: String,
    /// Ente of the record.
    pub ente: Option<String>,
    /// `read`, `create`, `update`, `download`, `login`...
    pub action: String,
    /// `case`, `person`, `plan`, ...
    pub entity: String,
    /// Record id.
    pub entity_id: Option<i64>,
    /// Case, when the record belongs to one.
    pub case_id: Option<i64>,
    /// Detail.
    pub detail: Option<String>,
}

/// The whole case file as a social worker reads it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseFile {
    /// The case.
    pub case: Case,
    /// The person.
    pub person: Person,
    /// Social worker in charge.
    pub worker_name: String,
    /// A: contacts.
    pub contacts: Vec<Contact>,
    /// B: assessments, newest first.
    pub assessments: Vec<Assessment>,
    /// C: plans, newest first.
    pub plans: Vec<Plan>,
    /// D: interventions.
    pub interventions: Vec<Intervention>,
    /// Diary, newest first.
    pub diary: Vec<DiaryEntry>,
    /// Documents.
    pub documents: Vec<Document>,
}

/// The four work lists of the home page.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct WorkLists {
    /// Open cases in charge of the user.
    pub my_cases: Vec<CaseSummary>,
    /// Plans submitted and waiting for a coordinator.
    pub plans_to_approve: Vec<PlanSummary>,
    /// Approved plans of open cases whose review is due within 30 days (or overdue).
    pub reviews_due: Vec<PlanSummary>,
    /// Alerts not yet triaged.
    pub alerts_to_triage: Vec<Alert>,
}
