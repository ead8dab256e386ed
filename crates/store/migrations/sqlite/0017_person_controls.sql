-- The person's own controls online (issue 5): a stronger identity check before they change who may
-- see their record, and their progress on their goals. Same text for both engines.

-- When the session passed the stronger identity check, it holds until this time.
ALTER TABLE person_session ADD COLUMN verified_until TEXT;

-- A step-up code sent to the email address or mobile number on the GP record; only its digest is
-- kept; one live code per session.
CREATE TABLE step_up_code (
    token_sha256 TEXT PRIMARY KEY,
    code_sha256  TEXT NOT NULL,
    channel      TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    attempts     BIGINT NOT NULL
);

-- How the person (or their proxy) says a goal of their plan is going; the newest per goal is the
-- current one. The goal is named by its words, so progress carries to a new plan version that
-- keeps the goal.
CREATE TABLE goal_progress (
    id         TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patient (id),
    plan_id    TEXT NOT NULL REFERENCES care_plan (id),
    goal       TEXT NOT NULL,
    status     TEXT NOT NULL,
    note       TEXT NOT NULL,
    written_by TEXT NOT NULL,
    written_at TEXT NOT NULL
);
CREATE INDEX goal_progress_by_plan ON goal_progress (plan_id, goal, written_at);
