-- Mosaico case-management core: the first schema. Every operational row carries its
-- ente (ISTAT code of the comune); enti group into ambiti.

CREATE TABLE ambiti (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE enti (
    istat TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    ambito TEXT NOT NULL REFERENCES ambiti (code)
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('social_worker', 'coordinator', 'back_office', 'facility_operator',
                                       'manager', 'planner', 'statistician', 'admin')),
    ente TEXT REFERENCES enti (istat),
    ambito TEXT REFERENCES ambiti (code),
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    CHECK ((ente IS NULL) <> (ambito IS NULL))
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username, at);
CREATE INDEX login_failures_client ON login_failures (client, at);

CREATE TABLE households (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    address TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    fiscal_code TEXT NOT NULL,
    temporary_code BOOLEAN NOT NULL,
    surname TEXT NOT NULL,
    given_name TEXT NOT NULL,
    -- Upper-case ASCII "SURNAME GIVEN" and "GIVEN SURNAME", for prefix search in byte order.
    name_key TEXT NOT NULL,
    name_key_rev TEXT NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('M', 'F')),
    birth_date TEXT NOT NULL,
    birth_place TEXT NOT NULL,
    citizenship TEXT NOT NULL,
    residence_istat TEXT NOT NULL,
    address TEXT NOT NULL,
    lat REAL,
    lng REAL,
    household_id INTEGER REFERENCES households (id),
    household_role TEXT,
    merged_into INTEGER REFERENCES persons (id),
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT persons_fiscal_code_unique UNIQUE (ente, fiscal_code)
);
CREATE INDEX persons_name_key ON persons (name_key, id);
CREATE INDEX persons_name_key_rev ON persons (name_key_rev, id);
CREATE INDEX persons_fiscal_code ON persons (fiscal_code, id);
CREATE INDEX persons_birth_date ON persons (birth_date);
CREATE INDEX persons_household ON persons (household_id);

-- One row per version of a person: the values as they were after each change.
CREATE TABLE person_history (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    version INTEGER NOT NULL,
    change TEXT NOT NULL,
    changed_by INTEGER NOT NULL REFERENCES users (id),
    changed_at TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    UNIQUE (person_id, version)
);

-- The social network (rete): relatives, neighbours, volunteers, professionals.
CREATE TABLE network (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    relation TEXT NOT NULL,
    contact TEXT,
    related_person_id INTEGER REFERENCES persons (id),
    note TEXT,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE INDEX network_person ON network (person_id);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    worker_id INTEGER NOT NULL REFERENCES users (id),
    opened_on TEXT NOT NULL,
    closed_on TEXT,
    closure_reason TEXT,
    closure_outcome TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX cases_person ON cases (person_id);
CREATE INDEX cases_worker ON cases (worker_id, status);
CREATE INDEX cases_ente ON cases (ente, status);

-- A: first contact and request (segretariato sociale).
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    person_id INTEGER NOT NULL REFERENCES persons (id),
    case_id INTEGER REFERENCES cases (id),
    contact_date TEXT NOT NULL,
    channel TEXT NOT NULL,
    requester TEXT NOT NULL,
    request TEXT NOT NULL,
    area TEXT NOT NULL,
    outcome TEXT NOT NULL,
    outcome_note TEXT,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE INDEX contacts_person ON contacts (person_id);
CREATE INDEX contacts_case ON contacts (case_id);

-- B: needs assessment. Each area is graded 0 (no need) to 4 (severe).
CREATE TABLE assessments (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    case_id INTEGER NOT NULL REFERENCES cases (id),
    assessed_on TEXT NOT NULL,
    instrument TEXT NOT NULL,
    health INTEGER NOT NULL CHECK (health BETWEEN 0 AND 4),
    autonomy INTEGER NOT NULL CHECK (autonomy BETWEEN 0 AND 4),
    household INTEGER NOT NULL CHECK (household BETWEEN 0 AND 4),
    housing INTEGER NOT NULL CHECK (housing BETWEEN 0 AND 4),
    income INTEGER NOT NULL CHECK (income BETWEEN 0 AND 4),
    work INTEGER NOT NULL CHECK (work BETWEEN 0 AND 4),
    network INTEGER NOT NULL CHECK (network BETWEEN 0 AND 4),
    need_score INTEGER NOT NULL CHECK (need_score BETWEEN 0 AND 100),
    notes TEXT NOT NULL,
    assessor_id INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE INDEX assessments_case ON assessments (case_id);

-- C: individual plan (PAI). Goals, actions and équipe are JSON arrays of strings.
CREATE TABLE plans (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    case_id INTEGER NOT NULL REFERENCES cases (id),
    goals TEXT NOT NULL,
    actions TEXT NOT NULL,
    team TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    review_date TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'rejected')),
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    submitted_at TEXT,
    decided_by INTEGER REFERENCES users (id),
    decided_at TEXT,
    decision_note TEXT
);
CREATE INDEX plans_case ON plans (case_id);
CREATE INDEX plans_status ON plans (ente, status);

-- D: interventions delivered (erogazioni), money in euro cents.
CREATE TABLE interventions (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    case_id INTEGER NOT NULL REFERENCES cases (id),
    plan_id INTEGER NOT NULL REFERENCES plans (id),
    service_code TEXT NOT NULL,
    area TEXT NOT NULL,
    spending TEXT NOT NULL,
    unit TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT,
    quantity REAL NOT NULL CHECK (quantity > 0),
    unit_cost_cents INTEGER NOT NULL CHECK (unit_cost_cents >= 0),
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    quota_ente_cents INTEGER NOT NULL CHECK (quota_ente_cents >= 0),
    quota_utente_cents INTEGER NOT NULL CHECK (quota_utente_cents >= 0),
    quota_ssn_cents INTEGER NOT NULL CHECK (quota_ssn_cents >= 0),
    note TEXT,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    CHECK (quota_ente_cents + quota_utente_cents + quota_ssn_cents = amount_cents),
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX interventions_case ON interventions (case_id);

CREATE TABLE diary (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    case_id INTEGER NOT NULL REFERENCES cases (id),
    entry_date TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    author_id INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE INDEX diary_case ON diary (case_id);

CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    case_id INTEGER NOT NULL REFERENCES cases (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    uploaded_by INTEGER NOT NULL REFERENCES users (id),
    uploaded_at TEXT NOT NULL
);
CREATE INDEX documents_case ON documents (case_id);

-- Alerts (segnalazioni) from schools, hospitals, police, and their intake triage.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    source TEXT NOT NULL CHECK (source IN ('school', 'hospital', 'police', 'court', 'other')),
    reporter TEXT NOT NULL,
    received_on TEXT NOT NULL,
    subject TEXT NOT NULL,
    person_id INTEGER REFERENCES persons (id),
    description TEXT NOT NULL,
    urgency TEXT NOT NULL CHECK (urgency IN ('low', 'medium', 'high')),
    status TEXT NOT NULL CHECK (status IN ('new', 'triaged', 'dismissed')),
    triage_note TEXT,
    triaged_by INTEGER REFERENCES users (id),
    triaged_at TEXT,
    case_id INTEGER REFERENCES cases (id),
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE INDEX alerts_status ON alerts (ente, status);

-- Every read and write of a case file. Append-only: updates and deletes are refused.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    ente TEXT,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id INTEGER,
    case_id INTEGER,
    detail TEXT
);
CREATE INDEX audit_case ON audit (case_id);
CREATE INDEX audit_user ON audit (user_id, at);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit is append-only');
END;
