-- The worklist answered from one kept row per person: a stale marker with its own index (so the
-- refresh before each read finds the few stale people without scanning everyone), the count of
-- open red flags and the outstanding checklist items, both kept current where they change.
-- Same text for SQLite and PostgreSQL.
ALTER TABLE patient_status ADD COLUMN stale BIGINT NOT NULL DEFAULT 0;
ALTER TABLE patient_status ADD COLUMN open_flags BIGINT NOT NULL DEFAULT 0;
-- Outstanding items as "item=status" words, in item order (e.g. "hba1c=overdue urine_acr=due").
ALTER TABLE patient_status ADD COLUMN due_items TEXT NOT NULL DEFAULT '';
UPDATE patient_status SET stale = 1 WHERE computed_generation < generation;
-- Statuses kept before this version lack the new columns' values: recompute them.
UPDATE patient_status SET generation = generation + 1, stale = 1 WHERE computed_generation = generation;
DROP INDEX patient_status_stale;
CREATE INDEX patient_status_stale ON patient_status (stale, patient_id);
