"""The second blind secret set (bench/secrets_blind2.py) is well formed and stays blind.

Why: the set is only worth something if it is reproducible, labelled consistently and free of the
dev set's providers. None of these tests runs a scanner.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "secrets_blind2.py"
DEV_SET = REPO.parent / "shared" / "eval" / "secrets-dev.jsonl"
FIELDS = {"id", "source", "provider", "label", "filename", "text", "secrets", "neg_kind"}


def _load_module():
    spec = importlib.util.spec_from_file_location("secrets_blind2", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("secrets_blind2", module)
    spec.loader.exec_module(module)
    return module


blind2 = _load_module()


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return blind2.generate()


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.lower())


def test_script_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    runs = [
        subprocess.run(
            [sys.executable, str(SCRIPT)], capture_output=True, check=True, cwd=tmp_path
        ).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    lines = runs[0].decode().splitlines()
    assert [json.loads(line) for line in lines] == blind2.generate()


def test_generate_is_deterministic_in_process(cases: list[dict]) -> None:
    assert blind2.generate() == cases


def test_counts_match_the_brief(cases: list[dict]) -> None:
    pos = [c for c in cases if c["label"]]
    neg = [c for c in cases if not c["label"]]
    assert len(pos) == 600
    assert len(neg) == 300
    per_provider = Counter(c["provider"] for c in pos)
    assert len(per_provider) >= 250
    assert min(per_provider.values()) >= 1
    assert max(per_provider.values()) <= 4
    kinds = Counter(c["neg_kind"] for c in neg)
    assert set(kinds) == set(blind2.NEG_KINDS)
    assert kinds == Counter(blind2.NEG_COUNTS)


def test_fields_and_ids(cases: list[dict]) -> None:
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids))
    for c in cases:
        assert set(c) >= FIELDS, c["id"]
        assert c["source"] == "blind2"
        assert isinstance(c["label"], bool)
        assert c["text"].strip() and c["filename"].strip()
        assert c["id"].startswith(f"blind2:{c['provider']}:")


def test_every_positive_secret_occurs_in_its_text(cases: list[dict]) -> None:
    for c in (c for c in cases if c["label"]):
        assert c["secrets"], c["id"]
        assert c["neg_kind"] is None, c["id"]
        for secret in c["secrets"]:
            assert len(secret) >= 8, (c["id"], secret)
            assert secret in c["text"], (c["id"], secret)


def test_negatives_have_no_secrets_and_a_valid_kind(cases: list[dict]) -> None:
    for c in (c for c in cases if not c["label"]):
        assert c["secrets"] == [], c["id"]
        assert c["neg_kind"] in blind2.NEG_KINDS, c["id"]


def test_no_template_field_leaks_into_text(cases: list[dict]) -> None:
    leftover = re.compile(r"\{(?:hex|HEX|an|lan|uan|b64u?|low|up|dig|b32|BECH)(?::\d+)\}|\{uuid\}")
    for c in cases:
        assert not leftover.search(c["text"]), c["id"]


def test_snippet_lengths_fit_the_dev_format(cases: list[dict]) -> None:
    for c in cases:
        limit = 60 if "PRIVATE KEY" in c["text"] else 15
        assert c["text"].count("\n") + 1 <= limit, c["id"]


def test_provider_names_are_unique_and_normalised() -> None:
    names = [p.name for p in blind2.PROVIDERS]
    assert len(names) == len(set(names))
    assert all(name == _norm(name) for name in names)


def test_github_tokens_carry_a_valid_checksum() -> None:
    """The GitHub shape follows the published format: CRC32 of the body, base62, 6 chars."""
    import random
    import zlib

    token = blind2.github_token("ghp_")(random.Random(1))
    body, check = token[4:-6], token[-6:]
    assert len(token) == 40
    assert blind2._b62(zlib.crc32(body.encode()), 6) == check


@pytest.mark.skipif(not DEV_SET.exists(), reason="shared/eval is not present on this machine")
def test_no_provider_overlaps_the_dev_set(cases: list[dict]) -> None:
    dev = {_norm(json.loads(line)["provider"]) for line in DEV_SET.read_text().splitlines()}
    ours = {_norm(c["provider"]) for c in cases} | {_norm(p.name) for p in blind2.PROVIDERS}
    assert not ours & dev, sorted(ours & dev)
