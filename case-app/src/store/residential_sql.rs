//! The SQL of residential care, written once and compiled for both backends'
//! connections, like [`super::sql`]. Lists in a user's scope bind the user's ente as
//! `$1` and ambito as `$2`
//! (the user's ente, or any ente of their ambito).

use chrono::{DateTime, NaiveDate, Utc};

use crate::residential::*;

/// Facilities with their residents on day `$day` (a parameter number).
macro_rules! facility_select {
    ($day:literal, $rest:literal) => {
        concat!(
            "SELECT f.id, f.ente, f.code, f.name, f.facility_type, f.address, f.places, f.daily_fee_cents, \
             f.absence_full_days, f.absence_rate_pct, f.active, \
             (SELECT COUNT(*) FROM stays s WHERE s.facility_id = f.id AND s.admitted_on <= ",
            $day,
            " AND (s.discharged_on IS NULL OR s.discharged_on > ",
            $day,
            ")) AS occupied FROM facilities f ",
            $rest
        )
    };
}

macro_rules! request_select {
    ($rest:literal) => {
        concat!(
            "SELECT r.id, r.ente, r.case_id, r.person_id, p.surname, p.given_name, r.facility_type, \
             r.preferred_facility_id, r.requested_on, r.reason, r.need_score, r.household_score, r.household_note, \
             r.isee_cents, r.status, r.listed_on, r.closed_on, r.close_note, r.created_by \
             FROM placement_requests r JOIN persons p ON p.id = r.person_id ",
            $rest
        )
    };
}

macro_rules! stay_select {
    ($rest:literal) => {
        concat!(
            "SELECT s.id, s.ente, s.request_id, s.person_id, p.surname, p.given_name, s.facility_id, \
             f.name AS facility_name, s.admitted_on, s.discharged_on, s.discharge_reason, s.discharge_note, \
             s.transferred_from, r.isee_cents FROM stays s JOIN persons p ON p.id = s.person_id \
             JOIN facilities f ON f.id = s.facility_id JOIN placement_requests r ON r.id = s.request_id ",
            $rest
        )
    };
}

const CERTIFICATE_SELECT: &str = "SELECT c.id, c.ente, c.facility_id, c.month, c.number, c.daily_fee_cents, \
    c.amount_cents, c.quota_ente_cents, c.quota_utente_cents, c.quota_ssn_cents, u.full_name AS approved_by_name, \
    c.approved_at, c.note FROM certificates c JOIN users u ON u.id = c.approved_by";

/// A stay's recorded day.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PresenceRow {
    pub stay_id: i64,
    pub day: NaiveDate,
    pub status: String,
}

/// Weights as stored.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub(crate) struct WeightsRow {
    pub need: f64,
    pub waiting: f64,
    pub household: f64,
    pub waiting_cap_days: i64,
}

/// The statements of residential care.
#[allow(clippy::too_many_arguments)]
pub(crate) trait ResidentialOps {
    async fn insert_facility(&mut self, ente: &str, f: &FacilityData, now: DateTime<Utc>) -> sqlx::Result<i64>;
    async fn facility(&mut self, id: i64, day: NaiveDate) -> sqlx::Result<Option<Facility>>;
    async fn facilities_in_scope(&mut self, ente: &str, ambito: &str, day: NaiveDate) -> sqlx::Result<Vec<Facility>>;
    async fn facilities_of_operator(&mut self, user_id: i64, day: NaiveDate) -> sqlx::Result<Vec<Facility>>;
    async fn assign_operator(&mut self, user_id: i64, facility_id: i64) -> sqlx::Result<()>;
    async fn operates(&mut self, user_id: i64, facility_id: i64) -> sqlx::Result<bool>;

