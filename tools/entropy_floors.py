"""Print the entropy floors `engine/security/entropy.py` keeps for small alphabets.

A value drawn at random from an alphabet of 16 (hex) or 36 (lower-case letters and digits)
characters cannot reach the character entropy a mixed-case one does: at 20 characters, a random
hex key's entropy is under 3.2 bits one time in five. The floor for such a value is the 0.1 %
quantile of the entropy of random strings of its own alphabet and length, so 999 of 1,000 real
keys pass it. Deterministic (seeded); the table is pasted into entropy.py as
`_SMALL_ALPHABET_FLOOR`.

    python tools/entropy_floors.py [--samples 20000]
"""

from __future__ import annotations

import argparse
import random
import string
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.security.entropy import shannon

ALPHABETS = {"hex": "0123456789abcdef", "base36": string.ascii_lowercase + string.digits}
LENGTHS = range(8, 65)
QUANTILE = 0.001


def floors(alphabet: str, samples: int, rng: random.Random) -> list[float]:
    out = []
    for n in LENGTHS:
        values = sorted(shannon("".join(rng.choices(alphabet, k=n))) for _ in range(samples))
        out.append(round(values[int(QUANTILE * samples)], 2))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=20_000)
    args = ap.parse_args()
    rng = random.Random(20261203)
    span = f"{LENGTHS.start}..{LENGTHS.stop - 1}"
    print(f"# lengths {span}, {QUANTILE:.1%} quantile, {args.samples} samples")
    for name, alphabet in ALPHABETS.items():
        print(f"{name!r}: {tuple(floors(alphabet, args.samples, rng))},")


if __name__ == "__main__":
    main()
