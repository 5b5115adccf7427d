-- Routing and costs: one row per agent call (each retry and fallback is its own call).
-- cost_usd is NULL when the cost is unknown (no usage reported, model not in the price table);
-- cost_source says where a known cost came from: 'table' (usage x price table) or 'reported'
-- (the agent's own total, used when it gave no usage).
CREATE TABLE agent_calls (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    session_id TEXT,
    task_id TEXT,
    attempt INTEGER,
    call_no INTEGER NOT NULL DEFAULT 1,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    tier TEXT,
    level TEXT,
    score REAL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL,
    cost_source TEXT,
    reported_cost_usd REAL,
    latency_s REAL,
    num_turns INTEGER,
    outcome TEXT NOT NULL,
    failure_class TEXT,
    error TEXT,
    routing_reason TEXT
);
CREATE INDEX agent_calls_ts ON agent_calls(ts);
CREATE INDEX agent_calls_session ON agent_calls(session_id, task_id);
CREATE INDEX agent_calls_model ON agent_calls(model, ts);
