-- Online applications of citizens (income support, disability parking permit): the
-- applicants' accounts and sessions, the applications with their documents, the
-- automatic checks, and the notifications sent. Every row carries its ente.

-- A citizen's account. Identified by fiscal code (as SPID/CIE give it); `ente` is the
-- comune whose services the applicant applies for.
CREATE TABLE applicants (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    fiscal_code TEXT NOT NULL,
    full_name TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    -- Touched first by every submission, so that one applicant's submissions queue.
    last_submitted_at TEXT,
    CONSTRAINT applicants_fiscal_code_unique UNIQUE (fiscal_code)
);

CREATE TABLE applicant_sessions (
    token_hash TEXT PRIMARY KEY,
    applicant_id INTEGER NOT NULL REFERENCES applicants (id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX applicant_sessions_applicant ON applicant_sessions (applicant_id);

-- submitted -> auto_approved | auto_rejected | in_review -> approved | rejected.
-- decided_by NULL on a decided application: the decision was automatic.
CREATE TABLE applications (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    applicant_id INTEGER NOT NULL REFERENCES applicants (id),
    fiscal_code TEXT NOT NULL,
    service TEXT NOT NULL CHECK (service IN ('income_support', 'parking_permit')),
    status TEXT NOT NULL CHECK (status IN ('submitted', 'auto_approved', 'auto_rejected', 'in_review',
                                           'approved', 'rejected')),
    email TEXT NOT NULL,
    phone TEXT,
    isee_cents INTEGER CHECK (isee_cents >= 0),
    household_members INTEGER CHECK (household_members > 0),
    certificate_issued_on TEXT,
    submitted_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by INTEGER REFERENCES users (id),
    decision_ms INTEGER CHECK (decision_ms >= 0),
    reasons TEXT NOT NULL DEFAULT '[]',
    decision_note TEXT,
    CHECK ((decided_at IS NULL) = (status IN ('submitted', 'in_review'))),
    CHECK ((decided_at IS NULL) = (decision_ms IS NULL)),
    CHECK (decided_by IS NULL OR status IN ('approved', 'rejected'))
);
CREATE INDEX applications_applicant ON applications (applicant_id, id);
CREATE INDEX applications_queue ON applications (ente, status, submitted_at);
CREATE INDEX applications_same ON applications (ente, service, fiscal_code, submitted_at);

CREATE TABLE application_documents (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    application_id INTEGER NOT NULL REFERENCES applications (id),
    kind TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX application_documents_application ON application_documents (application_id);

-- One row per automatic check: `code` and `params` (JSON) word its detail from the
-- message catalogue (`chk_<code>`).
CREATE TABLE application_checks (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    application_id INTEGER NOT NULL REFERENCES applications (id),
    name TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('pass', 'fail', 'review')),
    code TEXT NOT NULL,
    params TEXT NOT NULL,
    checked_at TEXT NOT NULL
);
CREATE INDEX application_checks_application ON application_checks (application_id);

-- Every message sent to the applicant, one per change of status.
CREATE TABLE application_notifications (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    application_id INTEGER NOT NULL REFERENCES applications (id),
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
CREATE INDEX application_notifications_application ON application_notifications (application_id);
