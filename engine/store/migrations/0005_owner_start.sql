-- Who owns a session, exactly: the owner process' boot id and start time (from /proc), so a
-- pid reused after the owner died (or after a reboot) is never taken for the owner.
ALTER TABLE sessions ADD COLUMN owner_start TEXT;
