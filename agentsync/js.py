"""JavaScript semantics the client relies on: whitespace, trim, truthiness, length, object keys."""

from __future__ import annotations

import math
from typing import Any

# JavaScript's `\s` (what the client's regexes use), which differs from Python's.
JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_WS_CHARS = frozenset(
    "\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)
JS_LINE_END = "\n\r\u2028\u2029"  # what JavaScript's `.` refuses to match


def js_trim(text: str) -> str:
    """JavaScript's String.prototype.trim."""
    return text.strip("".join(_JS_WS_CHARS))


def utf16_len(text: str) -> int:
    """JavaScript's `length`: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def js_truthy(value: Any) -> bool:
    """Whether JavaScript takes `value` (as the YAML parser built it) as true."""
    if isinstance(value, float) and math.isnan(value):
        return False
    return value is not None and value is not False and value not in ("", 0)


def js_key(key: Any) -> str:
    """Object keys are strings in JavaScript: `true: x` has the key "true"."""
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, list):
        return ",".join("" if k is None else js_key(k) for k in key)
    if isinstance(key, dict):
        return "[object Object]"
    return str(key)
