"""Vietnamese text helpers: accent-insensitive matching and sorting."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case without accents or repeated spaces: "Quảng  Bình" -> "quang binh".

    Đ/đ is a letter of its own, not d with a mark, so NFD leaves it; map it by hand.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare).strip().casefold()


def sort_key(text: str) -> tuple[str, str]:
    """Orders names the way a reader expects: by letters first, accents second."""
    return fold(text), text
