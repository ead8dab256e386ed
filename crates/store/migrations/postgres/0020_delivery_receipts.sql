-- What the SMS gateway later reports about a message it accepted (its delivery receipt), and how
-- staff dealt with a message that could not be delivered. Same text for both engines.
ALTER TABLE outbox_message ADD COLUMN delivery_status TEXT;
ALTER TABLE outbox_message ADD COLUMN delivery_updated_at TEXT;
ALTER TABLE outbox_message ADD COLUMN resolved_at TEXT;
ALTER TABLE outbox_message ADD COLUMN resolved_by TEXT;
ALTER TABLE outbox_message ADD COLUMN resolution TEXT;
CREATE INDEX outbox_message_by_provider ON outbox_message (provider_id);
