-- FHIR Bulk Data exports of a practice's people for the practice's own systems: one row per
-- kick-off; the NDJSON files are written to the export directory and listed when complete.
-- Same text for both engines.
CREATE TABLE bulk_export (
    id               TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL,
    organisation     TEXT NOT NULL,
    types            TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
    transaction_time TEXT NOT NULL,
    people           BIGINT NOT NULL,
    output           TEXT NOT NULL,
    error            TEXT,
    finished_at      TEXT
);
