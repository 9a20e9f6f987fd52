//! The operations of the case store, as the API and pages call them: each checks the
//! role, keeps to the user's enti, enforces the CSI transitions, writes the audit line
//! and runs in one transaction.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use super::sql::{AuditLine, Ops, PersonRow, UserAuth};
use super::{Store, read, tx};
use crate::auth;
use crate::input::*;
use crate::model::*;
use crate::{CaseError, Result};

/// The result of creating a person.
#[derive(Debug, Clone)]
pub enum Created {
    /// Created.
    Person(Box<Person>),
    /// Not created: possible duplicates, to be confirmed or merged.
    Duplicates(Vec<DuplicateCandidate>),
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Persons in the input.
    pub read: usize,
    /// Persons created.
    pub created: usize,
    /// Persons skipped because the ente already had their fiscal code.
    pub skipped_existing: usize,
}

/// A document's bytes, checked against the checksum stored with them.
#[derive(Debug, Clone)]
pub struct DocumentBytes {
    /// File name.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// Content.
    pub content: Vec<u8>,
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The cookie value (only its hash is stored).
    pub token: String,
    /// The CSRF token of the session.
    pub csrf: String,
    /// Who.
    pub actor: Actor,
}

pub(super) fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Today's date, for checks on dates entered.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

pub(super) fn scope(actor: &Actor) -> (&str, &str) {
    (actor.ente.as_deref().unwrap_or(""), actor.ambito.as_deref().unwrap_or(""))
}

pub(super) fn line<'a>(
    actor: &'a Actor,
    action: &'a str,
    entity: &'a str,
    entity_id: i64,
    case_id: Option<i64>,
    ente: &'a str,
) -> AuditLine<'a> {
    AuditLine { actor, action, entity, entity_id: Some(entity_id), case_id, ente: Some(ente), detail: None }
}

fn person_row<'a>(ente: &'a str, d: &'a PersonData) -> PersonRow<'a> {
    let surname_key = name_key(&d.surname);
    let given_key = name_key(&d.given_name);
    PersonRow {
        ente,
        fiscal_code: d.fiscal_code.as_str(),
        temporary_code: d.fiscal_code.is_temporary(),
        surname: &d.surname,
        given_name: &d.given_name,
        name_key: format!("{surname_key} {given_key}"),
        name_key_rev: format!("{given_key} {surname_key}"),
        sex: d.sex.as_str(),
        birth_date: d.birth_date,
        birth_place: &d.birth_place,
        citizenship: &d.citizenship,
        residence_istat: d.residence_istat.as_str(),
        address: &d.address,
        lat: d.coords.map(|c| c.0),
        lng: d.coords.map(|c| c.1),
        household_id: d.household_id,
        household_role: d.household_role.as_deref(),
    }
}

fn snapshot(p: &Person) -> String {
    serde_json::to_string(p).unwrap_or_default()
}

pub(super) fn must_be_open(c: &Case) -> Result<()> {
    if c.status == "open" {
        Ok(())
    } else {
        Err(CaseError::conflict(
            "case_closed",
            format!("case {} was closed on {}", c.id, c.closed_on.unwrap_or_default()),
        ))
    }
}

/// Loads a case in the user's scope, or 404.
macro_rules! scoped_case {
    ($c:expr, $actor:expr, $id:expr) => {
        match $c.case($id).await? {
            Some(case) if $actor.sees(&case.ente) => case,
            _ => return Err(CaseError::NotFound("case")),
        }
    };
}

/// Loads a person in the user's scope, or 404.
macro_rules! scoped_person {
    ($c:expr, $actor:expr, $id:expr) => {
        match $c.person($id).await? {
            Some(p) if $actor.sees(&p.ente) => p,
            _ => return Err(CaseError::NotFound("person")),
        }
    };
}

impl Store {
    // ---- Tenancy and users ----

    /// Creates or renames an ambito and its member enti.
    pub async fn upsert_ambito(&self, code: &str, name: &str, enti: &[(&str, &str)]) -> Result<()> {
        tx!(self, |c| {
            c.upsert_ambito(code, name).await?;
            for (istat, ente_name) in enti {
                c.upsert_ente(istat, ente_name, code).await?;
            }
        });
        Ok(())
    }

    /// Creates a user working for an ente (`Ok(ente)`) or a whole ambito (`Err(ambito)`).
    pub async fn create_user(
        &self,
        username: &str,
        full_name: &str,
        role: Role,
        scope: std::result::Result<&str, &str>,
        password: &str,
    ) -> Result<i64> {
        let mut chk = crate::error::Checker::default();
        let ok_name = (3..=40).contains(&username.len())
            && username.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !ok_name {
            chk.add("username", "3 to 40 characters: lower-case letters, digits, '.', '_', '-'");
        }
        if password.chars().count() < 10 {
            chk.fail("password", "too_short", &[("min", "10".to_owned())], "at least 10 characters");
        }
        chk.finish()?;
        let pw = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
            .await
            .map_err(|e| CaseError::Internal(e.to_string()))??;
        let (ente, ambito) = match scope {
            Ok(e) => (Some(e), None),
            Err(a) => (None, Some(a)),
        };
        let id = tx!(self, |c| {
            if c.user_auth(username).await?.is_some() {
                return Err(CaseError::conflict("username_taken", format!("user name '{username}' is taken")));
            }
            let known = match (ente, ambito) {
                (Some(e), _) => !c.enti_in_scope(e, "").await?.is_empty(),
                (_, Some(a)) => !c.enti_of_ambito(a).await?.is_empty(),
                _ => false,
            };
            if !known {
                let (field, value) = if ente.is_some() { ("ente", ente) } else { ("ambito", ambito) };
                return Err(CaseError::field(field, format!("'{}' is not set up; add it first", value.unwrap_or(""))));
            }
            c.insert_user(username, full_name, role.code(), ente, ambito, &hash, now()).await?
        });
        Ok(id)
    }

