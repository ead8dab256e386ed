-- The SNOMED CT concept recorded with a cycle event where its id is confirmed (data/cycle-codes.csv).
ALTER TABLE care_cycle_event ADD COLUMN snomed_code TEXT;
