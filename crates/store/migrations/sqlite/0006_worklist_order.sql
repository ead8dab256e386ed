-- The worklist in its own order straight from an index: each person's names kept beside their
-- status, so a page is read in order (recall month, highest risk, family name, given name) and
-- stops at the page's end instead of sorting everyone in the practice. Same text for SQLite and
-- PostgreSQL.
ALTER TABLE patient_status ADD COLUMN family_name TEXT NOT NULL DEFAULT '';
ALTER TABLE patient_status ADD COLUMN given_name TEXT NOT NULL DEFAULT '';
UPDATE patient_status SET
    family_name = COALESCE((SELECT p.family_name FROM patient p WHERE p.id = patient_status.patient_id), ''),
    given_name = COALESCE((SELECT p.given_name FROM patient p WHERE p.id = patient_status.patient_id), '');
CREATE INDEX patient_status_worklist_order
    ON patient_status (practice_ods_code, enters_cycle, recall_month, risk_score DESC, family_name, given_name, patient_id);
