-- INPS flows (Casellario dell'assistenza / SIUSS): what the PSA/SINA and SINBA flows
-- need beyond the case file. See case-app/src/inps/mod.rs.

-- How an ente appears in its flows: its INPS code (EnteType/@Codice and EEEE in the
-- flow id), the cadastral (Belfiore) code of its seat, the fiscal code of the operator
-- who sends, and the key of the SINBA child pseudonyms (hex; never leaves the database).
CREATE TABLE inps_enti (
    ente TEXT PRIMARY KEY REFERENCES enti (istat),
    code TEXT NOT NULL,
    belfiore TEXT NOT NULL CHECK (length(belfiore) = 4),
    operator_cf TEXT NOT NULL,
    pseudonym_key TEXT NOT NULL,
    updated_by INTEGER NOT NULL REFERENCES users (id),
    updated_at TEXT NOT NULL
);

-- Every flow produced, numbered per ente and kind (nnnnnnn in the flow id).
CREATE TABLE inps_flows (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    kind TEXT NOT NULL CHECK (kind IN ('PSA', 'SINBA')),
    seq INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 9999999),
    flow_id TEXT NOT NULL UNIQUE,
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    included INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    produced_by INTEGER NOT NULL REFERENCES users (id),
    produced_at TEXT NOT NULL,
    CONSTRAINT inps_flows_seq_unique UNIQUE (ente, kind, seq)
);

-- The SINA scheme (non-self-sufficiency) of a case, coded as the PSA XSD codes it.
-- A dimension not assessed yet is NULL: it can be recorded in steps, and a flow refuses
-- a SINA block with a blank dimension. `invalidity` lists InvCiv codes (1-8), comma-separated.
CREATE TABLE sina_assessments (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    case_id INTEGER NOT NULL REFERENCES cases (id),
    assessed_on TEXT NOT NULL,
    mobility INTEGER CHECK (mobility BETWEEN 1 AND 3),
    daily_living INTEGER CHECK (daily_living BETWEEN 1 AND 3),
    cognitive INTEGER CHECK (cognitive BETWEEN 1 AND 3),
    behaviour INTEGER CHECK (behaviour BETWEEN 1 AND 2),
    health_care INTEGER CHECK (health_care BETWEEN 1 AND 3),
    income INTEGER CHECK (income BETWEEN 1 AND 3),
    support INTEGER CHECK (support BETWEEN 1 AND 3),
    source INTEGER CHECK (source BETWEEN 1 AND 4),
    instrument INTEGER CHECK (instrument BETWEEN 1 AND 7),
    invalidity TEXT NOT NULL,
    invalidity_source INTEGER CHECK (invalidity_source BETWEEN 1 AND 2),
    assessor_id INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE INDEX sina_assessments_case ON sina_assessments (case_id);
CREATE INDEX sina_assessments_ente ON sina_assessments (ente, assessed_on);

-- The SINBA scheme (children and their families) of a case: a JSON object of the
-- SINBA XSD's attributes (by their official names) and their values, as text.
CREATE TABLE sinba_assessments (
    id INTEGER PRIMARY KEY,
    ente TEXT NOT NULL REFERENCES enti (istat),
    case_id INTEGER NOT NULL REFERENCES cases (id),
    assessed_on TEXT NOT NULL,
    scheme TEXT NOT NULL,
    assessor_id INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE INDEX sinba_assessments_case ON sinba_assessments (case_id);
CREATE INDEX sinba_assessments_ente ON sinba_assessments (ente, assessed_on);

-- The means test of a benefit (PresenzaProvaMezzi 1-4) and the ISEE behind it: DSU
-- protocol and date, ISEE value in cents and the members of its household.
CREATE TABLE benefit_means (
    intervention_id INTEGER PRIMARY KEY REFERENCES interventions (id),
    ente TEXT NOT NULL REFERENCES enti (istat),
    means_test INTEGER NOT NULL CHECK (means_test BETWEEN 1 AND 4),
    dsu_protocol TEXT,
    dsu_date TEXT,
    isee_cents INTEGER CHECK (isee_cents >= 0),
    isee_members INTEGER CHECK (isee_members BETWEEN 1 AND 9),
    recorded_by INTEGER NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL
);

-- The extraction reads an ente's interventions by start date.
CREATE INDEX interventions_ente_start ON interventions (ente, start_date);
