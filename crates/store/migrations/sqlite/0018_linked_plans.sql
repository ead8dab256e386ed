-- Plans from other services (a physiotherapy self-care plan, a weight-management plan, a mental
-- health or end-of-life plan), linked into the person's overarching plan: received through the
-- FHIR API from a partner's system (kept as received) or recorded by the practice from a copy it
-- was sent. Versioned: an update names the version it replaces (FHIR If-Match). Same text for
-- both engines.
CREATE TABLE linked_plan (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL REFERENCES patient (id),
    organisation  TEXT,
    service       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'completed', 'revoked')),
    period_start  TEXT,
    period_end    TEXT,
    received_via  TEXT NOT NULL CHECK (received_via IN ('api', 'practice')),
    resource_json TEXT,
    version       BIGINT NOT NULL,
    recorded_by   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX linked_plan_by_patient ON linked_plan (patient_id, updated_at);
