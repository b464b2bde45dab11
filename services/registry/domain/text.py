"""Text normalisation for searching and sorting organisation names.

FerretDB 1.x has no text indexes or collations, so the registry stores a normalised copy of
the names (lower case, no accents, no punctuation) and searches it with plain regexes; the
query goes through the same function, so "Fundacion" finds "Fundación".
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_text"]

_NOT_WORD = re.compile(r"[^\w]+|_+")


def normalize_text(text: str) -> str:
    """Lower case, accents and ñ→n stripped, punctuation as spaces, single spaces, trimmed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", bare).split())
