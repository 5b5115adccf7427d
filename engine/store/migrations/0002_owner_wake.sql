-- The owner of a session can be woken by SIGUSR1 when a control row arrives (same host only).
-- Sending SIGUSR1 to a process without a handler would kill it, so an owner says it has one.
ALTER TABLE sessions ADD COLUMN owner_wake INTEGER NOT NULL DEFAULT 0;
