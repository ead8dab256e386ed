-- What Concord recorded that belongs in the GP record, as sent and as filed. An item is sent in
-- an export bundle (at a position in it) and is filed when the GP system confirms that entry;
-- until then it is sent again with the next export. Same text for both engines.
-- item_key: observation:{id} | cycle-event:{id} | prescriber-task:{id} | plan:{version id}.
CREATE TABLE gp_filing (
    item_key     TEXT PRIMARY KEY,
    patient_id   TEXT NOT NULL REFERENCES patient (id),
    export_id    TEXT NOT NULL,
    position     BIGINT NOT NULL,
    exported_at  TEXT NOT NULL,
    filed_at     TEXT,
    gp_reference TEXT
);
CREATE INDEX gp_filing_by_export ON gp_filing (export_id, position);
CREATE INDEX gp_filing_by_patient ON gp_filing (patient_id, filed_at);
