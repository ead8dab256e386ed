-- Check-ins between consultations (issue 6): a message some weeks after a plan is agreed asking
-- how the person's goals are going (or a call for people without digital access), their answers,
-- and the follow-ups for those who ask for help or are struggling. Same text for both engines.
CREATE TABLE check_in (
    id             TEXT PRIMARY KEY,
    patient_id     TEXT NOT NULL REFERENCES patient (id),
    plan_id        TEXT NOT NULL REFERENCES care_plan (id),
    plan_version   BIGINT NOT NULL,
    due_on         TEXT NOT NULL,
    channel        TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'phone')),
    status         TEXT NOT NULL CHECK (status IN ('scheduled', 'sent', 'answered')),
    sent_at        TEXT,
    answered_at    TEXT,
    answered_by    TEXT,
    help_requested BIGINT NOT NULL,
    note           TEXT NOT NULL,
    UNIQUE (plan_id, plan_version)
);
CREATE INDEX check_in_by_status ON check_in (status, due_on);
CREATE INDEX check_in_by_patient ON check_in (patient_id, due_on);

CREATE TABLE follow_up (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patient (id),
    check_in_id TEXT NOT NULL REFERENCES check_in (id),
    reason      TEXT NOT NULL,
    owner_role  TEXT NOT NULL,
    due_by      TEXT NOT NULL,
    taken_by    TEXT,
    done_at     TEXT,
    outcome     TEXT
);
CREATE INDEX follow_up_open ON follow_up (done_at, due_by);
