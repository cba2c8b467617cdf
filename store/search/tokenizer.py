"""The lexical index's tokenizer: the words `bm25s.tokenize` makes (its pattern, its English stop words dropped,
Snowball stems), and what a saved index records of it so that a different tokenizer does not read it."""

import functools
import hashlib
import re
from importlib import metadata
from typing import Any

_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s.tokenize's default pattern


@functools.cache
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def words(stem: Any, text: str) -> list[str]:
    """The stemmed terms of `text` with repeats, exactly as bm25s.tokenize makes them with the stemmer `stem`."""
    return list(stem.stemWords([w for w in _TOKEN.findall(text.lower()) if w not in _stopwords()]))


def fingerprint() -> dict[str, Any]:
    """The tokenizer as a saved index's signature names it: the pattern, the stop words (hashed) and the stemmer."""
    stopwords = hashlib.sha256("\n".join(sorted(_stopwords())).encode()).hexdigest()[:16]
    return {
        "pattern": _TOKEN.pattern,
        "stopwords": stopwords,
        "stemmer": f"PyStemmer {metadata.version('PyStemmer')} english",
    }
