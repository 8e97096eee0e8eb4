"""The one rule for text that enters the service: API bodies, query strings, import rows, forms.

Everything stored must be well-formed Unicode that PostgreSQL can hold: no NUL, and no lone
surrogates, which a JSON `\\ud800` escape or a byte that is not UTF-8 (read with
`surrogateescape`) leaves in a Python string and no database can encode. Nested data is capped in
depth, so that neither the parser nor anything walking it runs out of stack. Lengths are bounded
where the text arrives: bodies by size, each field by its schema.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Deeper than any document of the API (an object of lists of objects is three levels).
MAX_DEPTH = 32

NUL = "Text may not contain the NUL character (U+0000)."
NOT_UNICODE = (
    "Text must be well-formed UTF-8: no lone surrogates (U+D800 to U+DFFF), no invalid bytes."
)
TOO_DEEP = f"Nested more than {MAX_DEPTH} levels deep."
# Paths are reported, and stored with import row errors, at most this long.
MAX_PATH = 100

_SURROGATE = re.compile("[\ud800-\udfff]")


def fault(value: str) -> str | None:
    """Why this string may not enter, or None when it may."""
    if "\x00" in value:
        return NUL
    if _SURROGATE.search(value):
        return NOT_UNICODE
    return None


def faults(data: Any, max_depth: int = MAX_DEPTH) -> list[tuple[str, str]]:
    """`(path, why)` for every string of JSON-like `data` (keys too) that may not enter, and for
    nesting deeper than `max_depth`. Paths are dotted (`tags.0`, `headers.X-Key`); "" is the
    whole document."""
    found: list[tuple[str, str]] = []
    # Iterative, so that a deep document costs no stack.
    pending: list[tuple[str, Any, int]] = [("", data, 0)]
    while pending:
        path, value, depth = pending.pop()
        if isinstance(value, str):
            why = fault(value)
            if why:
                found.append((path, why))
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth >= max_depth:
            found.append((path, TOO_DEEP))
            continue
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            name = f"{path}.{shown(str(key))}" if path else shown(str(key))
            why = fault(key) if isinstance(key, str) else None
            if why:
                found.append((name, why))
            pending.append((name, item, depth + 1))
    return sorted((path[:MAX_PATH], why) for path, why in found)


def shown(key: str) -> str:
    """A key as a path names it: what may not be stored shows as U+FFFD."""
    return _SURROGATE.sub("\ufffd", key.replace("\x00", "\ufffd"))


def load_json(document: str | bytes) -> Any:
    """`json.loads`, with nesting too deep for the parser's stack refused like any bad JSON
    (a ValueError) rather than escaping as a RecursionError."""
    try:
        return json.loads(document)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None
