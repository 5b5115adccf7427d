"""Metrics in the text formats Prometheus and OpenMetrics scrapers read.

Teams already run Prometheus (or something that scrapes its format) and Grafana; this module
turns what the store recorded into their vocabulary: gauges for what is true now (sessions and
tasks by state, queue depth, open alerts, workers), counters for what only grows (task outcomes,
failures by class, agent calls and spend), and summaries for latency (p50 / p95 / p99 with
count and sum). `prometheus_client` writes the text, so escaping, `_total` suffixes and the
OpenMetrics `# EOF` follow the spec; every label value is masked on the way out.

`.prom` files are the Prometheus text format (what node_exporter's textfile collector reads);
`.om` / `.openmetrics` files are OpenMetrics 1.0. A scrape of `br-tui serve`'s `/metrics`
gets whichever its Accept header asks for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry

from engine.security.masking import redact
from engine.store.queryable import Queryable
from engine.telemetry import metrics
from engine.telemetry.alerts import active_alerts
from engine.telemetry.metrics import PERCENTILES, has_table, rows

PREFIX = "br"
#: file suffix -> format ("prometheus" text 0.0.4, or "openmetrics" 1.0)
FORMATS = {".prom": "prometheus", ".txt": "prometheus", ".om": "openmetrics",
           ".openmetrics": "openmetrics"}  # fmt: skip


def _label(value: Any) -> str:
    return redact(str(value if value is not None else ""))


class StoreCollector(Collector):
    """Reads the database at each `collect()`: a scrape sees the store as it is then."""

    def __init__(self, db: Queryable) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        yield from self._states()
        yield from self._outcomes()
        yield from self._agents()
        yield from self._latency()

    # -- what is true now (gauges) ----------------------------------------------------------

    def _states(self) -> Iterator[Metric]:
        db = self.db
        g = GaugeMetricFamily(f"{PREFIX}_sessions", "Sessions by status.", labels=["status"])
        for r in rows(db, "SELECT status, count(*) AS n FROM sessions GROUP BY status"):
            g.add_metric([_label(r["status"])], r["n"])
        yield g
        g = GaugeMetricFamily(
            f"{PREFIX}_tasks", "Tasks of the sessions in the database, by state.", labels=["state"]
        )
        for r in rows(db, "SELECT state, count(*) AS n FROM tasks GROUP BY state"):
            g.add_metric([_label(r["state"])], r["n"])
        yield g
        yield GaugeMetricFamily(
            f"{PREFIX}_queue_depth",
            "Tasks waiting to run in running or paused sessions.",
            value=metrics.queue_now(db),
        )
        g = GaugeMetricFamily(
            f"{PREFIX}_workers", "Workers of running or paused sessions, by status.",
            labels=["status"],
        )  # fmt: skip
        for r in rows(
            db,
            "SELECT w.status, count(*) AS n FROM workers w JOIN sessions s ON s.id = w.session_id"
            " WHERE s.status IN ('running', 'paused') GROUP BY w.status",
        ):
            g.add_metric([_label(r["status"])], r["n"])
        yield g
        g = GaugeMetricFamily(f"{PREFIX}_alerts_open", "Open alerts, by level.", labels=["level"])
        if has_table(db, "alerts"):
            by: dict[str, int] = {}
            for a in active_alerts(db):
                by[a["level"]] = by.get(a["level"], 0) + 1
            for level, n in sorted(by.items()):
                g.add_metric([_label(level)], n)
        yield g

    # -- what only grows (counters) ---------------------------------------------------------

    def _outcomes(self) -> Iterator[Metric]:
        out = metrics.outcomes(self.db)
        c = CounterMetricFamily(
            f"{PREFIX}_task_outcomes", "Tasks that ended, by outcome.", labels=["outcome"]
        )
        for outcome in ("succeeded", "failed", "timed_out", "cancelled"):
            c.add_metric([outcome], out[outcome])
        yield c
        c = CounterMetricFamily(
            f"{PREFIX}_failures",
            "Failed task attempts and agent calls, by source and class.",
            labels=["source", "class"],
        )
        for r in metrics.errors(self.db):
            c.add_metric([_label(r["source"]), _label(r["class"])], r["n"])
        yield c

    def _agents(self) -> Iterator[Metric]:
        calls = CounterMetricFamily(
            f"{PREFIX}_agent_calls", "Agent calls, by model.", labels=["model"]
        )
        spend = CounterMetricFamily(
            f"{PREFIX}_spend_usd", "Agent spend in US dollars, by model.", labels=["model"]
        )
        tokens = CounterMetricFamily(
            f"{PREFIX}_agent_tokens", "Agent tokens, by model and direction.",
            labels=["model", "direction"],
        )  # fmt: skip
        for r in metrics.cost(self.db, "model"):
            model = _label(r["key"])
            calls.add_metric([model], r["calls"])
            spend.add_metric([model], r["cost_usd"] or 0.0)
            tokens.add_metric([model, "input"], r["input_tokens"] or 0)
            tokens.add_metric([model, "output"], r["output_tokens"] or 0)
        yield from (calls, spend, tokens)

    # -- latency (summaries) ----------------------------------------------------------------

    def _latency(self) -> Iterator[Metric]:
        s = SummaryMetricFamily(
            f"{PREFIX}_task_latency_seconds", "Wall time of task attempts.", labels=[]
        )
        overall = metrics.latency(self.db, "all")
        if overall:
            _add_summary(s, {}, overall[0])
        yield s
        s = SummaryMetricFamily(
            f"{PREFIX}_agent_latency_seconds", "Latency of agent calls, by model.",
            labels=["model"],
        )  # fmt: skip
        for r in metrics.latency(self.db, "model"):
            _add_summary(s, {"model": _label(r["key"])}, r)
        yield s


def _add_summary(family: SummaryMetricFamily, labels: dict[str, str], row: dict[str, Any]) -> None:
    """Quantile samples plus `_count` and `_sum` (the mean times the count)."""
    n = int(row["n"] or 0)
    for p in PERCENTILES:
        value = row.get(f"p{round(p * 100)}")
        if value is not None:
            family.add_sample(family.name, {**labels, "quantile": repr(p)}, float(value))
    family.add_metric(list(labels.values()), n, float(row["mean"] or 0.0) * n)


def registry(db: Queryable) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StoreCollector(db))
    return reg


def render(db: Queryable, fmt: str = "prometheus") -> bytes:
    """The metrics as text: `prometheus` (0.0.4) or `openmetrics` (1.0)."""
    if fmt == "openmetrics":
        from prometheus_client.openmetrics.exposition import generate_latest
    elif fmt == "prometheus":
        from prometheus_client.exposition import generate_latest
    else:
        raise ValueError(f"unknown metrics format {fmt!r} (prometheus or openmetrics)")
    return generate_latest(registry(db))


def for_scrape(db: Queryable, accept: str) -> tuple[bytes, str]:
    """(body, content type) for an HTTP scrape, in the format its Accept header asks for."""
    from prometheus_client.exposition import choose_encoder

    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry(db)), content_type


def format_for(path: str | Path) -> str | None:
    return FORMATS.get(Path(path).suffix.lower())


def write_metrics(db: Queryable, path: str | Path) -> int:
    """Write the metrics to `path` (format from its suffix), readable by the user alone;
    returns the number of samples written."""
    path = Path(path)
    fmt = format_for(path)
    if fmt is None:
        raise ValueError(f"{path}: unknown metrics format (use .prom or .om)")
    body = render(db, fmt)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    return sum(1 for line in body.decode("utf-8").splitlines() if line and not line.startswith("#"))
