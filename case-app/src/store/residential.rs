//! The operations of residential care (see [`crate::residential`] for the flow). Each
//! checks the role and scope, keeps the request and stay transitions, writes the audit
//! line, and runs in one transaction.

use chrono::{Duration, NaiveDate};

use super::ops::{line, must_be_open, now, scope};
use super::residential_sql::{PresenceRow, ResidentialOps};
use super::sql::Ops;
use super::{Store, read, tx};
use crate::error::Checker;
use crate::model::{Actor, Permission};
use crate::residential::*;
use crate::{CaseError, Result, today};

/// Loads a facility the user may see, or 404. Facility operators see only theirs.
macro_rules! visible_facility {
    ($c:expr, $actor:expr, $id:expr) => {{
        let f = match $c.facility($id, today()).await? {
            Some(f) if $actor.sees(&f.ente) => f,
            _ => return Err(CaseError::NotFound("facility")),
        };
        if $actor.role == crate::model::Role::FacilityOperator && !$c.operates($actor.user_id, f.id).await? {
            return Err(CaseError::NotFound("facility"));
        }
        f
    }};
}

/// Loads a placement request in the user's scope, or 404.
macro_rules! scoped_request {
    ($c:expr, $actor:expr, $id:expr) => {
        match $c.request($id).await? {
            Some(r) if $actor.sees(&r.ente) => r,
            _ => return Err(CaseError::NotFound("placement request")),
        }
    };
}

/// Loads a stay in the user's scope, or 404.
macro_rules! scoped_stay {
    ($c:expr, $actor:expr, $id:expr) => {
        match $c.stay($id).await? {
            Some(s) if $actor.sees(&s.ente) => s,
            _ => return Err(CaseError::NotFound("stay")),
        }
    };
}

/// The request file: the request, its checklist, its ranking, its stays.
macro_rules! request_file {
    ($c:expr, $request:expr) => {{
        let request = $request;
        let documents = $c.request_documents(request.id).await?;
        let stays = $c.stays_of_request(request.id).await?;
        let ranking = if request.status == "waiting" {
            let w = weights_of(&mut *$c, &request.ente, &request.facility_type).await?;
            let list = rank(&w, today(), $c.waitlist_candidates(&request.ente, &request.facility_type).await?);
            list.into_iter().find(|e| e.request_id == request.id)
        } else {
            None
        };
        RequestFile { request, documents, ranking, stays }
    }};
}

async fn weights_of<C: ResidentialOps>(c: &mut C, ente: &str, facility_type: &str) -> Result<Weights> {
    Ok(c.weights(ente, facility_type)
        .await?
        .map(|w| Weights {
            need: w.need,
            waiting: w.waiting,
            household: w.household,
            waiting_cap_days: w.waiting_cap_days,
        })
        .unwrap_or_default())
}

/// The most residents the stays put in the facility on any day from `from` on.
fn peak_from(stays: &[Stay], from: NaiveDate) -> i64 {
    let mut events: Vec<(NaiveDate, i64)> = Vec::new();
    for s in stays {
        events.push((s.admitted_on.max(from), 1));
        if let Some(d) = s.discharged_on {
            events.push((d, -1));
        }
    }
    // Departures before arrivals on the same day: the place is free that day.
    events.sort_by_key(|&(d, delta)| (d, delta));
    let (mut now, mut peak) = (0, 0);
    for (_, delta) in events {
        now += delta;
        peak = peak.max(now);
    }
    peak
}

/// Every resident's days of a month, from what is recorded.
fn grid_rows(stays: Vec<Stay>, presences: &[PresenceRow], month: Month, today: NaiveDate) -> Vec<GridRow> {
    let days = month.days();
    let recorded: std::collections::HashMap<(i64, NaiveDate), &str> =
        presences.iter().map(|p| ((p.stay_id, p.day), p.status.as_str())).collect();
    stays
        .into_iter()
        .map(|stay| {
            let cells = days
                .iter()
                .map(|d| {
                    if !stay.covers(*d) {
                        return Day::Outside;
                    }
                    match recorded.get(&(stay.id, *d)).copied() {
                        Some("present") => Day::Present,
                        Some(_) => Day::Absent,
                        None if *d > today => Day::Future,
                        None => Day::Unrecorded,
                    }
                })
                .collect();
            GridRow { stay, days: cells }
        })
        .collect()
}

/// Days absent in a row just before `first`, counted up to `limit`.
fn absent_before(presences: &[PresenceRow], stay_id: i64, first: NaiveDate, limit: i64) -> i64 {
    let mut n = 0;
    while n < limit {
        let d = first - Duration::days(n + 1);
        match presences.iter().find(|p| p.stay_id == stay_id && p.day == d) {
            Some(p) if p.status == "absent" => n += 1,
            _ => break,
        }
    }
    n
}

