"""Free text understood: which service a text without a keyword names, where, and in which
language it is written.

* **Service**: the catalog's words for each service in each language (``terms``, plus its
  name) are matched against the text with rapidfuzz, so typos still match ("hamtats",
  "pothle"): a term of one word against each word of the text (``fuzz.ratio``), a term of
  several words against the best-matching stretch of the text (``fuzz.partial_ratio``). Terms
  shorter than five letters match only exactly. The best score at or above ``THRESHOLD``
  wins; none, and the text names no service.
* **Address**: for a service with a location attribute, the first street address in the text
  (capitalised words before a house number, ``Sopvägen 3``, ``Main Road 5``; else the word
  before a house number). None found: the question names only the service, and the address
  is asked for after the yes.
* **Language**: the pack (``detect`` words) and catalog words of each language that the text's
  words match (fuzzy, as above); the language with the most wins, a tie is undecided.

Nothing here files anything: the dialogue asks the citizen first and files on their yes.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from functions.platform.texts import packs
from schemas.catalog import Catalog, Service

THRESHOLD = 85
SHORT = 5  # terms (and words) shorter than this match only exactly

_WORD = re.compile(r"[^\W\d_][\w'-]*|\d+", re.UNICODE)
_NUMBER = r"\d+(?:-\d+)?(?:\s?[A-Za-z](?![\w]))?"
_CAPITALISED_ADDRESS = re.compile(
    rf"(?P<address>(?:[A-ZÅÄÖÜÉ][\w.'-]*\s+){{1,4}}{_NUMBER})", re.UNICODE
)
_ANY_ADDRESS = re.compile(rf"(?P<address>[^\W\d_][\w.'-]{{2,}}\s+{_NUMBER})", re.UNICODE)


class Guess(NamedTuple):  # not a dataclass: ~6x cheaper at import (docs/performance.md)
    """What a free text seems to ask for: a service, and the attributes read from the text."""

    service: Service
    language: str
    score: float
    attributes: dict[str, str]
    rest: str = ""


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _term_score(term: str, text: str, tokens: list[str]) -> float:
    from rapidfuzz import fuzz  # noqa: PLC0415 - only a text without a keyword needs it

    term = term.lower().strip()
    if " " in term:
        if len(term) < SHORT or len(text) < len(term):  # the term is the needle, never the text
            return 100.0 if term == text else 0.0
        return float(fuzz.partial_ratio(term, text, score_cutoff=THRESHOLD))
    if len(term) < SHORT:
        return 100.0 if term in tokens else 0.0
    best = 0.0
    for token in tokens:
        if len(token) >= SHORT - 1:
            best = max(best, float(fuzz.ratio(term, token, score_cutoff=THRESHOLD)))
    return best


def vocabulary(catalog: Catalog) -> dict[str, set[str]]:
    """Every language's words: its pack's ``detect`` words and the catalog's texts in it."""
    out: dict[str, set[str]] = {code: set() for code in packs()}
    for code, pack in packs().items():
        out[code].update(w.lower() for w in pack.get("detect", ()))
    for service in catalog.services:
        for code, terms in service.terms.items():
            out.setdefault(code, set()).update(w for t in terms for w in words(t))
        for code, name in service.name.items():
            out.setdefault(code, set()).update(words(name))
    return out


def detect_language(text: str, catalog: Catalog) -> str | None:
    """The language ``text`` is most likely written in, or None when nothing tells."""
    tokens = [t for t in words(text) if not t.isdigit()]
    if not tokens:
        return None
    scores: dict[str, int] = {}
    for code, vocab in vocabulary(catalog).items():
        scores[code] = sum(1 for t in tokens if _known(t, vocab))
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or ranked[0][1] == 0 or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
        return None
    return ranked[0][0]


def _known(token: str, vocab: set[str]) -> bool:
    if token in vocab:
        return True
    if len(token) < SHORT:
        return False
    from rapidfuzz import fuzz, process  # noqa: PLC0415 - only a text without a keyword needs it

    return process.extractOne(token, vocab, scorer=fuzz.ratio, score_cutoff=THRESHOLD) is not None


def find_address(text: str) -> str | None:
    """The first street address in ``text``: capitalised words and a house number, else a
    word and a house number."""
    for pattern in (_CAPITALISED_ADDRESS, _ANY_ADDRESS):
        match = pattern.search(text)
        if match:
            return match.group("address").strip(" ,.;:")
    return None


def keyword_in_prose(service: Service, language: str, rest: str) -> Guess | None:
    """A keyword that opens a sentence (``sopor har inte hämtats på Sopvägen 3``): the text
    after it holds an address, but not first, as the keyword grammar wants it. Then it is
    free text naming the keyword's service (a question, not a filing); else None."""
    location = next((a for a in service.attributes if a.location), None)
    address = find_address(rest) if location else None
    if location is None or not address or rest.startswith(address):
        return None
    if location.problem(address) is not None:
        return None
    left = " ".join(rest.replace(address, " ").split()).strip(" ,.;:")
    return Guess(service, language, 100.0, {location.code: address}, left)


def understand(text: str, catalog: Catalog) -> Guess | None:
    """The service ``text`` names (and its address), or None when it names none."""
    lowered = " ".join(text.lower().split())
    tokens = words(text)
    best: Guess | None = None
    for service in catalog.services:
        candidates = [(code, t) for code, terms in service.terms.items() for t in terms]
        candidates += service.name.items()
        for code, term in candidates:
            score = _term_score(term, lowered, tokens)
            if score >= THRESHOLD and (best is None or score > best.score):
                best = Guess(service=service, language=code, score=score, attributes={})
    if best is None:
        return None
    attributes: dict[str, str] = {}
    rest = text
    location = next((a for a in best.service.attributes if a.location), None)
    address = find_address(text) if location else None
    if location and address and location.problem(address) is None:
        attributes[location.code] = address
        rest = text.replace(address, " ")
    rest = " ".join(rest.split()).strip(" ,.;:")
    return Guess(best.service, best.language, best.score, attributes, rest)
