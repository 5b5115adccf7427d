"""br:allow-file -- The blind secret set (bench/secrets_blind.py) is stable, labelled consistently
and shares no provider with the dev set, so it stays an honest estimate for unseen providers."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "secrets_blind.py"
DEV_SET = ROOT.parent / "shared" / "eval" / "secrets-dev.jsonl"
NEG_KINDS = {"placeholder", "short", "no-secret", "identifier", "path", "low-entropy", "uuid",
             "reference", "example"}  # fmt: skip


def _load():
    spec = importlib.util.spec_from_file_location("secrets_blind", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def blind():
    return _load()


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, check=True)
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


def test_output_is_byte_identical_across_runs(rows) -> None:
    again = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, check=True)
    assert [json.loads(line) for line in again.stdout.decode().splitlines()] == rows
    first = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, check=True)
    assert first.stdout == again.stdout


def test_counts_and_kinds_are_as_documented(blind, rows) -> None:
    pos = [r for r in rows if r["label"]]
    neg = [r for r in rows if not r["label"]]
    assert len(pos) == blind.N_POSITIVE == 700
    assert Counter(r["neg_kind"] for r in neg) == blind.NEG_COUNTS
    assert sum(blind.NEG_COUNTS.values()) == 400
    assert set(blind.NEG_COUNTS) == NEG_KINDS
    assert len({r["provider"] for r in pos}) >= 150
    # documented in the module docstring, so the doc cannot drift from the data
    doc = blind.__doc__
    assert f"{len(pos)} positives over {len({p.name for p in blind.PROVIDERS})}" in doc
    for kind, n in blind.NEG_COUNTS.items():
        assert f"{kind} {n}" in doc or f"{n} each of" in doc


def test_rows_have_the_dev_set_fields(rows) -> None:
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    for r in rows:
        assert r["source"] == "blind"
        assert r["provider"] == r["provider"].lower() and r["provider"].isalnum()
        assert r["filename"] and r["origin"]
        assert 1 <= len(r["text"].splitlines()) <= 60
        assert ("neg_kind" in r) == (not r["label"])


def test_every_positive_secret_is_in_its_text(rows) -> None:
    for r in rows:
        if r["label"]:
            assert r["secrets"], r["id"]
            for s in r["secrets"]:
                assert s in r["text"], r["id"]
        else:
            assert r["secrets"] == [], r["id"]


def test_plain_keys_sit_next_to_their_provider(blind, rows) -> None:
    """A key with no prefix is only a secret by its context: the provider must be in view."""
    plain = {p.name: p for p in blind.PROVIDERS if p.plain and p.kind == "token"}
    for r in rows:
        p = plain.get(r["provider"])
        if r["label"] and p:
            text = r["text"].lower()
            assert p.key in text or p.domain in text or p.name in text, r["id"]


def test_no_provider_overlaps_the_dev_set(rows) -> None:
    if not DEV_SET.exists():
        pytest.skip(f"dev set not found at {DEV_SET}")
    dev = {json.loads(line)["provider"] for line in DEV_SET.read_text().splitlines() if line}
    assert dev, "dev set has no providers"
    assert not {r["provider"] for r in rows} & dev


def test_generator_never_emits_the_same_token_twice(rows) -> None:
    seen: set[str] = set()
    for r in rows:
        for s in r["secrets"]:
            assert s not in seen, r["id"]
            seen.add(s)
