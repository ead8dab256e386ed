-- Population measures kept current per practice (data/measures.csv): for each measure, the
-- number of people it covers (item ''), those with every item done (item '*'), and those with
-- each item done. Recomputed for a practice whenever statuses there change. Same text for SQLite
-- and PostgreSQL.
CREATE TABLE kept_measure (
    practice_ods_code TEXT NOT NULL,
    measure           TEXT NOT NULL,
    item              TEXT NOT NULL,
    people            BIGINT NOT NULL,
    updated_at        TEXT NOT NULL,
    PRIMARY KEY (practice_ods_code, measure, item)
);
