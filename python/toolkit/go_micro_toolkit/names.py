"""Tool names every model API accepts (``^[a-zA-Z0-9_-]{1,64}$``) for go-micro's dotted ones.

A name that is already safe is kept. Otherwise characters outside ``[a-zA-Z0-9_-]`` become
``_``; a name that then collides with another, runs over 64 characters, or ends like a hashed
name ends in ``_`` and 8 hex digits of a hash of the original instead, so each stays unique and
the same from run to run. It is the rule the engine's ``--safe-names`` follows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

SAFE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_LEN = 64
_UNSAFE_CHAR = re.compile(r"[^a-zA-Z0-9_-]")
_HASHED_TAIL = re.compile(r"_[0-9a-fA-F]{8}$")


def is_safe(name: str) -> bool:
    """True for a name every model API accepts."""
    return bool(SAFE.match(name))


def safe_names(names: Iterable[str]) -> list[str]:
    """A safe, unique name for each of ``names`` (unique themselves), in the same order."""
    names = list(names)
    plain = [name if is_safe(name) else _UNSAFE_CHAR.sub("_", name) for name in names]
    counts = Counter(plain)
    out = []
    for original, name in zip(names, plain, strict=True):
        kept = name == original
        if counts[name] == 1 and len(name) <= MAX_LEN and (kept or not _HASHED_TAIL.search(name)):
            out.append(name)
            continue
        suffix = f"_{_fnv1a(original) & 0xFFFFFFFF:08x}"
        out.append(name[: MAX_LEN - len(suffix)] + suffix)
    return out


def _fnv1a(text: str) -> int:
    """FNV-1a, 64 bits: a stable hash for name suffixes."""
    value = 0xCBF29CE484222325
    for byte in text.encode():
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value
