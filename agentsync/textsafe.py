"""Making untrusted text safe to show on a terminal: control characters shown escaped."""

from __future__ import annotations

import re

# What a terminal acts on or a reader cannot see: C0 controls (ESC starts every escape
# sequence: title, clipboard, erase, cursor moves), DEL, C1 controls (U+009B is a one-byte
# CSI, U+009D an OSC), the line and paragraph separators, the bidi controls (they reorder
# what the reader sees), and lone surrogates (a file name that is not UTF-8 cannot be
# written to the terminal at all). Tab, newline and the CR of a CRLF are layout, not commands.
_ALWAYS = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
)
# Characters a reader does not see at all (zero-width spaces, word joiners, fillers, tag
# characters): shown escaped too, so `Read` and `Read\u200b` never look the same. The
# joiner and variation selectors that glue emoji together are left as they are.
_INVISIBLE = (
    "\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u2060-\u2064\u206a-\u206f"
    "\u2800\u3164\ufeff\uffa0\ufff9-\ufffb"
)
_INVISIBLE_ASTRAL = "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e007f"
_HIDDEN = _ALWAYS + _INVISIBLE + _INVISIBLE_ASTRAL
# A CR not followed by LF sends the cursor back over the line: what follows overwrites it.
_MULTILINE = re.compile(f"[{_HIDDEN}]|\r(?!\n)")
_ONE_LINE = re.compile(f"[{_HIDDEN}\n\r]")
_IN_JSON = re.compile(f"[{_ALWAYS}{_INVISIBLE}]")  # \uXXXX reaches the BMP only
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")

_SHORT = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: str, *, newlines: bool = True) -> str:
    """`text` with every terminal-significant character shown as a `\\x1b` or `\\u202e`
    escape; tabs, newlines (unless `newlines` is false) and CRLF line ends are kept."""
    return (_MULTILINE if newlines else _ONE_LINE).sub(_escape, text)


def inline(text: str) -> str:
    """`text` made printable and kept on one line: a value inside a record (a name, a path,
    a tool name, a table cell) whose newline would otherwise forge a line of its own."""
    return _ONE_LINE.sub(_escape, text)


def json_text(document: str) -> str:
    """A JSON document with the same characters written as `\\uXXXX` escapes.

    `json.dumps` escapes C0 controls but leaves DEL, C1, bidi controls and separators raw;
    they only ever occur inside strings, so the escaped document decodes to the same data.
    """
    return _IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def lines(text: str) -> list[str]:
    """`text` split after each LF only, ends kept, for a diff a person reads.

    `str.splitlines` also breaks at a lone CR, VT, FF, NEL and U+2028: a diff built on it
    shows them as line breaks, where `printable` would show them escaped inside their line.
    """
    return _LINE.findall(text)
