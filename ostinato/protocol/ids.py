"""Ids derived from a seed, so that a replay derives the same ids."""

from __future__ import annotations

import hashlib

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def derived_id(seed: str) -> str:
    """A 22-character base62 id derived from `seed` (so a replay derives the same ids)."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:16], "big")
    out = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        out.append(_ALPHABET[digit])
    return "".join(out)
