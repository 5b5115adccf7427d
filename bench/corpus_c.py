"""Corpus C's old entry point (docs/performance.md's round 3 names it): `bench/corpora.py` now
serves every held-out corpus.

    python bench/corpus_c.py [--dir DIR]   # same as: python bench/corpora.py --corpus c
"""

from __future__ import annotations

import sys

import corpora

if __name__ == "__main__":
    sys.argv[1:1] = ["--corpus", "c"]
    raise SystemExit(corpora.main())
