-- Latency inside a time window (the p95 alert probe, at every evaluation and at the end of
-- every run) from an index alone. Ranging `events_ts` instead made SQLite compute `lat_s`, that
-- is parse each event's JSON, row by row: 9.5 -> 0.3 ms over a 2,000-task run's events.
CREATE INDEX events_ts_lat ON events(ts, lat_s) WHERE lat_s IS NOT NULL;
