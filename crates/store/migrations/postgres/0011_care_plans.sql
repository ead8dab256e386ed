-- The person's care and support plan: one plan per person, every version kept whole as entries
-- (crates/domain/src/plan.rs names them), and the tasks a prescriber must carry out in the GP
-- system for treatments agreed. Same text for SQLite and PostgreSQL.
CREATE TABLE care_plan (
    id              TEXT PRIMARY KEY,
    patient_id      TEXT NOT NULL UNIQUE REFERENCES patient (id),
    current_version BIGINT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- status: draft (written in the conversation, not yet agreed), agreed (agreed with the person or
-- their representative), declined (the person did not want a written plan).
CREATE TABLE care_plan_version (
    id          TEXT PRIMARY KEY,
    plan_id     TEXT NOT NULL REFERENCES care_plan (id),
    version     BIGINT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('draft', 'agreed', 'declined')),
    cycle_id    TEXT REFERENCES care_cycle (id),
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    changes     TEXT NOT NULL,
    UNIQUE (plan_id, version)
);

CREATE TABLE care_plan_entry (
    version_id TEXT NOT NULL REFERENCES care_plan_version (id),
    section    TEXT NOT NULL,
    item       BIGINT NOT NULL,
    field      TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (version_id, section, item, field)
);

CREATE TABLE prescriber_task (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patient (id),
    version_id  TEXT NOT NULL REFERENCES care_plan_version (id),
    description TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    done_at     TEXT,
    done_by     TEXT
);
CREATE INDEX prescriber_task_open ON prescriber_task (done_at, created_at);
