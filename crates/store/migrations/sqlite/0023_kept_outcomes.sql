-- The commissioner's dashboard kept per practice (issue 6): each practice's figures, recomputed
-- when something they count changes or the day moves on, so a dashboard reads one row per
-- practice instead of everyone's records. Same text for both engines.
--
-- A change that a figure counts (a plan agreed, a survey answered, a red flag actioned, goal
-- progress, a cycle event, a status refresh) adds 1 to `generation` in its own transaction; the
-- figures are saved with the generation read before they were computed, so a change made while
-- computing leaves the row stale. `as_of` is the day the figures were computed for.
CREATE TABLE kept_outcome (
    practice_ods_code   TEXT PRIMARY KEY,
    generation          BIGINT NOT NULL,
    computed_generation BIGINT NOT NULL,
    as_of               TEXT NOT NULL,
    figures             TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

-- A practice's cycle events and goal progress are read person by person (red flags and survey
-- answers already have an index led by the person).
CREATE INDEX care_cycle_event_by_patient ON care_cycle_event (patient_id, on_date);
CREATE INDEX goal_progress_by_patient ON goal_progress (patient_id, written_at);
