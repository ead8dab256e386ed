-- Sharing with clinicians outside the practice (issue 5). Same text for both engines.

-- Why a record was read when it was not the practice's own direct care: the basis of a partner's
-- access ("shared care: consent", "shared care: care team") or a break-glass reason.
ALTER TABLE audit_event ADD COLUMN purpose TEXT;

-- Break-glass: a clinician outside the person's consent and care team reads their plan in an
-- emergency, with a stated reason, for a limited time; each one waits on the privacy officer's
-- list until reviewed.
CREATE TABLE break_glass (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL REFERENCES patient (id),
    organisation  TEXT NOT NULL,
    actor         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    granted_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    reviewed_at   TEXT,
    reviewed_by   TEXT,
    review_note   TEXT
);
CREATE INDEX break_glass_by_patient ON break_glass (patient_id, organisation, expires_at);
CREATE INDEX break_glass_unreviewed ON break_glass (reviewed_at, granted_at);

-- FHIR search paging: the next link names an opaque token, never the search's parameters. A
-- token belongs to the client that searched and lapses with it.
CREATE TABLE search_page (
    token         TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL,
    search        TEXT NOT NULL,
    patient_id    TEXT NOT NULL,
    page_offset   BIGINT NOT NULL,
    page_count    BIGINT NOT NULL,
    expires_at    TEXT NOT NULL
);
