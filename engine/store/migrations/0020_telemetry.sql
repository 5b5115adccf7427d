-- Telemetry: alerts with their history, rollups that outlive pruned events, bookkeeping.

-- One row per alert episode: raised, possibly re-levelled, then cleared. At most one open
-- episode per key (threshold + scope), enforced here so two processes can't both raise it.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    threshold TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    level TEXT NOT NULL,
    peak_level TEXT NOT NULL,
    value REAL,
    bound REAL,
    message TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    cleared_at TEXT
);
CREATE UNIQUE INDEX alerts_open ON alerts(key) WHERE cleared_at IS NULL;
CREATE INDEX alerts_raised ON alerts(raised_at);

-- Aggregates of events per hour / day / week (bucket = its UTC start, ISO text), by type and
-- level. Latency columns summarise `data.wall_s` of the events that carry one (attempt ends).
CREATE TABLE rollups (
    period TEXT NOT NULL,
    bucket TEXT NOT NULL,
    type TEXT NOT NULL,
    level TEXT NOT NULL,
    n INTEGER NOT NULL,
    lat_n INTEGER NOT NULL DEFAULT 0,
    lat_sum REAL,
    lat_max REAL,
    lat_p50 REAL,
    lat_p95 REAL,
    lat_p99 REAL,
    PRIMARY KEY (period, bucket, type, level)
);

-- Small key/value bookkeeping: how far rollups got, where raw events were pruned up to.
CREATE TABLE telemetry_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Attempt latency as a column (computed, not stored) with a partial index over the rows that
-- have one: percentiles over a million events read a narrow sorted index instead of parsing
-- every event's JSON. `events.data` stays the one source of truth.
ALTER TABLE events ADD COLUMN lat_s REAL GENERATED ALWAYS AS (
    CASE WHEN type IN ('task.succeeded', 'task.failed', 'task.timed_out', 'task.retried')
    THEN json_extract(data, '$.wall_s') END
) VIRTUAL;
CREATE INDEX events_lat ON events(lat_s) WHERE lat_s IS NOT NULL;
-- Counting by type and level (the summary) from the index alone.
CREATE INDEX events_type_level ON events(type, level, ts);