    /// How many users there are (0 on a new database).
    pub async fn user_count(&self) -> Result<i64> {
        Ok(read!(self, |c| c.count_users().await?))
    }

    async fn actor_of(&self, u: UserAuth) -> Result<Actor> {
        let role = Role::parse(&u.role).ok_or_else(|| CaseError::Internal(format!("unknown role {}", u.role)))?;
        let enti = match (&u.ente, &u.ambito) {
            (Some(e), _) => vec![e.clone()],
            (None, Some(a)) => read!(self, |c| c.enti_of_ambito(a).await?),
            (None, None) => Vec::new(),
        };
        Ok(Actor {
            user_id: u.id,
            username: u.username,
            full_name: u.full_name,
            role,
            ente: u.ente,
            enti,
            ambito: u.ambito,
        })
    }

    /// Refuses a sign-in while the account `key` or the client has failed too often
    /// within the throttling window (staff and citizens alike).
    pub(crate) async fn check_throttle(&self, key: &str, client: &str, t: DateTime<Utc>) -> Result<()> {
        let since = t - Duration::seconds(auth::THROTTLE_WINDOW_SECS);
        let (by_user, by_client) = read!(self, |c| c.failures_since(key, client, since).await?);
        if by_user >= auth::MAX_FAILURES_PER_USER || by_client >= auth::MAX_FAILURES_PER_CLIENT {
            // The key may hold a citizen's fiscal code: the log names the client only.
            tracing::warn!(client, "sign-in throttled");
            return Err(CaseError::Throttled { retry_after_secs: auth::THROTTLE_WINDOW_SECS as u64 });
        }
        Ok(())
    }