impl Store {
    /// Registers a facility.
    pub async fn create_facility(&self, actor: &Actor, input: &FacilityInput) -> Result<Facility> {
        actor.require(Permission::ResidentialManage, "register facilities")?;
        let ente = actor.ente_for(input.ente.as_deref())?;
        let d = input.check()?;
        Ok(tx!(self, |c| {
            let t = now();
            let id = match c.insert_facility(&ente, &d, t).await {
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Err(CaseError::field_code(
                        "code",
                        "taken",
                        &[("value", d.code.clone())],
                        format!("the ente already has a facility with code '{}'", d.code),
                    ));
                }
                other => other?,
            };
            c.audit(line(actor, "create", "facility", id, None, &ente), t).await?;
            c.facility(id, today()).await?.ok_or(CaseError::NotFound("facility"))?
        }))
    }

    /// The facilities the user may see: all of their enti's, or an operator's own.
    pub async fn facilities(&self, actor: &Actor) -> Result<Vec<Facility>> {
        actor.require(Permission::FacilityRead, "see facilities")?;
        let (ente, ambito) = scope(actor);
        Ok(read!(self, |c| {
            if actor.role == crate::model::Role::FacilityOperator {
                c.facilities_of_operator(actor.user_id, today()).await?
            } else {
                c.facilities_in_scope(ente, ambito, today()).await?
            }
        }))
    }

    /// One facility with its current residents.
    pub async fn facility(&self, actor: &Actor, id: i64) -> Result<(Facility, Vec<Stay>)> {
        actor.require(Permission::FacilityRead, "see facilities")?;
        Ok(read!(self, |c| {
            let f = visible_facility!(c, actor, id);
            let residents = c.occupied_from(id, today()).await?;
            (f, residents)
        }))
    }

    /// Lets a facility operator record the presences of a facility.
    pub async fn assign_operator(&self, actor: &Actor, username: &str, facility_id: i64) -> Result<()> {
        actor.require(Permission::ResidentialManage, "assign facility operators")?;
        tx!(self, |c| {
            let f = visible_facility!(c, actor, facility_id);
            let user = match c.user_auth(username).await? {
                Some(u) if u.role == "facility_operator" && u.ente.as_deref().is_some_and(|e| actor.sees(e)) => u,
                _ => {
                    return Err(CaseError::field_code(
                        "username",
                        "not_an_operator",
                        &[("value", username.to_owned())],
                        format!("'{username}' is not a facility operator of your enti"),
                    ));
                }
            };
            c.assign_operator(user.id, f.id).await?;
            c.audit(line(actor, "assign_operator", "facility", f.id, None, &f.ente), now()).await?;
        });
        Ok(())
    }

    /// A social worker asks for a place for the person of an open case. Need defaults to
    /// the latest assessment's score; the checklist starts with every document missing.
    pub async fn request_placement(&self, actor: &Actor, case_id: i64, input: &PlacementInput) -> Result<RequestFile> {
        actor.require(Permission::CaseWrite, "request placements")?;
        let d = input.check(today())?;
        Ok(tx!(self, |c| {
            let case = match c.case(case_id).await? {
                Some(case) if actor.sees(&case.ente) => case,
                _ => return Err(CaseError::NotFound("case")),
            };
            must_be_open(&case)?;
            if d.requested_on < case.opened_on {
                return Err(CaseError::field_code(
                    "requested_on",
                    "before_case",
                    &[("date", d.requested_on.to_string()), ("opened", case.opened_on.to_string())],
                    format!("{} is before the case was opened ({})", d.requested_on, case.opened_on),
                ));
            }
            let need = match d.need_score {
                Some(n) => n,
                None => match c.assessments(case_id).await?.first() {
                    Some(a) => a.need_score,
                    None => {
                        return Err(CaseError::field_code(
                            "need_score",
                            "no_assessment",
                            &[],
                            "required: the case has no needs assessment to take it from",
                        ));
                    }
                },
            };
            if let Some(fid) = d.preferred_facility_id {
                match c.facility(fid, today()).await? {
                    Some(f) if f.ente == case.ente && f.facility_type == d.facility_type => {}
                    _ => {
                        return Err(CaseError::field_code(
                            "preferred_facility_id",
                            "not_of_type",
                            &[("value", fid.to_string()), ("type", d.facility_type.clone())],
                            format!("facility {fid} is not a {} facility of the ente", d.facility_type),
                        ));
                    }
                }
            }
            if let Some(other) = c.open_request_of_person(case.person_id, &d.facility_type).await? {
                return Err(CaseError::conflict(
                    "placement_pending",
                    format!("request {other} for a {} place is still pending for this person", d.facility_type),
                ));
            }
            let t = now();
            let id = c.insert_request(&case.ente, case_id, case.person_id, &d, need, actor.user_id, t).await?;
            for kind in DOCUMENT_KINDS {
                c.insert_request_document(id, kind).await?;
            }
            c.touch_case(case_id, t).await?;
            c.audit(line(actor, "create", "placement_request", id, Some(case_id), &case.ente), t).await?;
            let r = c.request(id).await?.ok_or(CaseError::NotFound("placement request"))?;
            request_file!(c, r)
        }))
    }

    /// A placement request with its checklist, ranking and stays (the read is audited).
    pub async fn placement(&self, actor: &Actor, id: i64) -> Result<RequestFile> {
        if !(actor.role.can(Permission::CaseRead) || actor.role.can(Permission::ResidentialManage)) {
            return Err(CaseError::Forbidden("read placement requests"));
        }
        Ok(tx!(self, |c| {
            let r = scoped_request!(c, actor, id);
            c.audit(line(actor, "read", "placement_request", id, Some(r.case_id), &r.ente), now()).await?;
            request_file!(c, r)
        }))
    }

    /// Placement requests in the user's scope, by status (empty: all).
    pub async fn placements(&self, actor: &Actor, status: &str) -> Result<Vec<PlacementRequest>> {
        if !(actor.role.can(Permission::CaseRead) || actor.role.can(Permission::ResidentialManage)) {
            return Err(CaseError::Forbidden("read placement requests"));
        }
        let status = status.trim();
        if !status.is_empty() {
            let mut chk = Checker::default();
            chk.one_of("status", status, &["documents", "waiting", "admitted", "withdrawn"]);
            chk.finish()?;
        }
        let (ente, ambito) = scope(actor);
        Ok(read!(self, |c| c.requests_in_scope(ente, ambito, status).await?))
    }

    /// The waiting lists of the enti in scope over `from..=to` (length at the end,
    /// median waits); for managers' dashboards and reports, without names.
    pub async fn waitlist_summary(
        &self,
        actor: &Actor,
        enti: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<WaitlistSummary>> {
        if !(actor.role.can(Permission::ReportRead) || actor.role.can(Permission::FacilityRead)) {
            return Err(CaseError::Forbidden("see waiting lists"));
        }
        let (ente, ambito) = scope(actor);
        let listings: Vec<Listing> = read!(self, |c| c.listings_in_scope(ente, ambito).await?);
        let wanted: Vec<Listing> = listings.into_iter().filter(|l| enti.contains(&l.ente)).collect();
        Ok(summarize(&wanted, from, to))
    }

    /// The placement requests of a case.
    pub async fn case_placements(&self, actor: &Actor, case_id: i64) -> Result<Vec<PlacementRequest>> {
        actor.require(Permission::CaseRead, "read case files")?;
        Ok(read!(self, |c| {
            match c.case(case_id).await? {
                Some(case) if actor.sees(&case.ente) => c.requests_of_case(case_id).await?,
                _ => return Err(CaseError::NotFound("case")),
            }
        }))
    }

    /// Back office verifies or rejects one document of a request; once all are
    /// verified the request joins the waiting list, from today.
    pub async fn check_placement_document(
        &self,
        actor: &Actor,
        id: i64,
        kind: &str,
        input: &DocumentCheckInput,
    ) -> Result<RequestFile> {
        actor.require(Permission::ResidentialManage, "verify placement documents")?;
        let mut chk = Checker::default();
        let kind = chk.one_of("kind", kind, &DOCUMENT_KINDS);
        chk.finish()?;
        let d = input.check(&kind, today())?;
        Ok(tx!(self, |c| {
            let r = scoped_request!(c, actor, id);
            if d.checked_on < r.requested_on {
                return Err(CaseError::field_code(
                    "checked_on",
                    "before_request",
                    &[("date", d.checked_on.to_string()), ("requested", r.requested_on.to_string())],
                    format!("{} is before the request ({})", d.checked_on, r.requested_on),
                ));
            }
            if r.status != "documents" {
                return Err(CaseError::conflict(
                    "documents_closed",
                    format!("request {id} is {}; its documents were already checked", r.status),
                ));
            }
            if let Some(doc) = d.document_id {
                match c.document_content(doc).await? {
                    Some(dc) if dc.case_id == r.case_id => {}
                    _ => {
                        return Err(CaseError::field(
                            "document_id",
                            format!("document {doc} is not a document of case {}", r.case_id),
                        ));
                    }
                }
            }
            let t = now();
            c.check_document(id, &kind, &d, actor.user_id, t).await?;
            if let Some(isee) = d.isee_cents {
                c.set_request_isee(id, isee, t).await?;
            }
            let docs = c.request_documents(id).await?;
            if docs.iter().all(|x| x.status == "verified") {
                // On the list from the day the last document was verified.
                let listed = docs.iter().filter_map(|x| x.checked_on).max().unwrap_or(d.checked_on);
                c.set_request_status(id, "waiting", Some(listed), None, t).await?;
            }
            let mut l = line(actor, &d.status, "placement_document", id, Some(r.case_id), &r.ente);
            l.detail = Some(kind.clone());
            c.audit(l, t).await?;
            let r = c.request(id).await?.ok_or(CaseError::NotFound("placement request"))?;
            request_file!(c, r)
        }))
    }

    /// Withdraws a request not yet admitted.
    pub async fn withdraw_placement(&self, actor: &Actor, id: i64, input: &WithdrawInput) -> Result<RequestFile> {
        if !(actor.role.can(Permission::CaseWrite) || actor.role.can(Permission::ResidentialManage)) {
            return Err(CaseError::Forbidden("withdraw placement requests"));
        }
        let mut chk = Checker::default();
        let note = chk.text("note", input.note.as_deref().unwrap_or(""), 1000);
        chk.finish()?;
        Ok(tx!(self, |c| {
            let r = scoped_request!(c, actor, id);
            if !matches!(r.status.as_str(), "documents" | "waiting") {
                return Err(CaseError::conflict("placement_closed", format!("request {id} is {}", r.status)));
            }
            let t = now();
            c.set_request_status(id, "withdrawn", None, Some((today(), &note)), t).await?;
            c.audit(line(actor, "withdraw", "placement_request", id, Some(r.case_id), &r.ente), t).await?;
            let r = c.request(id).await?.ok_or(CaseError::NotFound("placement request"))?;
            request_file!(c, r)
        }))
    }

    /// The waiting list of an ente (default: the user's) for a facility type.
    pub async fn waitlist(&self, actor: &Actor, ente: Option<&str>, facility_type: &str) -> Result<Waitlist> {
        actor.require(Permission::FacilityRead, "see waiting lists")?;
        let ente = actor.ente_for(ente)?;
        let mut chk = Checker::default();
        let types = facility_type_codes();
        let facility_type = chk.one_of("facility_type", facility_type, &types);
        chk.finish()?;
        Ok(read!(self, |c| {
            let weights = weights_of(&mut *c, &ente, &facility_type).await?;
            let as_of = today();
            let entries = rank(&weights, as_of, c.waitlist_candidates(&ente, &facility_type).await?);
            let free_places = c.free_places(&ente, &facility_type, as_of).await?;
            Waitlist { ente, facility_type, weights, as_of, entries, free_places }
        }))
    }

    /// Sets the weights of a waiting list's score.
    pub async fn set_waitlist_weights(
        &self,
        actor: &Actor,
        ente: Option<&str>,
        facility_type: &str,
        input: &WeightsInput,
    ) -> Result<Waitlist> {
        actor.require(Permission::ResidentialManage, "set waiting-list weights")?;
        let ente = actor.ente_for(ente)?;
        let mut chk = Checker::default();
        let types = facility_type_codes();
        let facility_type = chk.one_of("facility_type", facility_type, &types);
        chk.finish()?;
        let w = input.check()?;
        tx!(self, |c| {
            let t = now();
            c.set_weights(&ente, &facility_type, &w, actor.user_id, t).await?;
            let mut l = line(actor, "set_weights", "waitlist", 0, None, &ente);
            l.entity_id = None;
            l.detail = Some(format!(
                "{facility_type}: need {} waiting {} household {} cap {} days",
                w.need, w.waiting, w.household, w.waiting_cap_days
            ));
            c.audit(l, t).await?;
        });
        self.waitlist(actor, Some(&ente), &facility_type).await
    }

    /// Admits a waiting request into a facility of its type with a free place.
    pub async fn admit(&self, actor: &Actor, request_id: i64, input: &AdmitInput) -> Result<RequestFile> {
        actor.require(Permission::ResidentialManage, "admit residents")?;
        let mut chk = Checker::default();
        let fid = facility_id(&mut chk, &input.facility_id);
        let on = day_or_today(&mut chk, "admitted_on", &input.admitted_on, today());
        chk.finish()?;
        Ok(tx!(self, |c| {
            let r = scoped_request!(c, actor, request_id);
            if r.status != "waiting" {
                return Err(CaseError::conflict(
                    "not_waiting",
                    format!("request {request_id} is {}; only a request on the waiting list can be admitted", r.status),
                ));
            }
            let f = visible_facility!(c, actor, fid);
            if f.ente != r.ente || f.facility_type != r.facility_type || !f.active {
                return Err(CaseError::field_code(
                    "facility_id",
                    "not_of_type",
                    &[("value", fid.to_string()), ("type", r.facility_type.clone())],
                    format!("facility {} is not an active {} facility of the request's ente", f.name, r.facility_type),
                ));
            }
            if let Some(listed) = r.listed_on.filter(|l| on < *l) {
                return Err(CaseError::field_code(
                    "admitted_on",
                    "before_listing",
                    &[("date", on.to_string()), ("listed", listed.to_string())],
                    format!("{on} is before the request joined the waiting list ({listed})"),
                ));
            }
            if let Some(s) = c.open_stay_of_person(r.person_id).await? {
                return Err(CaseError::conflict(
                    "already_resident",
                    format!("{} {} already lives in {} (stay {})", r.given_name, r.surname, s.facility_name, s.id),
                ));
            }
            if peak_from(&c.occupied_from(fid, on).await?, on) >= f.places {
                return Err(CaseError::conflict(
                    "facility_full",
                    format!("{} has no free place from {on} ({} places)", f.name, f.places),
                ));
            }
            let w = weights_of(&mut *c, &r.ente, &r.facility_type).await?;
            let list = rank(&w, today(), c.waitlist_candidates(&r.ente, &r.facility_type).await?);
            let position = list.iter().find(|e| e.request_id == r.id).map_or(0, |e| e.position);
            let t = now();
            let stay = c.insert_stay(&r.ente, r.id, r.person_id, fid, on, None, actor.user_id, t).await?;
            c.set_request_status(r.id, "admitted", None, None, t).await?;
            let mut l = line(actor, "admit", "stay", stay, Some(r.case_id), &r.ente);
            l.detail = Some(format!("request {} position {position} of {} into {}", r.id, list.len(), f.name));
            c.audit(l, t).await?;
            let r = c.request(r.id).await?.ok_or(CaseError::NotFound("placement request"))?;
            request_file!(c, r)
        }))
    }

    /// Moves a resident to another facility from a day: the stay ends that day and a new
    /// one begins, for the same request.
    pub async fn transfer(&self, actor: &Actor, stay_id: i64, input: &MoveInput) -> Result<Stay> {
        actor.require(Permission::ResidentialManage, "transfer residents")?;
        let mut chk = Checker::default();
        let fid = facility_id(&mut chk, &input.facility_id);
        let on = day_or_today(&mut chk, "on", &input.on, today());
        let note = chk.optional_text("note", input.note.as_deref(), 1000);
        chk.finish()?;
        Ok(tx!(self, |c| {
            let s = scoped_stay!(c, actor, stay_id);
            let r = c.request(s.request_id).await?.ok_or(CaseError::NotFound("placement request"))?;
            if fid == s.facility_id {
                return Err(CaseError::field("facility_id", "the resident already lives there"));
            }
            let f = visible_facility!(c, actor, fid);
            if f.ente != s.ente || !f.active {
                return Err(CaseError::field_code(
                    "facility_id",
                    "not_of_ente",
                    &[("value", fid.to_string())],
                    format!("facility {} is not an active facility of the ente", f.name),
                ));
            }
            end_checks(&mut *c, &s, on).await?;
            if peak_from(&c.occupied_from(fid, on).await?, on) >= f.places {
                return Err(CaseError::conflict(
                    "facility_full",
                    format!("{} has no free place from {on} ({} places)", f.name, f.places),
                ));
            }
            let t = now();
            c.end_stay(s.id, on, "transfer", note.as_deref()).await?;
            let new = c.insert_stay(&s.ente, s.request_id, s.person_id, fid, on, Some(s.id), actor.user_id, t).await?;
            let mut l = line(actor, "transfer", "stay", new, Some(r.case_id), &s.ente);
            l.detail = Some(format!("from stay {} ({}) to {}", s.id, s.facility_name, f.name));
            c.audit(l, t).await?;
            c.stay(new).await?.ok_or(CaseError::NotFound("stay"))?
        }))
    }

    /// Discharges a resident: the stay ends on the day they leave.
    pub async fn discharge(&self, actor: &Actor, stay_id: i64, input: &MoveInput) -> Result<Stay> {
        actor.require(Permission::ResidentialManage, "discharge residents")?;
        let mut chk = Checker::default();
        let on = day_or_today(&mut chk, "on", &input.on, today());
        let reasons: Vec<&str> = DISCHARGE_REASONS.iter().copied().filter(|r| *r != "transfer").collect();
        let reason = chk.one_of("reason", input.reason.as_deref().unwrap_or(""), &reasons);
        let note = chk.optional_text("note", input.note.as_deref(), 1000);
        chk.finish()?;
        Ok(tx!(self, |c| {
            let s = scoped_stay!(c, actor, stay_id);
            let r = c.request(s.request_id).await?.ok_or(CaseError::NotFound("placement request"))?;
            end_checks(&mut *c, &s, on).await?;
            let t = now();
            c.end_stay(s.id, on, &reason, note.as_deref()).await?;
            c.audit(line(actor, "discharge", "stay", s.id, Some(r.case_id), &s.ente), t).await?;
            c.stay(s.id).await?.ok_or(CaseError::NotFound("stay"))?
        }))
    }

    /// A facility's presence grid for a month.
    pub async fn presence_grid(&self, actor: &Actor, facility_id: i64, month: &str) -> Result<PresenceGrid> {
        actor.require(Permission::FacilityRead, "see presences")?;
        let month = Month::parse("month", month)?;
        Ok(read!(self, |c| {
            let facility = visible_facility!(c, actor, facility_id);
            grid(&mut *c, facility, month).await?
        }))
    }

    /// Records presences on a facility's monthly grid. Every entry is checked first
    /// (a day of the stay, not in the future, the month not certified); one bad entry
    /// and nothing is written.
    pub async fn record_presences(
        &self,
        actor: &Actor,
        facility_id: i64,
        month: &str,
        input: &PresenceInput,
    ) -> Result<PresenceGrid> {
        actor.require(Permission::PresenceWrite, "record presences")?;
        let month = Month::parse("month", month)?;
        let today = today();
        Ok(tx!(self, |c| {
            let facility = visible_facility!(c, actor, facility_id);
            if let Some(cert) = c.certificate(facility_id, &month.to_string()).await? {
                return Err(CaseError::conflict(
                    "month_certified",
                    format!("{month} of {} is certified ({}); its presences are closed", facility.name, cert.number),
                ));
            }
            let stays = c.stays_between(facility_id, month.first(), month.next_first()).await?;
            let mut chk = Checker::default();
            let mut ok = Vec::with_capacity(input.entries.len());
            for (i, e) in input.entries.iter().enumerate() {
                let field = format!("entries[{i}]");
                let Some(day) = chk.date(&format!("{field}.day"), &e.day) else { continue };
                let status = e.status.trim();
                if !matches!(status, "present" | "absent" | "") {
                    chk.fail(
                        format!("{field}.status"),
                        "not_one_of",
                        &[("value", status.to_owned())],
                        format!("'{status}' is not one of: present, absent, or empty to clear"),
                    );
                    continue;
                }
                let Some(stay) = stays.iter().find(|s| s.id == e.stay_id) else {
                    chk.fail(
                        format!("{field}.stay_id"),
                        "not_a_resident",
                        &[("value", e.stay_id.to_string())],
                        format!("stay {} is not a stay of this facility in {month}", e.stay_id),
                    );
                    continue;
                };
                if Month::of(day) != month || !stay.covers(day) {
                    chk.fail(
                        format!("{field}.day"),
                        "outside_stay",
                        &[("date", day.to_string()), ("name", format!("{} {}", stay.given_name, stay.surname))],
                        format!("{day} is not a day of {} {}'s stay in {month}", stay.given_name, stay.surname),
                    );
                    continue;
                }
                if day > today {
                    chk.fail(
                        format!("{field}.day"),
                        "in_future",
                        &[("value", day.to_string())],
                        format!("{day} is in the future"),
                    );
                    continue;
                }
                ok.push((stay.id, day, status));
            }
            chk.finish()?;
            let t = now();
            for (stay_id, day, status) in &ok {
                if status.is_empty() {
                    c.clear_presence(*stay_id, *day).await?;
                } else {
                    c.set_presence(*stay_id, *day, status, actor.user_id, t).await?;
                }
            }
            let mut l = line(actor, "record_presences", "facility", facility_id, None, &facility.ente);
            l.detail = Some(format!("{month}: {} days", ok.len()));
            c.audit(l, t).await?;
            grid(&mut *c, facility, month).await?
        }))
    }

    /// A facility's pre-bill for a month: computed from the presences, or as frozen by
    /// its certificate.
    pub async fn prebill(&self, actor: &Actor, facility_id: i64, month: &str) -> Result<PreBill> {
        actor.require(Permission::FacilityRead, "see pre-bills")?;
        let month = Month::parse("month", month)?;
        let rules = self.copay.clone();
        Ok(read!(self, |c| {
            let facility = visible_facility!(c, actor, facility_id);
            bill(&mut *c, &rules, facility, month).await?
        }))
    }

    /// Approves a month's pre-bill, once the month is over and every day recorded: the
    /// payment certificate is issued and the month's presences are closed.
    pub async fn approve_prebill(
        &self,
        actor: &Actor,
        facility_id: i64,
        month: &str,
        input: &ApproveInput,
    ) -> Result<PreBill> {
        actor.require(Permission::ResidentialManage, "approve pre-bills")?;
        let month = Month::parse("month", month)?;
        let mut chk = Checker::default();
        let note = chk.optional_text("note", input.note.as_deref(), 1000);
        chk.finish()?;
        let rules = self.copay.clone();
        Ok(tx!(self, |c| {
            let facility = visible_facility!(c, actor, facility_id);
            let b = bill(&mut *c, &rules, facility, month).await?;
            if let Some(cert) = &b.certificate {
                return Err(CaseError::conflict(
                    "already_certified",
                    format!("{month} is already certified ({})", cert.number),
                ));
            }
            if !b.blockers.is_empty() {
                let why: Vec<&str> = b.blockers.iter().map(|x| x.message.as_str()).collect();
                return Err(CaseError::conflict("prebill_incomplete", why.join("; ")));
            }
            let number = format!("CP-{}-{}-{:05}", b.facility.ente, month.to_string().replace('-', ""), facility_id);
            let t = now();
            let id = c
                .insert_certificate(
                    &b.facility.ente,
                    facility_id,
                    &month.to_string(),
                    &number,
                    &b,
                    actor.user_id,
                    note.as_deref(),
                    t,
                )
                .await?;
            for l in &b.lines {
                c.insert_certificate_line(id, l).await?;
            }
            let mut l = line(actor, "approve", "certificate", id, None, &b.facility.ente);
            l.detail = Some(format!("{number}: {} cents", b.amount_cents));
            c.audit(l, t).await?;
            bill(&mut *c, &rules, b.facility, month).await?
        }))
    }

    /// A payment certificate, with its frozen lines.
    pub async fn certificate(&self, actor: &Actor, id: i64) -> Result<PreBill> {
        actor.require(Permission::FacilityRead, "see certificates")?;
        let (facility_id, month) = read!(self, |c| {
            match c.certificate_by_id(id).await? {
                Some(cert) if actor.sees(&cert.ente) => (cert.facility_id, cert.month),
                _ => return Err(CaseError::NotFound("certificate")),
            }
        });
        self.prebill(actor, facility_id, &month).await
    }
}

