-- The person's preparation (Year of Care step 4). Same text for SQLite and PostgreSQL.
--
-- withheld_result: a clinician keeps a result out of the person's letter and online view where
-- showing it could cause serious harm; the reason is recorded, and releasing it later keeps the row.
CREATE TABLE withheld_result (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patient (id),
    observable  TEXT NOT NULL,
    reason      TEXT NOT NULL,
    withheld_by TEXT NOT NULL,
    withheld_at TEXT NOT NULL,
    released_by TEXT,
    released_at TEXT
);
CREATE INDEX withheld_result_by_patient ON withheld_result (patient_id, observable);

-- preparation_letter: each letter as it was made, so what the person was told can always be
-- shown again exactly (the PDF, base64) and searched (its plain text).
CREATE TABLE preparation_letter (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patient (id),
    cycle_id    TEXT NOT NULL REFERENCES care_cycle (id),
    made_at     TEXT NOT NULL,
    made_by     TEXT NOT NULL,
    format      TEXT NOT NULL CHECK (format IN ('standard', 'large_print', 'easy_read')),
    results     TEXT NOT NULL,
    withheld    TEXT NOT NULL,
    plain_text  TEXT NOT NULL,
    pdf_base64  TEXT NOT NULL
);
CREATE INDEX preparation_letter_by_patient ON preparation_letter (patient_id, made_at);
