-- Residential care (residenzialità): facilities and their operators, placement requests
-- with the document checklist back office verifies, waiting-list weights, stays
-- (admission, transfer, discharge), daily presences, and the monthly pre-bills that
-- become payment certificates once approved. Money in euro cents; every row carries
-- its ente.

CREATE TABLE facilities (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    facility_type TEXT NOT NULL,
    address TEXT NOT NULL,
    places INTEGER NOT NULL CHECK (places > 0),
    daily_fee_cents INTEGER NOT NULL CHECK (daily_fee_cents >= 0),
    -- Absence rule: the first `absence_full_days` days of each absence are paid in full,
    -- the following ones at `absence_rate_pct` percent (the place stays reserved).
    absence_full_days INTEGER NOT NULL CHECK (absence_full_days >= 0),
    absence_rate_pct INTEGER NOT NULL CHECK (absence_rate_pct BETWEEN 0 AND 100),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    UNIQUE (ente, code)
);
CREATE INDEX facilities_type ON facilities (ente, facility_type);

-- Which facilities an operator (operatore di struttura) records presences for.
CREATE TABLE facility_operators (
    user_id INTEGER NOT NULL REFERENCES users (id),
    facility_id INTEGER NOT NULL REFERENCES facilities (id),
    PRIMARY KEY (user_id, facility_id)
);

-- The weights of a waiting list's score, per ente and facility type (defaults in code).
CREATE TABLE waitlist_weights (
    ente TEXT NOT NULL REFERENCES enti (istat),
    facility_type TEXT NOT NULL,
    need REAL NOT NULL CHECK (need >= 0),
    waiting REAL NOT NULL CHECK (waiting >= 0),
    household REAL NOT NULL CHECK (household >= 0),
    waiting_cap_days INTEGER NOT NULL CHECK (waiting_cap_days > 0),
    updated_by INTEGER NOT NULL REFERENCES users (id),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (ente, facility_type),
    CHECK (need + waiting + household > 0)
);

-- A social worker's request for a place; on the waiting list once its documents are verified.
CREATE TABLE placement_requests (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    case_id INTEGER NOT NULL REFERENCES cases (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    facility_type TEXT NOT NULL,
    preferred_facility_id INTEGER REFERENCES facilities (id),
    requested_on TEXT NOT NULL,
    reason TEXT NOT NULL,
    need_score INTEGER NOT NULL CHECK (need_score BETWEEN 0 AND 100),
    household_score INTEGER NOT NULL CHECK (household_score BETWEEN 0 AND 4),
    household_note TEXT NOT NULL,
    isee_cents INTEGER CHECK (isee_cents >= 0),
    status TEXT NOT NULL CHECK (status IN ('documents', 'waiting', 'admitted', 'withdrawn')),
    listed_on TEXT,
    closed_on TEXT,
    close_note TEXT,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX placement_requests_list ON placement_requests (ente, facility_type, status);
CREATE INDEX placement_requests_case ON placement_requests (case_id);

-- The checklist of a request: ISEE, medical assessment, consent.
CREATE TABLE request_documents (
    request_id INTEGER NOT NULL REFERENCES placement_requests (id),
    kind TEXT NOT NULL CHECK (kind IN ('isee', 'medical', 'consent')),
    status TEXT NOT NULL CHECK (status IN ('missing', 'verified', 'rejected')),
    document_id INTEGER REFERENCES documents (id),
    note TEXT,
    checked_on TEXT,
    checked_by INTEGER REFERENCES users (id),
    checked_at TEXT,
    PRIMARY KEY (request_id, kind)
);

-- A resident's stay: from admission up to, not including, the day of discharge.
CREATE TABLE stays (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    request_id INTEGER NOT NULL REFERENCES placement_requests (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    facility_id INTEGER NOT NULL REFERENCES facilities (id),
    admitted_on TEXT NOT NULL,
    discharged_on TEXT,
    discharge_reason TEXT CHECK (discharge_reason IN ('transfer', 'home', 'other_service', 'hospital', 'deceased', 'other')),
    discharge_note TEXT,
    transferred_from INTEGER REFERENCES stays (id),
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    CHECK (discharged_on IS NULL OR discharged_on >= admitted_on),
    CHECK ((discharged_on IS NULL) = (discharge_reason IS NULL))
);
CREATE INDEX stays_facility ON stays (facility_id, admitted_on);
CREATE INDEX stays_person ON stays (person_id);

-- One row per resident and day recorded: present or absent.
CREATE TABLE presences (
    stay_id INTEGER NOT NULL REFERENCES stays (id),
    day TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('present', 'absent')),
    recorded_by INTEGER NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (stay_id, day)
);

-- A month's pre-bill of a facility, frozen when back office approves it; the approval
-- issues the payment certificate.
CREATE TABLE certificates (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    facility_id INTEGER NOT NULL REFERENCES facilities (id),
    month TEXT NOT NULL,
    number TEXT NOT NULL UNIQUE,
    daily_fee_cents INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    quota_ente_cents INTEGER NOT NULL,
    quota_utente_cents INTEGER NOT NULL,
    quota_ssn_cents INTEGER NOT NULL,
    approved_by INTEGER NOT NULL REFERENCES users (id),
    approved_at TEXT NOT NULL,
    note TEXT,
    UNIQUE (facility_id, month),
    CHECK (quota_ente_cents + quota_utente_cents + quota_ssn_cents = amount_cents)
);

CREATE TABLE certificate_lines (
    certificate_id INTEGER NOT NULL REFERENCES certificates (id),
    stay_id INTEGER NOT NULL REFERENCES stays (id),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    days_present INTEGER NOT NULL,
    days_absent_full INTEGER NOT NULL,
    days_absent_reduced INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    quota_ente_cents INTEGER NOT NULL,
    quota_utente_cents INTEGER NOT NULL,
    quota_ssn_cents INTEGER NOT NULL,
    PRIMARY KEY (certificate_id, stay_id),
    CHECK (quota_ente_cents + quota_utente_cents + quota_ssn_cents = amount_cents)
);