/// What stands in the way of ending a stay on `on`.
async fn end_checks<C: ResidentialOps>(c: &mut C, s: &Stay, on: NaiveDate) -> Result<()> {
    if s.discharged_on.is_some() {
        return Err(CaseError::conflict("stay_ended", format!("stay {} already ended", s.id)));
    }
    if on < s.admitted_on {
        return Err(CaseError::field_code(
            "on",
            "before_admission",
            &[("date", on.to_string()), ("admitted", s.admitted_on.to_string())],
            format!("{on} is before the admission ({})", s.admitted_on),
        ));
    }
    if let Some(last) = c.last_presence_after(s.id, on).await? {
        return Err(CaseError::conflict(
            "presences_after",
            format!("presences are recorded up to {last}; clear them before ending the stay on {on}"),
        ));
    }
    if let Some(m) = c.certified_after(s.facility_id, &Month::of(on).to_string()).await? {
        return Err(CaseError::conflict("month_certified", format!("{m} is already certified for this facility")));
    }
    Ok(())
}

async fn grid<C: ResidentialOps>(c: &mut C, facility: Facility, month: Month) -> Result<PresenceGrid> {
    let stays = c.stays_between(facility.id, month.first(), month.next_first()).await?;
    let presences = c.presences(facility.id, month.first(), month.next_first()).await?;
    let certificate = c.certificate(facility.id, &month.to_string()).await?.map(|c| c.number);
    Ok(PresenceGrid {
        rows: grid_rows(stays, &presences, month, today()),
        days: month.days(),
        month: month.to_string(),
        facility,
        certificate,
    })
}

