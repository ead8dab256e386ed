-- The person's preparation online: they, or a carer with proxy access the practice set up, open it
-- with an access code sent to them and a date-of-birth check, and write their agenda for the
-- conversation. Same text for SQLite and PostgreSQL.
--
-- proxy_access: who may act for the person, for what, on what basis, verified by whom.
CREATE TABLE proxy_access (
    id           TEXT PRIMARY KEY,
    patient_id   TEXT NOT NULL REFERENCES patient (id),
    proxy_name   TEXT NOT NULL,
    relationship TEXT NOT NULL,
    birth_date   TEXT NOT NULL,
    email        TEXT,
    mobile       TEXT,
    basis        TEXT NOT NULL CHECK (basis IN ('consent', 'lasting_power_of_attorney', 'court_appointed_deputy', 'best_interests')),
    basis_note   TEXT NOT NULL,
    scope        TEXT NOT NULL,
    verified_by  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_by   TEXT,
    revoked_at   TEXT
);
CREATE INDEX proxy_access_by_patient ON proxy_access (patient_id);

-- access_code: only the code's SHA-256 digest is kept; a new code for the same person (or proxy)
-- revokes the earlier one.
CREATE TABLE access_code (
    id              TEXT PRIMARY KEY,
    patient_id      TEXT NOT NULL REFERENCES patient (id),
    proxy_id        TEXT REFERENCES proxy_access (id),
    code_sha256     TEXT NOT NULL UNIQUE,
    issued_at       TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL,
    locked_until    TEXT,
    revoked_at      TEXT,
    last_used_at    TEXT
);
CREATE INDEX access_code_by_patient ON access_code (patient_id, issued_at);

-- person_session: a signed-in person or proxy; the cookie holds a random token, this its digest.
CREATE TABLE person_session (
    token_sha256 TEXT PRIMARY KEY,
    patient_id   TEXT NOT NULL REFERENCES patient (id),
    code_id      TEXT NOT NULL REFERENCES access_code (id),
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);

-- agenda_answer: each answer as written; the newest per question is the current one.
CREATE TABLE agenda_answer (
    id         TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patient (id),
    cycle_id   TEXT NOT NULL REFERENCES care_cycle (id),
    question   TEXT NOT NULL,
    answer     TEXT NOT NULL,
    written_by TEXT NOT NULL,
    written_at TEXT NOT NULL
);
CREATE INDEX agenda_answer_by_cycle ON agenda_answer (cycle_id, question, written_at);