    /// Checks a password against the account's hash (`None`: no active account, checked
    /// against a dummy hash so the time taken does not tell), recording a failure for
    /// `key` and the client when it does not match.
    pub(crate) async fn verify_sign_in(
        &self,
        key: &str,
        client: &str,
        hash: Option<String>,
        password: &str,
        t: DateTime<Utc>,
    ) -> Result<()> {
        let exists = hash.is_some();
        let hash = hash.unwrap_or_else(|| auth::DUMMY_HASH.to_owned());
        let pw = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || auth::verify_password(&pw, &hash))
            .await
            .map_err(|e| CaseError::Internal(e.to_string()))?;
        if ok && exists {
            Ok(())
        } else {
            tx!(self, |c| c.record_failure(key, client, t).await?);
            Err(CaseError::Unauthorized)
        }
    }

    /// Signs in: checks the password (argon2id), refuses after too many failures for
    /// the user name or the client, and opens a session.
    pub async fn login(&self, username: &str, password: &str, client: &str) -> Result<Session> {
        let t = now();
        self.check_throttle(username, client, t).await?;
        let user = read!(self, |c| c.user_auth(username).await?).filter(|u| u.active);
        self.verify_sign_in(username, client, user.as_ref().map(|u| u.password_hash.clone()), password, t).await?;
        let Some(user) = user else { return Err(CaseError::Unauthorized) };
        let token = auth::new_token()?;
        let csrf = auth::new_token()?;
        let actor = self.actor_of(user).await?;
        tx!(self, |c| {
            c.clear_failures(username).await?;
            c.insert_session(
                &auth::token_hash(&token),
                actor.user_id,
                &csrf,
                t,
                t + Duration::hours(auth::SESSION_HOURS),
            )
            .await?;
            c.audit(
                AuditLine {
                    actor: &actor,
                    action: "login",
                    entity: "session",
                    entity_id: None,
                    case_id: None,
                    ente: None,
                    detail: Some(client.to_owned()),
                },
                t,
            )
            .await?;
        });
        Ok(Session { token, csrf, actor })
    }

    /// The session of a cookie token, or 401.
    pub async fn session(&self, token: &str) -> Result<Session> {
        let found = read!(self, |c| c.session(&auth::token_hash(token), now()).await?);
        let (user_id, csrf) = found.ok_or(CaseError::Unauthorized)?;
        let user =
            read!(self, |c| c.user_auth_by_id(user_id).await?).filter(|u| u.active).ok_or(CaseError::Unauthorized)?;
        Ok(Session { token: token.to_owned(), csrf, actor: self.actor_of(user).await? })
    }

    /// Ends a session.
    pub async fn logout(&self, token: &str) -> Result<()> {
        tx!(self, |c| c.delete_session(&auth::token_hash(token)).await?);
        Ok(())
    }

    /// The enti in the user's scope.
    pub async fn enti(&self, actor: &Actor) -> Result<Vec<Ente>> {
        let (e, a) = scope(actor);
        Ok(read!(self, |c| c.enti_in_scope(e, a).await?))
    }

    /// The users working in the user's scope.
    pub async fn users(&self, actor: &Actor) -> Result<Vec<User>> {
        let (e, a) = scope(actor);
        Ok(read!(self, |c| c.users_in_scope(e, a).await?))
    }

    // ---- Registry ----

    /// Searches the registry by name (either order, prefix) or fiscal code (prefix).
    pub async fn search_persons(&self, actor: &Actor, q: &str, limit: i64) -> Result<Vec<Person>> {
        actor.require(Permission::RegistryRead, "search the registry")?;
        let (e, a) = scope(actor);
        let limit = limit.clamp(1, 200);
        let raw = q.trim().to_ascii_uppercase();
        let looks_like_code = raw.len() >= 6 && raw.chars().any(|c| c.is_ascii_digit()) && !raw.contains(' ')
            || raw.len() == 16 && raw.chars().all(|c| c.is_ascii_alphanumeric());
        if looks_like_code {
            let hi = format!("{raw}\u{7f}");
            return Ok(read!(self, |c| c.search_fiscal_codes(e, a, &raw, &hi, limit).await?));
        }
        let key = name_key(q);
        if key.chars().count() < 2 {
            return Err(CaseError::field_code(
                "q",
                "search_too_short",
                &[],
                "type at least two letters of a name, or a fiscal code",
            ));
        }
        // Two index range scans that stop at `limit` (surname first, given name first),
        // merged: never a sort of every namesake in a large registry.
        let hi = format!("{key}\u{7f}");
        let (mut found, rev) = read!(self, |c| (
            c.search_names(e, a, &key, &hi, false, limit).await?,
            c.search_names(e, a, &key, &hi, true, limit).await?
        ));
        for p in rev {
            if !found.iter().any(|f| f.id == p.id) {
                found.push(p);
            }
        }
        found.sort_by(|x, y| {
            (name_key(&x.surname), name_key(&x.given_name), x.birth_date).cmp(&(
                name_key(&y.surname),
                name_key(&y.given_name),
                y.birth_date,
            ))
        });
        found.truncate(limit as usize);
        Ok(found)
    }

    /// Possible duplicates of a person about to be created: same fiscal code, same name
    /// and birth date, or a similar name (edit distance ≤ 2) with the same birth date.
    pub async fn duplicates(&self, actor: &Actor, d: &PersonData) -> Result<Vec<DuplicateCandidate>> {
        let (e, a) = scope(actor);
        let key = format!("{} {}", name_key(&d.surname), name_key(&d.given_name));
        let (same_code, same_day) = read!(self, |c| (
            c.persons_by_fiscal_code(e, a, d.fiscal_code.as_str()).await?,
            c.persons_by_birth_date(e, a, d.birth_date).await?
        ));
        let mut out: Vec<DuplicateCandidate> =
            same_code.into_iter().map(|person| DuplicateCandidate { person, reason: "same_fiscal_code" }).collect();
        for p in same_day {
            if out.iter().any(|c| c.person.id == p.id) {
                continue;
            }
            let pk = format!("{} {}", name_key(&p.surname), name_key(&p.given_name));
            let reason = if pk == key {
                "same_name_and_birth_date"
            } else if mosaico_domain::text::edit_distance(&pk, &key) <= 2 {
                "similar_name"
            } else {
                continue;
            };
            out.push(DuplicateCandidate { person: p, reason });
        }
        Ok(out)
    }

    /// Creates a person, unless possible duplicates exist and the caller has not
    /// confirmed; a second record with the same fiscal code in the same ente is never
    /// created.
    pub async fn create_person(&self, actor: &Actor, input: &PersonInput) -> Result<Created> {
        actor.require(Permission::RegistryWrite, "change the registry")?;
        let ente = actor.ente_for(input.ente.as_deref())?;
        let d = input.check(today())?;
        let dups = self.duplicates(actor, &d).await?;
        if dups.iter().any(|c| c.reason == "same_fiscal_code" && c.person.ente == ente)
            || !dups.is_empty() && !input.confirmed()
        {
            return Ok(Created::Duplicates(dups));
        }
        let person = tx!(self, |c| {
            self.check_household(c, actor, d.household_id).await?;
            let t = now();
            let id = c.insert_person(&person_row(&ente, &d), t).await.map_err(unique_to_conflict)?;
            let p = c.person(id).await?.ok_or(CaseError::NotFound("person"))?;
            c.insert_history(id, 1, "created", actor.user_id, t, &snapshot(&p)).await?;
            c.audit(line(actor, "create", "person", id, None, &ente), t).await?;
            p
        });
        Ok(Created::Person(Box::new(person)))
    }

    async fn check_household<C: Ops>(&self, c: &mut C, actor: &Actor, id: Option<i64>) -> Result<()> {
        if let Some(h) = id {
            match c.household(h).await? {
                Some(h) if actor.sees(&h.ente) => {}
                _ => return Err(CaseError::field("household_id", format!("household {h} not found"))),
            }
        }
        Ok(())
    }

    /// Imports persons from an authoritative registry export into `ente` in one
    /// transaction: each gets a version-1 history row; fiscal codes the ente already
    /// has are skipped (and counted). Nothing is written if anything fails.
    pub async fn import_persons(&self, actor: &Actor, ente: &str, people: &[PersonData]) -> Result<ImportSummary> {
        actor.require(Permission::RegistryWrite, "change the registry")?;
        if !actor.sees(ente) {
            return Err(CaseError::field_code(
                "ente",
                "not_your_ente",
                &[("value", ente.to_owned())],
                format!("ente '{ente}' is not one of yours"),
            ));
        }
        // Rows per statement: 20 parameters each, within SQLite's and PostgreSQL's limits.
        const CHUNK: usize = 1000;
        let t = now();
        let created = tx!(self, |c| {
            let mut created = 0usize;
            for chunk in people.chunks(CHUNK) {
                let rows: Vec<PersonRow<'_>> = chunk.iter().map(|d| person_row(ente, d)).collect();
                let inserted = c.insert_persons(&rows, t).await?;
                let by_code: std::collections::HashMap<&str, &PersonRow<'_>> =
                    rows.iter().map(|r| (r.fiscal_code, r)).collect();
                let history: Vec<(i64, String)> = inserted
                    .iter()
                    .filter_map(|(id, code)| by_code.get(code.as_str()).map(|r| (*id, snapshot(&r.to_person(*id, t)))))
                    .collect();
                c.insert_histories(&history, actor.user_id, t).await?;
                created += inserted.len();
            }
            let l = AuditLine {
                actor,
                action: "import",
                entity: "person",
                entity_id: None,
                case_id: None,
                ente: Some(ente),
                detail: Some(format!("{created} persons imported of {}", people.len())),
            };
            c.audit(l, t).await?;
            c.analyze().await?;
            created
        });
        Ok(ImportSummary { read: people.len(), created, skipped_existing: people.len() - created })
    }

    /// A person (the read is audited).
    pub async fn person(&self, actor: &Actor, id: i64) -> Result<Person> {
        actor.require(Permission::RegistryRead, "read the registry")?;
        Ok(tx!(self, |c| {
            let p = scoped_person!(c, actor, id);
            c.audit(line(actor, "read", "person", id, None, &p.ente), now()).await?;
            p
        }))
    }

    /// Changes a person: the fields given replace the current ones; `version` guards
    /// against overwriting a change made meanwhile.
    pub async fn update_person(
        &self,
        actor: &Actor,
        id: i64,
        input: &PersonInput,
        version: Option<i64>,
    ) -> Result<Person> {
        actor.require(Permission::RegistryWrite, "change the registry")?;
        Ok(tx!(self, |c| {
            let cur = scoped_person!(c, actor, id);
            self.apply_update(c, actor, &cur, input, version).await?
        }))
    }

    /// Puts a person in a household: an existing one of the user's enti, or (with
    /// `None`) a new one at the person's address. One transaction.
    pub async fn set_household(&self, actor: &Actor, id: i64, household: Option<i64>, role: &str) -> Result<Person> {
        actor.require(Permission::RegistryWrite, "change the registry")?;
        let mut chk = crate::error::Checker::default();
        let role = chk.text("household_role", role, 40);
        chk.finish()?;
        Ok(tx!(self, |c| {
            let cur = scoped_person!(c, actor, id);
            let hid = match household {
                Some(h) => h,
                None => {
                    let t = now();
                    let h = c.insert_household(&cur.ente, &cur.address, t).await?;
                    c.audit(line(actor, "create", "household", h, None, &cur.ente), t).await?;
                    h
                }
            };
            let overlay = PersonInput {
                household_id: Some(hid.to_string()),
                household_role: Some(role),
                ..PersonInput::default()
            };
            self.apply_update(c, actor, &cur, &overlay, None).await?
        }))
    }

    /// Applies a change to a person inside the caller's transaction: checks, the new
    /// version, its history row and the audit line.
    async fn apply_update<C: Ops>(
        &self,
        c: &mut C,
        actor: &Actor,
        cur: &Person,
        input: &PersonInput,
        version: Option<i64>,
    ) -> Result<Person> {
        let id = cur.id;
        if cur.merged_into.is_some() {
            return Err(CaseError::conflict("person_merged", format!("person {id} was merged into another record")));
        }
        if let Some(v) = version
            && v != cur.version
        {
            return Err(CaseError::conflict(
                "stale_version",
                format!("person {id} changed meanwhile (version {} now, {v} sent); reload and retry", cur.version),
            ));
        }
        let d = input.over(cur).check(today())?;
        self.check_household(c, actor, d.household_id).await?;
        let t = now();
        let n = c.update_person(id, &person_row(&cur.ente, &d), cur.version, t).await.map_err(unique_to_conflict)?;
        if n == 0 {
            return Err(CaseError::conflict("stale_version", format!("person {id} changed meanwhile")));
        }
        let p = c.person(id).await?.ok_or(CaseError::NotFound("person"))?;
        let change = if cur.temporary_code && !p.temporary_code { "reconciled" } else { "updated" };
        c.insert_history(id, p.version, change, actor.user_id, t, &snapshot(&p)).await?;
        c.audit(line(actor, "update", "person", id, None, &p.ente), t).await?;
        Ok(p)
    }

    /// Every version of a person, with the fields each change touched.
    pub async fn person_history(&self, actor: &Actor, id: i64) -> Result<Vec<PersonVersion>> {
        actor.require(Permission::RegistryRead, "read the registry")?;
        let rows = tx!(self, |c| {
            let p = scoped_person!(c, actor, id);
            c.audit(line(actor, "read", "person_history", id, None, &p.ente), now()).await?;
            c.history(id).await?
        });
        let mut out = Vec::with_capacity(rows.len());
        let mut prev: Option<serde_json::Value> = None;
        for r in rows {
            let values: serde_json::Value = serde_json::from_str(&r.snapshot).unwrap_or_default();
            let changed_fields = match (&prev, &values) {
                (Some(serde_json::Value::Object(a)), serde_json::Value::Object(b)) => b
                    .iter()
                    .filter(|(k, v)| !matches!(k.as_str(), "version" | "updated_at") && a.get(*k) != Some(*v))
                    .map(|(k, _)| k.clone())
                    .collect(),
                _ => Vec::new(),
            };
            prev = Some(values.clone());
            out.push(PersonVersion {
                version: r.version,
                change: r.change,
                changed_by: r.username,
                changed_at: r.changed_at,
                changed_fields,
                values,
            });
        }
        Ok(out)
    }

    /// Merges `duplicate` into `keep`: cases, contacts, network and alerts move to
    /// `keep`; the duplicate stays, marked as merged, with its history.
    pub async fn merge_persons(&self, actor: &Actor, keep: i64, duplicate: i64) -> Result<Person> {
        actor.require(Permission::RegistryMerge, "merge registry records")?;
        if keep == duplicate {
            return Err(CaseError::field("duplicate_id", "a person cannot be merged into itself"));
        }
        Ok(tx!(self, |c| {
            let k = scoped_person!(c, actor, keep);
            let d = scoped_person!(c, actor, duplicate);
            if k.merged_into.is_some() || d.merged_into.is_some() {
                return Err(CaseError::conflict("person_merged", "one of the two records was already merged"));
            }
            if k.ente != d.ente {
                return Err(CaseError::conflict("different_ente", "records of different enti cannot be merged"));
            }
            let t = now();
            c.repoint_person(duplicate, keep).await?;
            c.mark_merged(duplicate, keep, t).await?;
            let merged = c.person(duplicate).await?.ok_or(CaseError::NotFound("person"))?;
            c.insert_history(duplicate, merged.version, "merged", actor.user_id, t, &snapshot(&merged)).await?;
            let mut l = line(actor, "merge", "person", keep, None, &k.ente);
            l.detail = Some(format!("merged {duplicate} into {keep}"));
            c.audit(l, t).await?;
            k
        }))
    }

    /// Creates a household.
    pub async fn create_household(&self, actor: &Actor, input: &HouseholdInput) -> Result<Household> {
        actor.require(Permission::RegistryWrite, "change the registry")?;
        let ente = actor.ente_for(input.ente.as_deref())?;
        let mut chk = crate::error::Checker::default();
        let address = chk.text("address", input.address.as_deref().unwrap_or(""), 200);
        chk.finish()?;
        Ok(tx!(self, |c| {
            let t = now();
            let id = c.insert_household(&ente, &address, t).await?;
            c.audit(line(actor, "create", "household", id, None, &ente), t).await?;
            c.household(id).await?.ok_or(CaseError::NotFound("household"))?
        }))
    }

    /// A household and its members.
    pub async fn household(&self, actor: &Actor, id: i64) -> Result<(Household, Vec<Person>)> {
        actor.require(Permission::RegistryRead, "read the registry")?;
        Ok(tx!(self, |c| {
            let h = match c.household(id).await? {
                Some(h) if actor.sees(&h.ente) => h,
                _ => return Err(CaseError::NotFound("household")),
            };
            c.audit(line(actor, "read", "household", id, None, &h.ente), now()).await?;
            let members = c.household_members(id).await?;
            (h, members)
        }))
    }

    /// Adds a member to a person's social network.
    pub async fn add_network_member(
        &self,
        actor: &Actor,
        person_id: i64,
        input: &NetworkInput,
    ) -> Result<NetworkMember> {
        actor.require(Permission::RegistryWrite, "change the registry")?;
        let n = input.check()?;
        Ok(tx!(self, |c| {
            let p = scoped_person!(c, actor, person_id);
            if let Some(r) = n.related_person_id {
                match c.person(r).await? {
                    Some(rp) if actor.sees(&rp.ente) => {}
                    _ => return Err(CaseError::field("related_person_id", format!("person {r} not found"))),
                }
            }
            let t = now();
            let id = c.insert_network(&p.ente, person_id, &n, actor.user_id, t).await?;
            c.audit(line(actor, "create", "network", id, None, &p.ente), t).await?;
            c.network_of(person_id).await?.into_iter().find(|m| m.id == id).ok_or(CaseError::NotFound("network"))?
        }))
    }

    /// A person's social network.
    pub async fn network(&self, actor: &Actor, person_id: i64) -> Result<Vec<NetworkMember>> {
        actor.require(Permission::RegistryRead, "read the registry")?;
        Ok(tx!(self, |c| {
            let p = scoped_person!(c, actor, person_id);
            c.audit(line(actor, "read", "network", person_id, None, &p.ente), now()).await?;
            c.network_of(person_id).await?
        }))
    }

    /// The cases and contacts of a person (for the person page).
    pub async fn person_cases(&self, actor: &Actor, person_id: i64) -> Result<(Vec<CaseSummary>, Vec<Contact>)> {
        actor.require(Permission::CaseRead, "read case files")?;
        Ok(tx!(self, |c| {
            let p = scoped_person!(c, actor, person_id);
            c.audit(line(actor, "read", "person_cases", person_id, None, &p.ente), now()).await?;
            (c.cases_of_person(person_id).await?, c.contacts_of_person(person_id).await?)
        }))
    }

    // ---- A: first contact ----

    /// Records a first contact; with outcome `case_opened` it opens a case in charge
    /// of the user (or adds the contact to the person's open case).
    pub async fn record_contact(&self, actor: &Actor, input: &ContactInput) -> Result<(Contact, Option<Case>)> {
        actor.require(Permission::CaseWrite, "record contacts")?;
        let d = input.check(today())?;
        Ok(tx!(self, |c| {
            let p = scoped_person!(c, actor, d.person_id);
            if p.merged_into.is_some() {
                return Err(CaseError::conflict(
                    "person_merged",
                    format!("person {} was merged into another record", p.id),
                ));
            }
            let t = now();
            let case_id = if d.outcome == "case_opened" {
                let open = c.cases_of_person(p.id).await?.into_iter().find(|k| k.status == "open" && k.ente == p.ente);
                match open {
                    Some(k) => Some(k.id),
                    None => {
                        let id = c.insert_case(&p.ente, p.id, actor.user_id, d.contact_date, t).await?;
                        c.audit(line(actor, "create", "case", id, Some(id), &p.ente), t).await?;
                        Some(id)
                    }
                }
            } else {
                None
            };
            let id = c.insert_contact(&p.ente, case_id, &d, actor.user_id, t).await?;
            c.audit(line(actor, "create", "contact", id, case_id, &p.ente), t).await?;
            let contact = c.contacts_of_person(p.id).await?.into_iter().find(|k| k.id == id);
            let case = match case_id {
                Some(k) => c.case(k).await?,
                None => None,
            };
            (contact.ok_or(CaseError::NotFound("contact"))?, case)
        }))
    }

    // ---- The case file ----

    /// The whole case file (the read is audited).
    pub async fn case_file(&self, actor: &Actor, id: i64) -> Result<CaseFile> {
        actor.require(Permission::CaseRead, "read case files")?;
        Ok(tx!(self, |c| {
            let case = scoped_case!(c, actor, id);
            c.audit(line(actor, "read", "case", id, Some(id), &case.ente), now()).await?;
            let person = c.person(case.person_id).await?.ok_or(CaseError::NotFound("person"))?;
            let worker_name = c.user_auth_by_id(case.worker_id).await?.map(|u| u.full_name).unwrap_or_default();
            CaseFile {
                contacts: c.contacts_of_case(id).await?,
                assessments: c.assessments(id).await?,
                plans: c.plans(id).await?.into_iter().map(Plan::from).collect(),
                interventions: c.interventions(id).await?,
                diary: c.diary(id).await?,
                documents: c.documents(id).await?,
                person,
                worker_name,
                case,
            }
        }))
    }

    /// Cases in the user's scope: `open` or `closed`, only the user's own if `mine`.
    pub async fn cases(&self, actor: &Actor, status: &str, mine: bool, limit: i64) -> Result<Vec<CaseSummary>> {
        actor.require(Permission::CaseRead, "read case files")?;
        let status = match status {
            "" | "open" => "open",
            "closed" => "closed",
            other => return Err(CaseError::field("status", format!("'{other}' is not open or closed"))),
        };
        let (e, a) = scope(actor);
        let worker = if mine { actor.user_id } else { 0 };
        Ok(read!(self, |c| c.cases_in_scope(e, a, status, worker, limit.clamp(1, 1000)).await?))
    }

    /// B: records a needs assessment.
    pub async fn add_assessment(&self, actor: &Actor, case_id: i64, input: &AssessmentInput) -> Result<Assessment> {
        actor.require(Permission::CaseWrite, "record assessments")?;
        let d = input.check(today())?;
        Ok(tx!(self, |c| {
            let case = scoped_case!(c, actor, case_id);
            must_be_open(&case)?;
            if d.assessed_on < case.opened_on {
                return Err(CaseError::field(
                    "assessed_on",
                    format!("before the case was opened ({})", case.opened_on),
                ));
            }
            let t = now();
            let id = c.insert_assessment(&case.ente, case_id, &d, actor.user_id, t).await?;
            c.touch_case(case_id, t).await?;
            c.audit(line(actor, "create", "assessment", id, Some(case_id), &case.ente), t).await?;
            c.assessments(case_id).await?.into_iter().find(|a| a.id == id).ok_or(CaseError::NotFound("assessment"))?
        }))
    }

    /// C: records an individual plan, as a draft or submitted for approval. A case
    /// needs an assessment before a plan.
    pub async fn add_plan(&self, actor: &Actor, case_id: i64, input: &PlanInput) -> Result<Plan> {
        actor.require(Permission::CaseWrite, "write plans")?;
        let d = input.check()?;
        let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        Ok(tx!(self, |c| {
            let case = scoped_case!(c, actor, case_id);
            must_be_open(&case)?;
            if c.assessments(case_id).await?.is_empty() {
                return Err(CaseError::conflict(
                    "assessment_missing",
                    format!("case {case_id} has no needs assessment yet; a plan follows an assessment"),
                ));
            }
            let t = now();
            let status = if d.submit { "submitted" } else { "draft" };
            let id = c
                .insert_plan(
                    &case.ente,
                    case_id,
                    &json(&d.goals),
                    &json(&d.actions),
                    &json(&d.team),
                    (d.start_date, d.end_date, d.review_date),
                    status,
                    actor.user_id,
                    t,
                )
                .await?;
            c.touch_case(case_id, t).await?;
            c.audit(line(actor, "create", "plan", id, Some(case_id), &case.ente), t).await?;
            Plan::from(c.plan(id).await?.ok_or(CaseError::NotFound("plan"))?)
        }))
    }

    /// Submits a draft (or rejected) plan for approval.
    pub async fn submit_plan(&self, actor: &Actor, plan_id: i64) -> Result<Plan> {
        actor.require(Permission::CaseWrite, "write plans")?;
        Ok(tx!(self, |c| {
            let plan = c.plan(plan_id).await?.ok_or(CaseError::NotFound("plan"))?;
            let case = scoped_case!(c, actor, plan.case_id);
            must_be_open(&case)?;
            let t = now();
            if c.submit_plan(plan_id, t).await? == 0 {
                return Err(CaseError::conflict(
                    "plan_not_draft",
                    format!("plan {plan_id} is {}; only a draft or rejected plan can be submitted", plan.status),
                ));
            }
            c.audit(line(actor, "submit", "plan", plan_id, Some(case.id), &case.ente), t).await?;
            Plan::from(c.plan(plan_id).await?.ok_or(CaseError::NotFound("plan"))?)
        }))
    }

    /// A coordinator approves or rejects a submitted plan. The author may not approve
    /// their own plan.
    pub async fn decide_plan(&self, actor: &Actor, plan_id: i64, input: &DecisionInput) -> Result<Plan> {
        actor.require(Permission::PlanApprove, "approve plans")?;
        let mut chk = crate::error::Checker::default();
        let decision = chk.one_of("decision", input.decision.as_deref().unwrap_or(""), &["approve", "reject"]);
        let note = chk.optional_text("note", input.note.as_deref(), 2000);
        if decision == "reject" && note.is_none() {
            chk.fail("note", "required", &[], "required: say why the plan is rejected");
        }
        chk.finish()?;
        Ok(tx!(self, |c| {
            let plan = c.plan(plan_id).await?.ok_or(CaseError::NotFound("plan"))?;
            let case = scoped_case!(c, actor, plan.case_id);
            must_be_open(&case)?;
            if plan.created_by == actor.user_id {
                return Err(CaseError::conflict(
                    "own_plan",
                    "a plan is approved by a coordinator other than its author",
                ));
            }
            let status = if decision == "approve" { "approved" } else { "rejected" };
            let t = now();
            if c.decide_plan(plan_id, status, actor.user_id, note.as_deref(), t).await? == 0 {
                return Err(CaseError::conflict(
                    "plan_not_submitted",
                    format!("plan {plan_id} is {}; only a submitted plan can be approved or rejected", plan.status),
                ));
            }
            c.audit(line(actor, decision.as_str(), "plan", plan_id, Some(case.id), &case.ente), t).await?;
            Plan::from(c.plan(plan_id).await?.ok_or(CaseError::NotFound("plan"))?)
        }))
    }

    /// D: records an intervention under an approved plan of the case.
    pub async fn add_intervention(
        &self,
        actor: &Actor,
        case_id: i64,
        input: &InterventionInput,
    ) -> Result<Intervention> {
        actor.require(Permission::CaseWrite, "record interventions")?;
        let d = input.check()?;
        Ok(tx!(self, |c| {
            let case = scoped_case!(c, actor, case_id);
            must_be_open(&case)?;
            let plan = match c.plan(d.plan_id).await? {
                Some(p) if p.case_id == case_id => p,
                _ => {
                    return Err(CaseError::field(
                        "plan_id",
                        format!("plan {} is not a plan of case {case_id}", d.plan_id),
                    ));
                }
            };
            if plan.status != "approved" {
                return Err(CaseError::conflict(
                    "plan_not_approved",
                    format!(
                        "plan {} is {}; interventions are delivered only under an approved plan",
                        plan.id, plan.status
                    ),
                ));
            }
            if d.start_date < plan.start_date || d.start_date > plan.end_date {
                return Err(CaseError::field(
                    "start_date",
                    format!("{} is outside the plan's period {} – {}", d.start_date, plan.start_date, plan.end_date),
                ));
            }
            let t = now();
            let id = c.insert_intervention(&case.ente, case_id, &d, actor.user_id, t).await?;
            c.touch_case(case_id, t).await?;
            c.audit(line(actor, "create", "intervention", id, Some(case_id), &case.ente), t).await?;
            c.intervention(id).await?.ok_or(CaseError::NotFound("intervention"))?
        }))
    }

    /// Ends a running intervention.
    pub async fn end_intervention(&self, actor: &Actor, id: i64, input: &EndInput) -> Result<Intervention> {
        actor.require(Permission::CaseWrite, "record interventions")?;
        let mut chk = crate::error::Checker::default();
        let end = chk.date("end_date", input.end_date.as_deref().unwrap_or(""));
        chk.finish()?;
        let end = end.unwrap_or_else(today);
        Ok(tx!(self, |c| {
            let i = c.intervention(id).await?.ok_or(CaseError::NotFound("intervention"))?;
            let case = scoped_case!(c, actor, i.case_id);
            must_be_open(&case)?;
            if let Some(e) = i.end_date {
                return Err(CaseError::conflict("intervention_ended", format!("intervention {id} ended on {e}")));
            }
            if end < i.start_date {
                return Err(CaseError::field("end_date", format!("{end} is before the start {}", i.start_date)));
            }
            let t = now();
            c.end_intervention(id, end).await?;
            c.touch_case(case.id, t).await?;
            c.audit(line(actor, "end", "intervention", id, Some(case.id), &case.ente), t).await?;
            c.intervention(id).await?.ok_or(CaseError::NotFound("intervention"))?
        }))
    }

    /// Adds a social diary entry.
    pub async fn add_diary_entry(&self, actor: &Actor, case_id: i64, input: &DiaryInput) -> Result<DiaryEntry> {
        actor.require(Permission::CaseWrite, "write the diary")?;
        let d = input.check(today())?;
        Ok(tx!(self, |c| {
            let case = scoped_case!(c, actor, case_id);
            must_be_open(&case)?;
            let t = now();
            let id = c.insert_diary(&case.ente, case_id, &d, actor.user_id, t).await?;
            c.touch_case(case_id, t).await?;
            c.audit(line(actor, "create", "diary", id, Some(case_id), &case.ente), t).await?;
            c.diary(case_id).await?.into_iter().find(|e| e.id == id).ok_or(CaseError::NotFound("diary entry"))?
        }))
    }

    /// Attaches a document; its SHA-256 is stored with it.
    pub async fn add_document(
        &self,
        actor: &Actor,
        case_id: i64,
        filename: &str,
        content_type: &str,
        content: &[u8],
    ) -> Result<Document> {
        actor.require(Permission::CaseWrite, "attach documents")?;
        let mut chk = crate::error::Checker::default();
        let filename = chk.text("file", filename.rsplit(['/', '\\']).next().unwrap_or(""), 200);
        if content.is_empty() {
            chk.fail("file", "empty_file", &[], "the file is empty");
        }
        if content.len() > MAX_DOCUMENT_BYTES {
            chk.add("file", format!("larger than {} MB", MAX_DOCUMENT_BYTES >> 20));
        }
        chk.finish()?;
        let content_type = if content_type.is_empty() { "application/octet-stream" } else { content_type };
        let sha = hex::encode(Sha256::digest(content));
        Ok(tx!(self, |c| {
            let case = scoped_case!(c, actor, case_id);
            must_be_open(&case)?;
            let t = now();
            let id = c
                .insert_document(&case.ente, case_id, &filename, content_type, &sha, content, actor.user_id, t)
                .await?;
            c.touch_case(case_id, t).await?;
            c.audit(line(actor, "create", "document", id, Some(case_id), &case.ente), t).await?;
            c.documents(case_id).await?.into_iter().find(|d| d.id == id).ok_or(CaseError::NotFound("document"))?
        }))
    }

    /// A document's bytes, after checking them against the stored checksum (the read
    /// is audited).
    pub async fn document(&self, actor: &Actor, id: i64) -> Result<DocumentBytes> {
        actor.require(Permission::CaseRead, "read case files")?;
        let d = tx!(self, |c| {
            let d = match c.document_content(id).await? {
                Some(d) if actor.sees(&d.ente) => d,
                _ => return Err(CaseError::NotFound("document")),
            };
            c.audit(line(actor, "download", "document", id, Some(d.case_id), &d.ente), now()).await?;
            d
        });
        let actual = hex::encode(Sha256::digest(&d.content));
        if actual != d.sha256 {
            tracing::error!(document = id, stored = %d.sha256, actual = %actual, "document checksum mismatch");
            return Err(CaseError::Internal(format!("document {id} does not match its checksum")));
        }
        Ok(DocumentBytes { filename: d.filename, content_type: d.content_type, sha256: d.sha256, content: d.content })
    }

    /// E: closes a case. Refused while interventions run past the closing date.
    pub async fn close_case(&self, actor: &Actor, case_id: i64, input: &ClosureInput) -> Result<Case> {
        actor.require(Permission::CaseWrite, "close cases")?;
        let d = input.check(today())?;
        Ok(tx!(self, |c| {
            let case = scoped_case!(c, actor, case_id);
            must_be_open(&case)?;
            if d.closed_on < case.opened_on {
                return Err(CaseError::field("closed_on", format!("before the case was opened ({})", case.opened_on)));
            }
            let open = c.open_interventions(case_id, d.closed_on).await?;
            if open > 0 {
                return Err(CaseError::conflict(
                    "open_interventions",
                    format!("case {case_id} has {open} intervention(s) running past {}; end them first", d.closed_on),
                ));
            }
            let t = now();
            c.close_case(case_id, d.closed_on, &d.reason, &d.outcome, t).await?;
            c.audit(line(actor, "close", "case", case_id, Some(case_id), &case.ente), t).await?;
            c.case(case_id).await?.ok_or(CaseError::NotFound("case"))?
        }))
    }

    // ---- Alerts ----

    /// Records an alert (segnalazione).
    pub async fn create_alert(&self, actor: &Actor, input: &AlertInput) -> Result<Alert> {
        actor.require(Permission::AlertCreate, "record alerts")?;
        let ente = actor.ente_for(input.ente.as_deref())?;
        let d = input.check(today())?;
        Ok(tx!(self, |c| {
            if let Some(p) = d.person_id {
                scoped_person!(c, actor, p);
            }
            let t = now();
            let id = c.insert_alert(&ente, &d, actor.user_id, t).await?;
            c.audit(line(actor, "create", "alert", id, None, &ente), t).await?;
            c.alert(id).await?.ok_or(CaseError::NotFound("alert"))?
        }))
    }

    /// Alerts in the user's scope with a status (`new`, `triaged`, `dismissed`; empty
    /// for all), most urgent first.
    pub async fn alerts(&self, actor: &Actor, status: &str) -> Result<Vec<Alert>> {
        if !actor.role.can(Permission::AlertTriage) && !actor.role.can(Permission::AlertCreate) {
            return Err(CaseError::Forbidden("read alerts"));
        }
        if !["", "new", "triaged", "dismissed"].contains(&status) {
            return Err(CaseError::field("status", format!("'{status}' is not new, triaged or dismissed")));
        }
        let (e, a) = scope(actor);
        Ok(read!(self, |c| c.alerts_in_scope(e, a, status, 500).await?))
    }

    /// Triage: dismiss, attach to a case, or open a case for the person.
    pub async fn triage_alert(&self, actor: &Actor, id: i64, input: &TriageInput) -> Result<Alert> {
        actor.require(Permission::AlertTriage, "triage alerts")?;
        let d = input.check()?;
        Ok(tx!(self, |c| {
            let alert = match c.alert(id).await? {
                Some(a) if actor.sees(&a.ente) => a,
                _ => return Err(CaseError::NotFound("alert")),
            };
            if alert.status != "new" {
                return Err(CaseError::conflict("alert_triaged", format!("alert {id} is already {}", alert.status)));
            }
            let t = now();
            let (status, note, case_id, person_id) = match &d {
                TriageData::Dismiss { note } => ("dismissed", Some(note.clone()), None, None),
                TriageData::Attach { case_id, note } => {
                    let case = match c.case(*case_id).await? {
                        Some(k) if actor.sees(&k.ente) => k,
                        _ => return Err(CaseError::field("case_id", format!("case {case_id} not found"))),
                    };
                    must_be_open(&case)?;
                    ("triaged", note.clone(), Some(case.id), Some(case.person_id))
                }
                TriageData::OpenCase { person_id, note } => {
                    let p = match c.person(*person_id).await? {
                        Some(p) if actor.sees(&p.ente) && p.ente == alert.ente => p,
                        _ => return Err(CaseError::field("person_id", format!("person {person_id} not found"))),
                    };
                    let case_id = c.insert_case(&p.ente, p.id, actor.user_id, t.date_naive(), t).await?;
                    c.audit(line(actor, "create", "case", case_id, Some(case_id), &p.ente), t).await?;
                    ("triaged", note.clone(), Some(case_id), Some(p.id))
                }
            };
            c.triage_alert(id, status, note.as_deref(), case_id, person_id, actor.user_id, t).await?;
            c.audit(line(actor, "triage", "alert", id, case_id, &alert.ente), t).await?;
            c.alert(id).await?.ok_or(CaseError::NotFound("alert"))?
        }))
    }

    // ---- Work lists and audit ----

    /// The user's work lists. A coordinator's lists cover the whole scope; a social
    /// worker's cover their own cases.
    pub async fn work_lists(&self, actor: &Actor) -> Result<WorkLists> {
        let (e, a) = scope(actor);
        let until = today() + Duration::days(30);
        let mut w = WorkLists::default();
        if actor.role.can(Permission::CaseRead) {
            let worker = if actor.role == Role::Coordinator { 0 } else { actor.user_id };
            let (my, due) = read!(self, |c| (
                c.cases_in_scope(e, a, "open", actor.user_id, 200).await?,
                c.reviews_due(e, a, worker, until).await?
            ));
            w.my_cases = my;
            w.reviews_due = due;
        }
        if actor.role.can(Permission::PlanApprove) {
            w.plans_to_approve = read!(self, |c| c.plans_with_status(e, a, "submitted").await?);
        }
        if actor.role.can(Permission::AlertTriage) {
            w.alerts_to_triage = read!(self, |c| c.alerts_in_scope(e, a, "new", 200).await?);
        }
        Ok(w)
    }

    /// The audit log in the user's scope, newest first (administrators only).
    pub async fn audit_log(&self, actor: &Actor, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        actor.require(Permission::AuditRead, "read the audit log")?;
        let f = q.check()?;
        let (e, a) = scope(actor);
        Ok(read!(self, |c| c.audit_query(e, a, &f).await?))
    }
}

/// The largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 20 << 20;

/// A unique-constraint violation becomes a 409 named after the constraint.
fn unique_to_conflict(e: sqlx::Error) -> CaseError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        return CaseError::conflict(
            "duplicate_fiscal_code",
            "a person with this fiscal code is already registered here",
        );
    }
    CaseError::Database(e)
}
