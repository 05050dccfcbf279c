"""Vietnamese text helpers: accent-insensitive matching and sorting."""

from __future__ import annotations

import functools
import re
import unicodedata

_SPACES = re.compile(r"\s+")


def _strip_marks(char: str) -> str:
    base = unicodedata.normalize("NFD", char)
    return "".join(c for c in base if not unicodedata.combining(c))


# Đ/đ is a letter of its own, not d with a mark, so NFD leaves it: map it by hand.
# One translation table for every Latin letter with marks: folding thousands of
# names (a province's units) must be cheap.
_FOLD_TABLE = {
    ord(char): _strip_marks(char)
    for char in map(chr, range(0xC0, 0x1F00))
    if unicodedata.category(char).startswith("L") and _strip_marks(char) != char
} | {ord("Đ"): "D", ord("đ"): "d"}


@functools.lru_cache(maxsize=2**18)
def fold(text: str) -> str:
    """Lower case without accents or repeated spaces: "Quảng  Bình" -> "quang binh".

    Cached: a dashboard folds the same unit names on every load. The cache holds a
    national tree's names (about 100.000): a smaller one, read in a cycle, never hits."""
    text = unicodedata.normalize("NFC", text).translate(_FOLD_TABLE)
    # Marks typed as separate combining characters survive NFC only when nothing
    # precomposed exists; drop them too.
    if not text.isascii():
        text = "".join(c for c in text if not unicodedata.combining(c))
    return _SPACES.sub(" ", text).strip().casefold()


def sort_key(text: str) -> tuple[str, str]:
    """Orders names the way a reader expects: by letters first, accents second."""
    return fold(text), text
