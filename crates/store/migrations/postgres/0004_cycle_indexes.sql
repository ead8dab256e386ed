-- Indexes for the cycle's population questions (care-process completeness; the worklist's filter).
-- Same text for SQLite and PostgreSQL. On a practice of 20,000 generated people (`make bench`'s
-- cycle part) the NDA completeness statement itself went from ~15 ms to ~5 ms on SQLite and from
-- ~12 ms to ~5 ms on PostgreSQL (after VACUUM; index-only scans need the visibility map); the
-- extra index upkeep is ~10-15% of the status writes, under 1% of the status refresh.

-- The people in a practice's cycle, in id order, with their registers: answers the register filter
-- from the index alone and groups by person without a sort. Replaces patient_status_worklist,
-- whose trailing columns no query could use (the worklist orders by an expression of them).
DROP INDEX patient_status_worklist;
CREATE INDEX patient_status_cycle ON patient_status (practice_ods_code, enters_cycle, patient_id, registers);

-- A person's done checklist items, from the index alone.
CREATE INDEX care_process_status_done ON care_process_status (patient_id, status, item);