async fn bill<C: ResidentialOps>(
    c: &mut C,
    rules: &mosaico_domain::copay::Rules,
    facility: Facility,
    month: Month,
) -> Result<PreBill> {
    let copay_rule = rules.get(&facility.facility_type).map(|r| r.name.clone()).unwrap_or_default();
    let certificate = c.certificate(facility.id, &month.to_string()).await?;
    if let Some(cert) = certificate {
        let lines = c
            .certificate_lines(cert.id)
            .await?
            .into_iter()
            .map(|l| BillLine {
                stay_id: l.stay_id,
                person_id: l.person_id,
                surname: l.surname,
                given_name: l.given_name,
                days_present: l.days_present,
                days_absent_full: l.days_absent_full,
                days_absent_reduced: l.days_absent_reduced,
                days_unrecorded: 0,
                amount_cents: l.amount_cents,
                quota_ente_cents: l.quota_ente_cents,
                quota_utente_cents: l.quota_utente_cents,
                quota_ssn_cents: l.quota_ssn_cents,
                isee_cents: None,
            })
            .collect();
        return Ok(PreBill {
            month: month.to_string(),
            lines,
            amount_cents: cert.amount_cents,
            quota_ente_cents: cert.quota_ente_cents,
            quota_utente_cents: cert.quota_utente_cents,
            quota_ssn_cents: cert.quota_ssn_cents,
            copay_rule,
            blockers: Vec::new(),
            certificate: Some(cert),
            facility,
        });
    }
    let lookback = Duration::days(facility.absence_full_days.max(0));
    let stays = c.stays_between(facility.id, month.first(), month.next_first()).await?;
    let presences = c.presences(facility.id, month.first() - lookback, month.next_first()).await?;
    let mut blockers = Vec::new();
    let today = today();
    if month.next_first() > today {
        blockers.push(Blocker::new(
            "month_not_over",
            &[("month", month.to_string())],
            format!("{month} is not over yet"),
        ));
    }
    let mut lines = Vec::with_capacity(stays.len());
    for row in grid_rows(stays, &presences, month, today) {
        let earlier = absent_before(&presences, row.stay.id, month.first(), facility.absence_full_days);
        let counts = count_days(&row.days, earlier, facility.absence_full_days);
        if counts.unrecorded > 0 && month.next_first() <= today {
            let name = format!("{} {}", row.stay.given_name, row.stay.surname);
            blockers.push(Blocker::new(
                "days_unrecorded",
                &[("name", name.clone()), ("days", counts.unrecorded.to_string())],
                format!("{name}: {} days not recorded", counts.unrecorded),
            ));
        }
        let amount = amount_cents(&counts, facility.daily_fee_cents, facility.absence_rate_pct);
        let isee_cents = row.stay.isee_cents;
        let (s, _) = split(rules, &facility.facility_type, isee_cents, amount);
        lines.push(BillLine {
            stay_id: row.stay.id,
            person_id: row.stay.person_id,
            surname: row.stay.surname,
            given_name: row.stay.given_name,
            days_present: counts.present,
            days_absent_full: counts.absent_full,
            days_absent_reduced: counts.absent_reduced,
            days_unrecorded: counts.unrecorded,
            amount_cents: amount,
            quota_ente_cents: s.ente_cents,
            quota_utente_cents: s.utente_cents,
            quota_ssn_cents: s.ssn_cents,
            isee_cents,
        });
    }
    Ok(PreBill {
        month: month.to_string(),
        amount_cents: lines.iter().map(|l| l.amount_cents).sum(),
        quota_ente_cents: lines.iter().map(|l| l.quota_ente_cents).sum(),
        quota_utente_cents: lines.iter().map(|l| l.quota_utente_cents).sum(),
        quota_ssn_cents: lines.iter().map(|l| l.quota_ssn_cents).sum(),
        lines,
        copay_rule,
        blockers,
        certificate: None,
        facility,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn stay(id: i64, from: &str, to: Option<&str>) -> Stay {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        Stay {
            id,
            ente: String::new(),
            request_id: id,
            person_id: id,
            surname: String::new(),
            given_name: String::new(),
            facility_id: 1,
            facility_name: String::new(),
            admitted_on: d(from),
            discharged_on: to.map(d),
            discharge_reason: None,
            discharge_note: None,
            transferred_from: None,
            isee_cents: None,
        }
    }

    #[test]
    fn the_peak_counts_overlaps_and_frees_a_place_on_the_day_of_leaving() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let stays =
            [stay(1, "2026-01-01", Some("2026-03-01")), stay(2, "2026-02-01", None), stay(3, "2026-03-01", None)];
        assert_eq!(peak_from(&stays, d("2026-01-15")), 2);
        // From March: 1 left the day 3 arrived.
        assert_eq!(peak_from(&stays, d("2026-03-01")), 2);
        assert_eq!(peak_from(&stays[..1], d("2026-03-01")), 0);
    }
}
