-- Streams: a git worktree and branch per stream, checkpoint merges behind gates, shared decisions.
-- Text a user or an agent wrote (notices, gate output, decisions) is masked on its way in.
CREATE TABLE streams (
    session_id TEXT NOT NULL,
    id TEXT NOT NULL,
    repo TEXT NOT NULL,
    branch TEXT NOT NULL,
    worktree TEXT NOT NULL,
    base TEXT NOT NULL,
    target TEXT,
    state TEXT NOT NULL,
    head TEXT,
    merged_head TEXT,
    setup_done INTEGER NOT NULL DEFAULT 0,
    notice TEXT,
    notice_task TEXT,
    synced_checkpoint INTEGER,
    spec TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT,
    PRIMARY KEY (session_id, id)
);
CREATE INDEX streams_repo ON streams(repo);

CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    name TEXT NOT NULL,
    repo TEXT NOT NULL,
    target TEXT NOT NULL,
    strategy TEXT NOT NULL,
    status TEXT NOT NULL,
    target_before TEXT,
    merged_commit TEXT,
    streams TEXT NOT NULL DEFAULT '{}',
    conflicts TEXT NOT NULL DEFAULT '[]',
    message TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX checkpoints_session ON checkpoints(session_id, id);

CREATE TABLE gate_results (
    id INTEGER PRIMARY KEY,
    checkpoint_id INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    repo TEXT NOT NULL,
    target TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    coverage REAL,
    floor REAL,
    output TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    wall_s REAL
);
CREATE INDEX gate_results_checkpoint ON gate_results(checkpoint_id);
CREATE INDEX gate_results_ratchet ON gate_results(repo, target, name, status);

CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    ts TEXT NOT NULL,
    text TEXT NOT NULL,
    task_id TEXT,
    stream_id TEXT,
    author TEXT NOT NULL
);
CREATE INDEX decisions_session ON decisions(session_id, id);
