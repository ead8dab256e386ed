-- The person's feedback (issue 6): Concord's short survey after the conversation and at review,
-- one response per person, occasion and cycle year. Same text for both engines.
CREATE TABLE survey_response (
    id           TEXT PRIMARY KEY,
    patient_id   TEXT NOT NULL REFERENCES patient (id),
    occasion     TEXT NOT NULL CHECK (occasion IN ('after_conversation', 'at_review')),
    cycle_year   BIGINT NOT NULL,
    support      TEXT NOT NULL,
    confidence   TEXT NOT NULL,
    goals        TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    UNIQUE (patient_id, occasion, cycle_year)
);
