-- A check-in is withdrawn, with the reason, when its person has died, moved away or declined
-- before it was sent: it is never sent or called, and no longer counts as due.
ALTER TABLE check_in ADD COLUMN withdrawn TEXT;
