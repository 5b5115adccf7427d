-- The workers of the Dask cluster a session runs on, as its owner last saw them (one row per
-- worker address). Written by the owner's Dask executor; read through engine.executors.dask.
CREATE TABLE cluster_workers (
    session_id TEXT NOT NULL,
    address TEXT NOT NULL,
    name TEXT,
    status TEXT NOT NULL,
    threads INTEGER,
    memory_limit INTEGER,
    memory INTEGER,
    resources TEXT,
    current_task TEXT,
    running INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    seen_at TEXT,
    PRIMARY KEY (session_id, address)
);
