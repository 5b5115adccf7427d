"""Arbitrary input never crashes the scanner or the masker, and long lines stay linear."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.security import mask, redact, scan_text
from engine.security.config import ScanConfig

# appended, not prepended: a bench script must never shadow a package
sys.path.append(str(Path(__file__).resolve().parents[1] / "bench"))
from scan import SHAPES

_ALPHABET = st.sampled_from([*list("aA0_-=:'\"`{}()[]$.+/ \n\tkeytoknsecrpw@#%"), "sk-", "AKIA"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_ALPHABET, max_size=200).map("".join), st.sampled_from(["a.py", "a.ts", "a.env"]))
def test_scan_never_crashes(text: str, name: str) -> None:
    for finding in scan_text(text, name, ScanConfig()):
        assert finding.line >= 1


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_masking_never_crashes(text: str) -> None:
    assert isinstance(redact(text), str)
    assert isinstance(mask(text), str)


def test_pathological_lines_scan_without_error() -> None:
    """A 1 MB line of each shape bench/scan.py times (how long it takes is measured there)."""
    for chunk in SHAPES:
        line = (chunk * (1_000_000 // len(chunk)))[:1_000_000]
        assert isinstance(scan_text(line, "big.txt", ScanConfig(sqli=False)), list), chunk
