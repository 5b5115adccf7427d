-- Core schema: sessions, tasks, attempts, workers, locks, events, output, controls.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    plan_path TEXT,
    plan_hash TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    owner_pid INTEGER,
    owner_host TEXT,
    owner_heartbeat_at TEXT,
    workers INTEGER,
    total INTEGER NOT NULL DEFAULT 0,
    succeeded INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0,
    config TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX sessions_status ON sessions(status);
CREATE INDEX sessions_created ON sessions(created_at);

CREATE TABLE tasks (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    spec TEXT NOT NULL,
    needs_plan INTEGER NOT NULL DEFAULT 0,
    priority INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker_id TEXT,
    started_at TEXT,
    ended_at TEXT,
    exit_code INTEGER,
    reason TEXT,
    duration_s REAL,
    PRIMARY KEY (session_id, id)
);
CREATE INDEX tasks_state ON tasks(session_id, state);

CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    worker_id TEXT,
    pid INTEGER,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    status TEXT,
    exit_code INTEGER,
    reason TEXT,
    wall_s REAL,
    cpu_s REAL,
    peak_rss_kb INTEGER
);
CREATE INDEX attempts_task ON attempts(session_id, task_id);

CREATE TABLE workers (
    session_id TEXT NOT NULL,
    id TEXT NOT NULL,
    status TEXT NOT NULL,
    current_task TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    busy_s REAL NOT NULL DEFAULT 0,
    started_at TEXT,
    heartbeat_at TEXT,
    owner_pid INTEGER,
    PRIMARY KEY (session_id, id)
);

CREATE TABLE locks (
    id INTEGER PRIMARY KEY,
    pattern TEXT NOT NULL,
    session_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    owner_pid INTEGER NOT NULL,
    owner_host TEXT NOT NULL,
    acquired_at TEXT NOT NULL
);
CREATE INDEX locks_owner ON locks(session_id, task_id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    type TEXT NOT NULL,
    level TEXT NOT NULL,
    session_id TEXT,
    task_id TEXT,
    worker_id TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    v INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX events_ts ON events(ts);
CREATE INDEX events_session ON events(session_id, id);
CREATE INDEX events_type ON events(type, ts);

CREATE TABLE output (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    stream TEXT NOT NULL,
    line TEXT NOT NULL,
    ts TEXT NOT NULL
);
CREATE INDEX output_task ON output(session_id, task_id, seq);

CREATE TABLE controls (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    action TEXT NOT NULL,
    arg TEXT,
    requested_at TEXT NOT NULL,
    requested_by INTEGER,
    handled_at TEXT,
    result TEXT
);
CREATE INDEX controls_pending ON controls(session_id, handled_at);
