-- The patient record imported from the GP system, and the audit trail.
-- Portable subset (see ARCHITECTURE.md): TEXT ids (UUIDv7), TEXT dates (YYYY-MM-DD) and
-- timestamps (RFC 3339 UTC), BIGINT integers and 0/1 flags, DOUBLE PRECISION values.

CREATE TABLE organisation (
    ods_code        TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('region', 'pcn', 'practice', 'partner')),
    parent_ods_code TEXT
);

CREATE TABLE patient (
    id                      TEXT PRIMARY KEY,
    nhs_number              TEXT UNIQUE,
    nhs_number_verification TEXT,
    name_prefix             TEXT,
    given_name              TEXT NOT NULL,
    family_name             TEXT NOT NULL,
    search_name             TEXT NOT NULL,
    birth_date              TEXT NOT NULL,
    sex                     TEXT NOT NULL,
    address_lines           TEXT,
    city                    TEXT,
    postcode                TEXT,
    death_date              TEXT,
    practice_ods_code       TEXT,
    registration_start      TEXT,
    registration_end        TEXT,
    phone                   TEXT,
    mobile                  TEXT,
    email                   TEXT,
    preferred_channel       TEXT,
    language                TEXT,
    interpreter_needed      BIGINT NOT NULL DEFAULT 0,
    communication_needs     TEXT,
    updated_at              TEXT NOT NULL
);
CREATE INDEX patient_by_search_name ON patient (search_name);
CREATE INDEX patient_by_birth_date ON patient (birth_date);
CREATE INDEX patient_by_practice ON patient (practice_ods_code);

-- Every identifier a source system knows the patient by (FHIR resource keys, local ids).
CREATE TABLE patient_identifier (
    system     TEXT NOT NULL,
    value      TEXT NOT NULL,
    patient_id TEXT NOT NULL REFERENCES patient (id),
    PRIMARY KEY (system, value)
);
CREATE INDEX patient_identifier_by_patient ON patient_identifier (patient_id);

-- One row per (patient, code, onset): repeated Conditions (one per encounter) collapse into it.
CREATE TABLE condition (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patient (id),
    source_key  TEXT NOT NULL,
    code_system TEXT NOT NULL,
    code        TEXT NOT NULL,
    term        TEXT NOT NULL,
    onset       TEXT NOT NULL,
    resolved    TEXT,
    recorded    TEXT,
    status      TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (patient_id, code_system, code, onset)
);

CREATE TABLE observation (
    id                TEXT PRIMARY KEY,
    patient_id        TEXT NOT NULL REFERENCES patient (id),
    source_key        TEXT NOT NULL UNIQUE,
    code_system       TEXT NOT NULL,
    code              TEXT NOT NULL,
    term              TEXT NOT NULL,
    observable        TEXT,
    value_kind        TEXT NOT NULL CHECK (value_kind IN ('quantity', 'coded', 'text', 'none', 'unreadable')),
    value_text        TEXT,
    value_number      DOUBLE PRECISION,
    unit              TEXT,
    value_code_system TEXT,
    value_code        TEXT,
    effective         TEXT NOT NULL,
    status            TEXT NOT NULL,
    source            TEXT NOT NULL,
    unreadable_reason TEXT,
    updated_at        TEXT NOT NULL
);
CREATE INDEX observation_by_patient ON observation (patient_id, observable, effective);

CREATE TABLE medication (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patient (id),
    source_key  TEXT NOT NULL UNIQUE,
    code_system TEXT NOT NULL,
    code        TEXT NOT NULL,
    term        TEXT NOT NULL,
    dosage      TEXT,
    status      TEXT NOT NULL,
    authored    TEXT,
    as_at       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX medication_by_patient ON medication (patient_id);

CREATE TABLE encounter (
    id                   TEXT PRIMARY KEY,
    patient_id           TEXT NOT NULL REFERENCES patient (id),
    source_key           TEXT NOT NULL UNIQUE,
    start_at             TEXT NOT NULL,
    setting              TEXT NOT NULL,
    clinician            TEXT NOT NULL,
    status               TEXT NOT NULL,
    kind_code_system     TEXT,
    kind_code            TEXT,
    kind_term            TEXT,
    planned              BIGINT,
    booked_at            TEXT,
    year_of_care_contact BIGINT NOT NULL DEFAULT 0,
    updated_at           TEXT NOT NULL
);
CREATE INDEX encounter_by_patient ON encounter (patient_id, start_at);

-- Append-only. Changes are audited in the transaction that makes them; reads of records too.
CREATE TABLE audit_event (
    id           TEXT PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    actor_role   TEXT NOT NULL,
    organisation TEXT,
    patient_id   TEXT,
    action       TEXT NOT NULL,
    entity       TEXT NOT NULL,
    detail       TEXT NOT NULL,
    request_id   TEXT
);
CREATE INDEX audit_event_by_patient ON audit_event (patient_id, at);
CREATE INDEX audit_event_by_time ON audit_event (at);

-- Records an import could not read; the red-flag ones stay on a clinician's list until seen.
CREATE TABLE import_rejection (
    id              TEXT PRIMARY KEY,
    run_id          TEXT NOT NULL,
    at              TEXT NOT NULL,
    location        TEXT NOT NULL,
    resource_type   TEXT,
    source_key      TEXT,
    reason          TEXT NOT NULL,
    red_flag_system TEXT,
    red_flag_code   TEXT,
    red_flag_term   TEXT,
    reviewed_by     TEXT,
    reviewed_at     TEXT
);

CREATE TABLE database_fact (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