    async fn weights(&mut self, ente: &str, facility_type: &str) -> sqlx::Result<Option<WeightsRow>>;
    async fn set_weights(
        &mut self,
        ente: &str,
        facility_type: &str,
        w: &Weights,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<()>;

    async fn insert_request(
        &mut self,
        ente: &str,
        case_id: i64,
        person_id: i64,
        d: &PlacementData,
        need_score: i64,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn insert_request_document(&mut self, request_id: i64, kind: &str) -> sqlx::Result<()>;
    async fn request(&mut self, id: i64) -> sqlx::Result<Option<PlacementRequest>>;
    async fn requests_in_scope(
        &mut self,
        ente: &str,
        ambito: &str,
        status: &str,
    ) -> sqlx::Result<Vec<PlacementRequest>>;
    async fn requests_of_case(&mut self, case_id: i64) -> sqlx::Result<Vec<PlacementRequest>>;
    async fn open_request_of_person(&mut self, person_id: i64, facility_type: &str) -> sqlx::Result<Option<i64>>;
    async fn request_documents(&mut self, request_id: i64) -> sqlx::Result<Vec<RequestDocument>>;
    async fn check_document(
        &mut self,
        request_id: i64,
        kind: &str,
        d: &DocumentCheck,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<u64>;
    async fn set_request_isee(&mut self, id: i64, isee_cents: i64, now: DateTime<Utc>) -> sqlx::Result<()>;
    async fn set_request_status(
        &mut self,
        id: i64,
        status: &str,
        listed_on: Option<NaiveDate>,
        closed: Option<(NaiveDate, &str)>,
        now: DateTime<Utc>,
    ) -> sqlx::Result<u64>;
    async fn waitlist_candidates(&mut self, ente: &str, facility_type: &str) -> sqlx::Result<Vec<Candidate>>;
    async fn listings_in_scope(&mut self, ente: &str, ambito: &str) -> sqlx::Result<Vec<Listing>>;
    async fn free_places(&mut self, ente: &str, facility_type: &str, day: NaiveDate) -> sqlx::Result<i64>;

    async fn occupied_from(&mut self, facility_id: i64, day: NaiveDate) -> sqlx::Result<Vec<Stay>>;
    async fn open_stay_of_person(&mut self, person_id: i64) -> sqlx::Result<Option<Stay>>;
    async fn insert_stay(
        &mut self,
        ente: &str,
        request_id: i64,
        person_id: i64,
        facility_id: i64,
        admitted_on: NaiveDate,
        transferred_from: Option<i64>,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn stay(&mut self, id: i64) -> sqlx::Result<Option<Stay>>;
    async fn end_stay(&mut self, id: i64, on: NaiveDate, reason: &str, note: Option<&str>) -> sqlx::Result<u64>;
    async fn stays_of_request(&mut self, request_id: i64) -> sqlx::Result<Vec<Stay>>;
    async fn stays_between(&mut self, facility_id: i64, from: NaiveDate, to: NaiveDate) -> sqlx::Result<Vec<Stay>>;
    async fn presences(&mut self, facility_id: i64, from: NaiveDate, to: NaiveDate) -> sqlx::Result<Vec<PresenceRow>>;
    async fn last_presence_after(&mut self, stay_id: i64, day: NaiveDate) -> sqlx::Result<Option<NaiveDate>>;
    async fn set_presence(
        &mut self,
        stay_id: i64,
        day: NaiveDate,
        status: &str,
        by: i64,
        now: DateTime<Utc>,
    ) -> sqlx::Result<()>;
    async fn clear_presence(&mut self, stay_id: i64, day: NaiveDate) -> sqlx::Result<()>;

    async fn certificate(&mut self, facility_id: i64, month: &str) -> sqlx::Result<Option<Certificate>>;
    async fn certificate_by_id(&mut self, id: i64) -> sqlx::Result<Option<Certificate>>;
    async fn certified_after(&mut self, facility_id: i64, month: &str) -> sqlx::Result<Option<String>>;
    async fn insert_certificate(
        &mut self,
        ente: &str,
        facility_id: i64,
        month: &str,
        number: &str,
        bill: &PreBill,
        by: i64,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    async fn insert_certificate_line(&mut self, certificate_id: i64, l: &BillLine) -> sqlx::Result<()>;
    async fn certificate_lines(&mut self, certificate_id: i64) -> sqlx::Result<Vec<CertificateLineRow>>;
}

/// A frozen line of a certificate.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CertificateLineRow {
    pub stay_id: i64,
    pub person_id: i64,
    pub surname: String,
    pub given_name: String,
    pub days_present: i64,
    pub days_absent_full: i64,
    pub days_absent_reduced: i64,
    pub amount_cents: i64,
    pub quota_ente_cents: i64,
    pub quota_utente_cents: i64,
    pub quota_ssn_cents: i64,
}

macro_rules! impl_residential {
    ($conn:ty) => {
        impl ResidentialOps for $conn {
            async fn insert_facility(&mut self, ente: &str, f: &FacilityData, now: DateTime<Utc>) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO facilities (ente, code, name, facility_type, address, places, daily_fee_cents, \
                     absence_full_days, absence_rate_pct, active, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, $10) RETURNING id",
                )
                .bind(ente)
                .bind(&f.code)
                .bind(&f.name)
                .bind(&f.facility_type)
                .bind(&f.address)
                .bind(f.places)
                .bind(f.daily_fee_cents)
                .bind(f.absence_full_days)
                .bind(f.absence_rate_pct)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn facility(&mut self, id: i64, day: NaiveDate) -> sqlx::Result<Option<Facility>> {
                sqlx::query_as(facility_select!("$2", "WHERE f.id = $1"))
                    .bind(id)
                    .bind(day)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn facilities_in_scope(
                &mut self,
                ente: &str,
                ambito: &str,
                day: NaiveDate,
            ) -> sqlx::Result<Vec<Facility>> {
                sqlx::query_as(facility_select!("$3", "WHERE (f.ente = $1 OR f.ente IN (SELECT istat FROM enti WHERE ambito = $2)) ORDER BY f.facility_type, f.name"))
                    .bind(ente)
                    .bind(ambito)
                    .bind(day)
                    .fetch_all(&mut *self)
                    .await
            }

            async fn facilities_of_operator(&mut self, user_id: i64, day: NaiveDate) -> sqlx::Result<Vec<Facility>> {
                sqlx::query_as(facility_select!(
                    "$2",
                    "JOIN facility_operators o ON o.facility_id = f.id WHERE o.user_id = $1 ORDER BY f.facility_type, f.name"
                ))
                .bind(user_id)
                .bind(day)
                .fetch_all(&mut *self)
                .await
            }

            async fn assign_operator(&mut self, user_id: i64, facility_id: i64) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO facility_operators (user_id, facility_id) VALUES ($1, $2) \
                     ON CONFLICT (user_id, facility_id) DO NOTHING",
                )
                .bind(user_id)
                .bind(facility_id)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn operates(&mut self, user_id: i64, facility_id: i64) -> sqlx::Result<bool> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM facility_operators WHERE user_id = $1 AND facility_id = $2",
                )
                .bind(user_id)
                .bind(facility_id)
                .fetch_one(&mut *self)
                .await?;
                Ok(n > 0)
            }

            async fn weights(&mut self, ente: &str, facility_type: &str) -> sqlx::Result<Option<WeightsRow>> {
                sqlx::query_as(
                    "SELECT need, waiting, household, waiting_cap_days FROM waitlist_weights \
                     WHERE ente = $1 AND facility_type = $2",
                )
                .bind(ente)
                .bind(facility_type)
                .fetch_optional(&mut *self)
                .await
            }

            async fn set_weights(
                &mut self,
                ente: &str,
                facility_type: &str,
                w: &Weights,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO waitlist_weights (ente, facility_type, need, waiting, household, waiting_cap_days, \
                     updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (ente, facility_type) DO UPDATE SET need = excluded.need, waiting = excluded.waiting, \
                     household = excluded.household, waiting_cap_days = excluded.waiting_cap_days, \
                     updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                )
                .bind(ente)
                .bind(facility_type)
                .bind(w.need)
                .bind(w.waiting)
                .bind(w.household)
                .bind(w.waiting_cap_days)
                .bind(by)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn insert_request(
                &mut self,
                ente: &str,
                case_id: i64,
                person_id: i64,
                d: &PlacementData,
                need_score: i64,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO placement_requests (ente, case_id, person_id, facility_type, preferred_facility_id, \
                     requested_on, reason, need_score, household_score, household_note, status, created_by, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'documents', $11, $12, $12) RETURNING id",
                )
                .bind(ente)
                .bind(case_id)
                .bind(person_id)
                .bind(&d.facility_type)
                .bind(d.preferred_facility_id)
                .bind(d.requested_on)
                .bind(&d.reason)
                .bind(need_score)
                .bind(d.household_score)
                .bind(&d.household_note)
                .bind(by)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn insert_request_document(&mut self, request_id: i64, kind: &str) -> sqlx::Result<()> {
                sqlx::query("INSERT INTO request_documents (request_id, kind, status) VALUES ($1, $2, 'missing')")
                    .bind(request_id)
                    .bind(kind)
                    .execute(&mut *self)
                    .await?;
                Ok(())
            }

            async fn request(&mut self, id: i64) -> sqlx::Result<Option<PlacementRequest>> {
                sqlx::query_as(request_select!("WHERE r.id = $1")).bind(id).fetch_optional(&mut *self).await
            }

            async fn requests_in_scope(
                &mut self,
                ente: &str,
                ambito: &str,
                status: &str,
            ) -> sqlx::Result<Vec<PlacementRequest>> {
                sqlx::query_as(request_select!(
                    "WHERE (r.ente = $1 OR r.ente IN (SELECT istat FROM enti WHERE ambito = $2)) \
                     AND ($3 = '' OR r.status = $3) ORDER BY r.requested_on, r.id LIMIT 500"
                ))
                .bind(ente)
                .bind(ambito)
                .bind(status)
                .fetch_all(&mut *self)
                .await
            }

            async fn listings_in_scope(&mut self, ente: &str, ambito: &str) -> sqlx::Result<Vec<Listing>> {
                sqlx::query_as(
                    "SELECT r.ente, r.facility_type, r.status, r.listed_on, \
                     (SELECT MIN(s.admitted_on) FROM stays s WHERE s.request_id = r.id) AS admitted_on, \
                     CASE WHEN r.status = 'withdrawn' THEN r.closed_on END AS closed_on \
                     FROM placement_requests r WHERE r.listed_on IS NOT NULL \
                     AND (r.ente = $1 OR r.ente IN (SELECT istat FROM enti WHERE ambito = $2)) \
                     ORDER BY r.ente, r.facility_type, r.listed_on, r.id",
                )
                .bind(ente)
                .bind(ambito)
                .fetch_all(&mut *self)
                .await
            }

            async fn requests_of_case(&mut self, case_id: i64) -> sqlx::Result<Vec<PlacementRequest>> {
                sqlx::query_as(request_select!("WHERE r.case_id = $1 ORDER BY r.requested_on DESC, r.id DESC"))
                    .bind(case_id)
                    .fetch_all(&mut *self)
                    .await
            }

            async fn open_request_of_person(&mut self, person_id: i64, facility_type: &str) -> sqlx::Result<Option<i64>> {
                sqlx::query_scalar(
                    "SELECT id FROM placement_requests WHERE person_id = $1 AND facility_type = $2 \
                     AND status IN ('documents', 'waiting') ORDER BY id LIMIT 1",
                )
                .bind(person_id)
                .bind(facility_type)
                .fetch_optional(&mut *self)
                .await
            }

            async fn request_documents(&mut self, request_id: i64) -> sqlx::Result<Vec<RequestDocument>> {
                sqlx::query_as(
                    "SELECT d.kind, d.status, d.document_id, d.note, d.checked_on, u.full_name AS checked_by_name, d.checked_at \
                     FROM request_documents d LEFT JOIN users u ON u.id = d.checked_by WHERE d.request_id = $1 \
                     ORDER BY CASE d.kind WHEN 'isee' THEN 1 WHEN 'medical' THEN 2 ELSE 3 END",
                )
                .bind(request_id)
                .fetch_all(&mut *self)
                .await
            }

            async fn check_document(
                &mut self,
                request_id: i64,
                kind: &str,
                d: &DocumentCheck,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<u64> {
                Ok(sqlx::query(
                    "UPDATE request_documents SET status = $3, note = $4, document_id = COALESCE($5, document_id), \
                     checked_by = $6, checked_at = $7, checked_on = $8 WHERE request_id = $1 AND kind = $2",
                )
                .bind(request_id)
                .bind(kind)
                .bind(&d.status)
                .bind(d.note.as_deref())
                .bind(d.document_id)
                .bind(by)
                .bind(now)
                .bind(d.checked_on)
                .execute(&mut *self)
                .await?
                .rows_affected())
            }

            async fn set_request_isee(&mut self, id: i64, isee_cents: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
                sqlx::query("UPDATE placement_requests SET isee_cents = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(isee_cents)
                    .bind(now)
                    .execute(&mut *self)
                    .await?;
                Ok(())
            }

            async fn set_request_status(
                &mut self,
                id: i64,
                status: &str,
                listed_on: Option<NaiveDate>,
                closed: Option<(NaiveDate, &str)>,
                now: DateTime<Utc>,
            ) -> sqlx::Result<u64> {
                Ok(sqlx::query(
                    "UPDATE placement_requests SET status = $2, listed_on = COALESCE($3, listed_on), \
                     closed_on = $4, close_note = $5, updated_at = $6 WHERE id = $1",
                )
                .bind(id)
                .bind(status)
                .bind(listed_on)
                .bind(closed.map(|c| c.0))
                .bind(closed.map(|c| c.1))
                .bind(now)
                .execute(&mut *self)
                .await?
                .rows_affected())
            }

            async fn waitlist_candidates(&mut self, ente: &str, facility_type: &str) -> sqlx::Result<Vec<Candidate>> {
                sqlx::query_as(
                    "SELECT r.id AS request_id, r.person_id, p.surname, p.given_name, r.listed_on, r.need_score, \
                     r.household_score FROM placement_requests r JOIN persons p ON p.id = r.person_id \
                     WHERE r.ente = $1 AND r.facility_type = $2 AND r.status = 'waiting'",
                )
                .bind(ente)
                .bind(facility_type)
                .fetch_all(&mut *self)
                .await
            }

            async fn free_places(&mut self, ente: &str, facility_type: &str, day: NaiveDate) -> sqlx::Result<i64> {
                let n: Option<i64> = sqlx::query_scalar(
                    "SELECT CAST(SUM(f.places - (SELECT COUNT(*) FROM stays s WHERE s.facility_id = f.id \
                     AND s.admitted_on <= $3 AND (s.discharged_on IS NULL OR s.discharged_on > $3))) AS BIGINT) \
                     FROM facilities f WHERE f.ente = $1 AND f.facility_type = $2 AND f.active",
                )
                .bind(ente)
                .bind(facility_type)
                .bind(day)
                .fetch_one(&mut *self)
                .await?;
                Ok(n.unwrap_or(0))
            }

            async fn occupied_from(&mut self, facility_id: i64, day: NaiveDate) -> sqlx::Result<Vec<Stay>> {
                sqlx::query_as(stay_select!(
                    "WHERE s.facility_id = $1 AND (s.discharged_on IS NULL OR s.discharged_on > $2) ORDER BY s.admitted_on"
                ))
                .bind(facility_id)
                .bind(day)
                .fetch_all(&mut *self)
                .await
            }

            async fn open_stay_of_person(&mut self, person_id: i64) -> sqlx::Result<Option<Stay>> {
                sqlx::query_as(stay_select!("WHERE s.person_id = $1 AND s.discharged_on IS NULL"))
                    .bind(person_id)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn insert_stay(
                &mut self,
                ente: &str,
                request_id: i64,
                person_id: i64,
                facility_id: i64,
                admitted_on: NaiveDate,
                transferred_from: Option<i64>,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO stays (ente, request_id, person_id, facility_id, admitted_on, transferred_from, \
                     created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(ente)
                .bind(request_id)
                .bind(person_id)
                .bind(facility_id)
                .bind(admitted_on)
                .bind(transferred_from)
                .bind(by)
                .bind(now)
                .fetch_one(&mut *self)
                .await
            }

            async fn stay(&mut self, id: i64) -> sqlx::Result<Option<Stay>> {
                sqlx::query_as(stay_select!("WHERE s.id = $1")).bind(id).fetch_optional(&mut *self).await
            }

            async fn end_stay(&mut self, id: i64, on: NaiveDate, reason: &str, note: Option<&str>) -> sqlx::Result<u64> {
                Ok(sqlx::query(
                    "UPDATE stays SET discharged_on = $2, discharge_reason = $3, discharge_note = $4 \
                     WHERE id = $1 AND discharged_on IS NULL",
                )
                .bind(id)
                .bind(on)
                .bind(reason)
                .bind(note)
                .execute(&mut *self)
                .await?
                .rows_affected())
            }

            async fn stays_of_request(&mut self, request_id: i64) -> sqlx::Result<Vec<Stay>> {
                sqlx::query_as(stay_select!("WHERE s.request_id = $1 ORDER BY s.admitted_on, s.id"))
                    .bind(request_id)
                    .fetch_all(&mut *self)
                    .await
            }

            async fn stays_between(&mut self, facility_id: i64, from: NaiveDate, to: NaiveDate) -> sqlx::Result<Vec<Stay>> {
                sqlx::query_as(stay_select!(
                    "WHERE s.facility_id = $1 AND s.admitted_on < $3 AND (s.discharged_on IS NULL OR s.discharged_on > $2) \
                     ORDER BY p.surname, p.given_name, s.id"
                ))
                .bind(facility_id)
                .bind(from)
                .bind(to)
                .fetch_all(&mut *self)
                .await
            }

            async fn presences(&mut self, facility_id: i64, from: NaiveDate, to: NaiveDate) -> sqlx::Result<Vec<PresenceRow>> {
                sqlx::query_as(
                    "SELECT pr.stay_id, pr.day, pr.status FROM presences pr JOIN stays s ON s.id = pr.stay_id \
                     WHERE s.facility_id = $1 AND pr.day >= $2 AND pr.day < $3 ORDER BY pr.stay_id, pr.day",
                )
                .bind(facility_id)
                .bind(from)
                .bind(to)
                .fetch_all(&mut *self)
                .await
            }

            async fn last_presence_after(&mut self, stay_id: i64, day: NaiveDate) -> sqlx::Result<Option<NaiveDate>> {
                sqlx::query_scalar("SELECT MAX(day) FROM presences WHERE stay_id = $1 AND day >= $2")
                    .bind(stay_id)
                    .bind(day)
                    .fetch_one(&mut *self)
                    .await
            }

            async fn set_presence(
                &mut self,
                stay_id: i64,
                day: NaiveDate,
                status: &str,
                by: i64,
                now: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO presences (stay_id, day, status, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (stay_id, day) DO UPDATE SET status = excluded.status, \
                     recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
                )
                .bind(stay_id)
                .bind(day)
                .bind(status)
                .bind(by)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn clear_presence(&mut self, stay_id: i64, day: NaiveDate) -> sqlx::Result<()> {
                sqlx::query("DELETE FROM presences WHERE stay_id = $1 AND day = $2")
                    .bind(stay_id)
                    .bind(day)
                    .execute(&mut *self)
                    .await?;
                Ok(())
            }

            async fn certificate(&mut self, facility_id: i64, month: &str) -> sqlx::Result<Option<Certificate>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{CERTIFICATE_SELECT} WHERE c.facility_id = $1 AND c.month = $2")))
                    .bind(facility_id)
                    .bind(month)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn certificate_by_id(&mut self, id: i64) -> sqlx::Result<Option<Certificate>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{CERTIFICATE_SELECT} WHERE c.id = $1")))
                    .bind(id)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn certified_after(&mut self, facility_id: i64, month: &str) -> sqlx::Result<Option<String>> {
                sqlx::query_scalar("SELECT MIN(month) FROM certificates WHERE facility_id = $1 AND month >= $2")
                    .bind(facility_id)
                    .bind(month)
                    .fetch_one(&mut *self)
                    .await
            }

            async fn insert_certificate(
                &mut self,
                ente: &str,
                facility_id: i64,
                month: &str,
                number: &str,
                bill: &PreBill,
                by: i64,
                note: Option<&str>,
                now: DateTime<Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar(
                    "INSERT INTO certificates (ente, facility_id, month, number, daily_fee_cents, amount_cents, \
                     quota_ente_cents, quota_utente_cents, quota_ssn_cents, approved_by, approved_at, note) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                )
                .bind(ente)
                .bind(facility_id)
                .bind(month)
                .bind(number)
                .bind(bill.facility.daily_fee_cents)
                .bind(bill.amount_cents)
                .bind(bill.quota_ente_cents)
                .bind(bill.quota_utente_cents)
                .bind(bill.quota_ssn_cents)
                .bind(by)
                .bind(now)
                .bind(note)
                .fetch_one(&mut *self)
                .await
            }

            async fn insert_certificate_line(&mut self, certificate_id: i64, l: &BillLine) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO certificate_lines (certificate_id, stay_id, person_id, days_present, days_absent_full, \
                     days_absent_reduced, amount_cents, quota_ente_cents, quota_utente_cents, quota_ssn_cents) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(certificate_id)
                .bind(l.stay_id)
                .bind(l.person_id)
                .bind(l.days_present)
                .bind(l.days_absent_full)
                .bind(l.days_absent_reduced)
                .bind(l.amount_cents)
                .bind(l.quota_ente_cents)
                .bind(l.quota_utente_cents)
                .bind(l.quota_ssn_cents)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn certificate_lines(&mut self, certificate_id: i64) -> sqlx::Result<Vec<CertificateLineRow>> {
                sqlx::query_as(
                    "SELECT l.stay_id, l.person_id, p.surname, p.given_name, l.days_present, l.days_absent_full, \
                     l.days_absent_reduced, l.amount_cents, l.quota_ente_cents, l.quota_utente_cents, l.quota_ssn_cents \
                     FROM certificate_lines l JOIN persons p ON p.id = l.person_id WHERE l.certificate_id = $1 \
                     ORDER BY p.surname, p.given_name, l.stay_id",
                )
                .bind(certificate_id)
                .fetch_all(&mut *self)
                .await
            }
        }
    };
}

impl_residential!(sqlx::SqliteConnection);
impl_residential!(sqlx::PgConnection);
