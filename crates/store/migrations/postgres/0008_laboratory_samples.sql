-- Samples the healthcare assistant sends to the laboratory from the information-gathering visit,
-- one row per checklist item (e.g. hba1c, urine_acr). Results that arrive later by import are
-- matched to the sample they answer when read (crates/domain/src/visit.rs), so a clinician sees
-- which results are still awaited before reviewing. Same text for SQLite and PostgreSQL.
CREATE TABLE laboratory_sample (
    id         TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patient (id),
    source_key TEXT NOT NULL UNIQUE,
    visit_key  TEXT NOT NULL,
    item       TEXT NOT NULL,
    sent_at    TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX laboratory_sample_by_patient ON laboratory_sample (patient_id, sent_at);
