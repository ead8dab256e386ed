-- The Year of Care cycle: each person's kept status (registers, risk, eligibility, merged
-- checklist), red flags for triage, the cycle's stages with their history, personal targets,
-- clinic slots and the outbox. Same text for SQLite and PostgreSQL.

-- Kept current as results arrive: the import marks a person stale (generation + 1) in the same
-- transaction as the change; the status refresh recomputes stale people and records the
-- generation it saw, so a change during a refresh leaves the person stale.
CREATE TABLE patient_status (
    patient_id          TEXT PRIMARY KEY REFERENCES patient (id),
    generation          BIGINT NOT NULL,
    computed_generation BIGINT NOT NULL,
    rules_fingerprint   TEXT NOT NULL,
    computed_on         TEXT NOT NULL,
    practice_ods_code   TEXT,
    registers           TEXT NOT NULL,
    risk_score          BIGINT NOT NULL,
    risk_factors        TEXT NOT NULL,
    enters_cycle        BIGINT NOT NULL,
    care_planning       TEXT NOT NULL,
    recall_month        BIGINT NOT NULL,
    outstanding_items   BIGINT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX patient_status_stale ON patient_status (computed_generation, generation);
CREATE INDEX patient_status_worklist ON patient_status (practice_ods_code, enters_cycle, recall_month, risk_score);

-- One row per person and merged checklist item.
CREATE TABLE care_process_status (
    patient_id      TEXT NOT NULL REFERENCES patient (id),
    item            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('overdue', 'due', 'done')),
    last_done       TEXT,
    next_due        TEXT,
    interval_months BIGINT NOT NULL,
    performed_by    TEXT NOT NULL,
    PRIMARY KEY (patient_id, item)
);
CREATE INDEX care_process_status_by_item ON care_process_status (item, status);

-- Red flags: never deleted. An open flag stays on the triage queue until an action is recorded.
CREATE TABLE red_flag (
    id                TEXT PRIMARY KEY,
    patient_id        TEXT NOT NULL REFERENCES patient (id),
    identity          TEXT NOT NULL,
    rule_id           TEXT NOT NULL,
    severity          TEXT NOT NULL CHECK (severity IN ('urgent', 'soon', 'routine')),
    value_text        TEXT NOT NULL,
    observation_keys  TEXT NOT NULL,
    observation_codes TEXT NOT NULL,
    result_date       TEXT NOT NULL,
    recommended       TEXT NOT NULL,
    raised_at         TEXT NOT NULL,
    duty_clinician    TEXT,
    escalate_at       TEXT,
    escalated_at      TEXT,
    actioned_at       TEXT,
    actioned_by       TEXT,
    action_taken      TEXT,
    UNIQUE (patient_id, identity)
);
CREATE INDEX red_flag_open ON red_flag (actioned_at, severity, result_date);

-- A person's cycle for one year; absent until the first event (the person is then simply due).
CREATE TABLE care_cycle (
    id                  TEXT PRIMARY KEY,
    patient_id          TEXT NOT NULL REFERENCES patient (id),
    cycle_year          BIGINT NOT NULL,
    stage               TEXT NOT NULL,
    stage_since         TEXT NOT NULL,
    invitations         BIGINT NOT NULL,
    last_invited        TEXT,
    adjustment          TEXT,
    before_dna          TEXT,
    assigned_to         TEXT,
    results_reviewed_by TEXT,
    comment_for_person  TEXT,
    version             BIGINT NOT NULL,
    updated_at          TEXT NOT NULL,
    UNIQUE (patient_id, cycle_year)
);
CREATE INDEX care_cycle_by_stage ON care_cycle (cycle_year, stage);

CREATE TABLE care_cycle_event (
    id         TEXT PRIMARY KEY,
    cycle_id   TEXT NOT NULL REFERENCES care_cycle (id),
    patient_id TEXT NOT NULL REFERENCES patient (id),
    event      TEXT NOT NULL,
    from_stage TEXT NOT NULL,
    to_stage   TEXT NOT NULL,
    on_date    TEXT NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    note       TEXT
);
CREATE INDEX care_cycle_event_by_cycle ON care_cycle_event (cycle_id, at);

CREATE TABLE personal_target (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patient (id),
    observable  TEXT NOT NULL,
    comparison  TEXT NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    set_on      TEXT NOT NULL,
    set_by      TEXT NOT NULL,
    reason      TEXT
);
CREATE INDEX personal_target_by_patient ON personal_target (patient_id, observable);

-- Clinic slots: Concord's own lists and those recorded from the GP system's appointment book.
-- A slot is booked by a conditional update (booked_patient_id IS NULL), so it is never given twice.
CREATE TABLE clinic_slot (
    id                TEXT PRIMARY KEY,
    practice_ods_code TEXT NOT NULL,
    purpose           TEXT NOT NULL CHECK (purpose IN ('information_gathering', 'conversation')),
    clinician_role    TEXT NOT NULL,
    clinician_name    TEXT NOT NULL,
    starts_at         TEXT NOT NULL,
    minutes           BIGINT NOT NULL,
    source            TEXT NOT NULL CHECK (source IN ('concord', 'gp_system')),
    taken_elsewhere   BIGINT NOT NULL,
    booked_patient_id TEXT REFERENCES patient (id),
    booked_cycle_id   TEXT REFERENCES care_cycle (id),
    booked_at         TEXT,
    booked_by         TEXT,
    UNIQUE (practice_ods_code, clinician_name, starts_at)
);
CREATE INDEX clinic_slot_free ON clinic_slot (practice_ods_code, purpose, starts_at);

-- The outbox: a message is written in the same transaction as the event that causes it and
-- delivered later; at send time it is checked again (died, moved away, declined: suppressed).
CREATE TABLE outbox_message (
    id               TEXT PRIMARY KEY,
    patient_id       TEXT NOT NULL REFERENCES patient (id),
    cycle_id         TEXT REFERENCES care_cycle (id),
    purpose          TEXT NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'letter')),
    template         TEXT NOT NULL,
    recipient        TEXT,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    attachment       TEXT,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'suppressed', 'to_print', 'printed')),
    attempts         BIGINT NOT NULL,
    not_before       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    provider_id      TEXT,
    last_error       TEXT,
    suppressed_reason TEXT
);
CREATE INDEX outbox_message_pending ON outbox_message (status, not_before);
CREATE INDEX outbox_message_by_patient ON outbox_message (patient_id, created_at);
