"""The third blind secrets set (bench/secrets_blind3.py) is well-formed, deterministic and blind.

Why: the set is only worth something if it is reproducible byte for byte, labels what it claims,
and shares no provider with the dev set it must be independent of.  No scanner runs here.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "secrets_blind3.py"
DEV = ROOT.parent / "shared" / "eval" / "secrets-dev.jsonl"
NEG_KINDS = {
    "placeholder",
    "short",
    "no-secret",
    "identifier",
    "path",
    "low-entropy",
    "uuid",
    "reference",
    "example",
}
FIELDS = {"id", "source", "origin", "provider", "label", "filename", "text", "secrets", "neg_kind"}


def _load():
    spec = importlib.util.spec_from_file_location("secrets_blind3_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return _load().generate()


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.lower())


def test_script_output_is_byte_identical_across_runs_and_matches_generate(cases):
    runs = [
        subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, check=True).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    lines = runs[0].decode().splitlines()
    assert [json.loads(line) for line in lines] == cases


def test_counts_and_provider_spread(cases):
    pos = [c for c in cases if c["label"]]
    neg = [c for c in cases if not c["label"]]
    assert len(pos) == 600
    assert len(neg) == 300
    per_provider = collections.Counter(c["provider"] for c in pos)
    assert len(per_provider) >= 250
    assert set(per_provider.values()) <= {1, 2, 3, 4}
    assert len({c["filename"] for c in cases}) >= 25


def test_fields_ids_and_source(cases):
    for c in cases:
        assert set(c) == FIELDS
        assert c["source"] == "blind3"
        assert c["text"] and c["filename"] and c["provider"] == _norm(c["provider"])
    assert len({c["id"] for c in cases}) == len(cases)


def test_every_positive_secret_is_in_its_text(cases):
    for c in (c for c in cases if c["label"]):
        assert c["secrets"], c["id"]
        assert c["neg_kind"] is None
        for s in c["secrets"]:
            assert len(s) >= 8 and s in c["text"], (c["id"], s)


def test_negatives_have_no_secrets_and_a_known_kind(cases):
    kinds = collections.Counter()
    for c in (c for c in cases if not c["label"]):
        assert c["secrets"] == []
        assert c["neg_kind"] in NEG_KINDS, c["id"]
        kinds[c["neg_kind"]] += 1
    assert set(kinds) == NEG_KINDS


def test_no_token_repeats_across_cases(cases):
    """Seeded per case: a token shows up in one case only (no copy-paste between cases)."""
    seen: dict[str, str] = {}
    for c in (c for c in cases if c["label"]):
        for s in c["secrets"]:
            assert seen.setdefault(s, c["id"]) == c["id"], s


def test_no_provider_of_the_dev_set(cases):
    if not DEV.exists():
        pytest.skip("shared/eval is absent on this machine")
    dev = {
        _norm(json.loads(line)["provider"]) for line in DEV.read_text().splitlines() if line.strip()
    }
    ours = {_norm(c["provider"]) for c in cases}
    assert not ours & dev, sorted(ours & dev)


def test_github_tokens_carry_their_documented_checksum(cases):
    """GitHub's ghp_ tokens end in the base62 CRC32 of their body: the generator must honour it."""
    module = _load()
    import zlib

    found = 0
    for c in cases:
        for s in c["secrets"]:
            if s.startswith("ghp_"):
                body, check = s[4:34], s[34:]
                assert len(s) == 40 and check == module.base62(zlib.crc32(body.encode()), 6)
                found += 1
    assert found
