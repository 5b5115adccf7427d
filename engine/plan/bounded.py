"""Reading a plan file within bounds: a size cap, a nesting cap, and the BOM editors write.

`br-tui run /dev/zero` used to read until the kernel killed it, and a TOML nested 100,000 deep
raised a RecursionError from `tomllib` as a traceback. A plan of 10,000 tasks is ~2 MB, so
32 MiB leaves room for any real plan while a runaway input stops at once. Nesting is bounded by
the interpreter's recursion limit (~1,000 levels; real plans nest three or four), whose
RecursionError the loader turns into one line: free for every plan, where counting brackets
beforehand cost ~4 ms per 400 kB.
"""

from __future__ import annotations

import os

MAX_PLAN_BYTES = 32 * 1024 * 1024


def read_bounded(path: str | os.PathLike[str], limit: int = MAX_PLAN_BYTES) -> bytes:
    """The file's bytes, or ValueError when it holds more than `limit` (devices, pipes too)."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit // (1024 * 1024)} MiB: not a plan file")
    return data


def strip_bom(text: str) -> str:
    """A UTF-8 byte-order mark (Notepad and some generators write one) is not TOML."""
    return text[1:] if text.startswith("\ufeff") else text
