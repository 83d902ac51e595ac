"""Content a reviewer can miss in an agent file: merge conflict markers and hidden characters.

Both scans look at the whole file, frontmatter and body, because Claude Code hands all of
the body to the model as the prompt: what an editor or a review diff does not show still
reaches it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# --- merge conflict markers -------------------------------------------------------------

# A marker is exactly seven characters at the start of a line: `<<<<<<<` and `>>>>>>>`
# followed by a space (the label) or the end of the line, `=======` alone. A lone
# `=======` is also a setext heading underline, so only the whole sequence counts.
# Fenced code lines are matched too, so that an example conflict in a fence is skipped.
_MARKER_LINES = re.compile(
    rb"^(?:(?P<open><{7})(?: |\r?$)|(?P<sep>={7})[ \t\r]*$|(?P<close>>{7})(?: |\r?$)"
    rb"|(?P<fence> {0,3}(?:`{3,}|~{3,}))(?P<info>[^\n]*)$)",
    re.MULTILINE,
)


def conflict_marker_line(data: bytes) -> int | None:
    """The 1-based line of the first `<<<<<<<` of an unresolved merge conflict, else None.

    A conflict is `<<<<<<<`, later `=======` (a diff3 `|||||||` base section may come
    between), later `>>>>>>>`. A block that lies wholly inside one fenced code block is an
    example (an agent that explains merge conflicts), not a conflict: it is skipped.
    """
    if b"<<<<<<<" not in data:
        return None  # no conflict opens without one (most files: no scan at all)
    fences = 0  # fenced code blocks opened so far
    fence: tuple[int, bytes] | None = None  # the one we are inside: its number and marks
    start: tuple[int, int | None] | None = None  # a pending `<<<<<<<`: offset, its fence
    separated = False
    for match in _MARKER_LINES.finditer(data):
        if match.group("fence") is not None:
            marks = match.group("fence").lstrip(b" ")
            if fence is None and not (marks[:1] == b"`" and b"`" in match.group("info")):
                fences += 1  # (a backtick fence's info string never holds a backtick)
                fence = (fences, marks)
            elif fence is not None and _closes(fence[1], marks, match.group("info")):
                fence = None
        elif match.group("open") is not None:
            if start is None:
                start, separated = (match.start(), fence[0] if fence else None), False
        elif start is not None and match.group("sep") is not None:
            separated = True
        elif start is not None and match.group("close") is not None and separated:
            if fence is None or start[1] != fence[0]:
                return 1 + data.count(b"\n", 0, start[0])
            start = None  # a whole example inside one fence
    return None


def _closes(opening: bytes, marks: bytes, info: bytes) -> bool:
    """CommonMark: a closing fence repeats the opening character at least as often."""
    return marks[:1] == opening[:1] and len(marks) >= len(opening) and not info.strip()


# --- invisible and direction-changing characters ------------------------------------------

# (first, last, what it is): characters that show as nothing, or silently reorder the
# text around them, in editors and review diffs, while the model reads them. Tag
# characters are the known carrier of hidden instructions: each one mirrors an ASCII
# character. The soft hyphen is here too: it shows only where a typesetter breaks a line,
# so `ig<SHY>nore` reads as "ignore" to a person and not to a search or a filter, and a
# prompt has no use for hyphenation hints.
_HIDDEN_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0085, 0x0085, "next line (not a line break to an editor)"),
    (0x00AD, 0x00AD, "soft hyphen"),
    (0x034F, 0x034F, "combining grapheme joiner"),
    (0x061C, 0x061C, "Arabic letter mark"),
    (0x115F, 0x1160, "Hangul filler"),
    (0x17B4, 0x17B5, "Khmer inherent vowel"),
    (0x180E, 0x180E, "Mongolian vowel separator"),
    (0x200B, 0x200B, "zero-width space"),
    (0x200C, 0x200C, "zero-width non-joiner"),
    (0x200D, 0x200D, "zero-width joiner"),
    (0x200E, 0x200E, "left-to-right mark"),
    (0x200F, 0x200F, "right-to-left mark"),
    (0x202A, 0x202A, "left-to-right embedding"),
    (0x202B, 0x202B, "right-to-left embedding"),
    (0x202C, 0x202C, "pop directional formatting"),
    (0x202D, 0x202D, "left-to-right override"),
    (0x202E, 0x202E, "right-to-left override"),
    (0x2028, 0x2029, "line or paragraph separator"),
    (0x2060, 0x2060, "word joiner"),
    (0x2061, 0x2064, "invisible operator"),
    (0x2065, 0x2065, "unassigned format character"),
    (0x2066, 0x2066, "left-to-right isolate"),
    (0x2067, 0x2067, "right-to-left isolate"),
    (0x2068, 0x2068, "first strong isolate"),
    (0x2069, 0x2069, "pop directional isolate"),
    (0x206A, 0x206F, "deprecated format character"),
    (0x2800, 0x2800, "braille blank"),
    (0x3164, 0x3164, "Hangul filler"),
    (0xFEFF, 0xFEFF, "zero-width no-break space"),
    (0xFFA0, 0xFFA0, "Hangul filler"),
    (0xFFF9, 0xFFFB, "interlinear annotation"),
    (0x1BCA0, 0x1BCA3, "shorthand format control"),
    (0x1D173, 0x1D17A, "musical formatting character"),
    (0xE0000, 0xE007F, "tag characters"),
    # Variation selectors: one after a character picks its glyph (U+FE0F makes an emoji
    # colourful) and is fine; a run of them shows as nothing and can carry data.
    (0xFE00, 0xFE0F, "variation selectors"),
    (0xE0100, 0xE01EF, "variation selectors"),
)
_HIDDEN = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b, _ in _HIDDEN_RANGES) + "]")
_VARIATION_SELECTORS = frozenset([*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])
_SKIN_TONES = range(0x1F3FB, 0x1F400)
# Scripts whose spelling uses the zero-width (non-)joiner between letters: Hebrew to
# N'Ko and Arabic (Persian writes ZWNJ in many words), the Indic scripts, Tibetan,
# Myanmar, Khmer, Mongolian, and the Arabic presentation forms.
_JOINING_SCRIPTS = (
    (0x0590, 0x08FF),
    (0x0900, 0x0DFF),
    (0x0F00, 0x109F),
    (0x1780, 0x18AF),
    (0xA8E0, 0xA8FF),
    (0xFB1D, 0xFDFF),
    (0xFE70, 0xFEFE),
)
# A subdivision flag (England, Scotland, Wales): U+1F3F4, tag letters, CANCEL TAG.
_FLAG_TAGS = re.compile("\U0001f3f4([\U000e0030-\U000e0039\U000e0061-\U000e007a]{1,6}\U000e007f)")
_MAX_LISTED = 6  # code points named per line; the rest are summed up
_MAX_HIDDEN_TEXT = 60


@dataclass(frozen=True)
class HiddenCharacters:
    """The hidden characters of one line, in order of appearance (repeats included)."""

    line: int  # 1-based
    code_points: tuple[int, ...]

    def describe(self) -> str:
        """E.g. `U+E0049, U+E0067, … (tag characters spelling 'Ignore…'), U+202E (...)`."""
        groups: dict[str, list[int]] = {}
        for point in dict.fromkeys(self.code_points):
            groups.setdefault(_kind(point), []).append(point)
        parts: list[str] = []
        listed = 0
        for kind, points in groups.items():
            if listed >= _MAX_LISTED:
                break
            shown = points[: _MAX_LISTED - listed]
            listed += len(shown)
            more = ", …" if len(shown) < len(points) else ""
            names = ", ".join(f"U+{p:04X}" for p in shown)
            parts.append(f"{names}{more} ({self._label(kind)})")
        left = len(groups) - len(parts)
        if left:
            parts.append(f"and {left} more kind{'s' if left > 1 else ''}")
        return ", ".join(parts)

    def _label(self, kind: str) -> str:
        """Tag characters mirror ASCII: say what they spell, since that is the payload."""
        if kind != "tag characters":
            return kind
        text = "".join(chr(p - 0xE0000) for p in self.code_points if 0xE0020 <= p <= 0xE007E)
        if not text.strip():
            return kind
        if len(text) > _MAX_HIDDEN_TEXT:
            text = text[: _MAX_HIDDEN_TEXT - 1] + "…"
        return f"{kind} spelling {text!r}"


def _kind(point: int) -> str:
    return next(kind for first, last, kind in _HIDDEN_RANGES if first <= point <= last)


def hidden_characters(text: str) -> list[HiddenCharacters]:
    """Each line of `text` that holds invisible or direction-changing characters.

    Left alone: a byte order mark at offset 0 (reported on its own), one variation
    selector right after a character, a single joiner inside an emoji sequence (man, ZWJ,
    laptop) or between two letters of a script that spells with it, and the tags of a
    subdivision flag.
    """
    if text.isascii():
        return []  # every character listed is past ASCII (most files: no scan at all)
    found: dict[int, list[int]] = {}
    flag_tags = _flag_tag_offsets(text)
    line, counted_to = 1, 0
    for match in _HIDDEN.finditer(text):
        at = match.start()
        if at in flag_tags or _is_legitimate(text, at):
            continue
        line += text.count("\n", counted_to, at)
        counted_to = at
        found.setdefault(line, []).append(ord(text[at]))
    return [HiddenCharacters(line, tuple(points)) for line, points in found.items()]


def _is_legitimate(text: str, at: int) -> bool:
    point = ord(text[at])
    if point == 0xFEFF:
        return at == 0
    if point in _VARIATION_SELECTORS:
        return at > 0 and text[at - 1] not in "\r\n" and not _HIDDEN.match(text, at - 1)
    if point in (0x200C, 0x200D) and 0 < at < len(text) - 1:
        return _joins(text, at)
    return False


def _joins(text: str, at: int) -> bool:
    """A single joiner between two emoji (ZWJ only) or two letters of a joining script."""
    before, after = text[at - 1], text[at + 1]
    if _in_joining_script(before) and _in_joining_script(after):
        return True
    if ord(text[at]) != 0x200D:
        return False
    back = at - 1
    while back > 0 and (ord(text[back]) in _VARIATION_SELECTORS or ord(text[back]) in _SKIN_TONES):
        back -= 1
    return _is_emoji(text[back]) and _is_emoji(after)


def _is_emoji(char: str) -> bool:
    return 0x1F000 <= ord(char) <= 0x1FAFF or unicodedata.category(char) == "So"


def _in_joining_script(char: str) -> bool:
    point = ord(char)
    return unicodedata.category(char)[0] in "LM" and any(
        first <= point <= last for first, last in _JOINING_SCRIPTS
    )


def _flag_tag_offsets(text: str) -> set[int]:
    if "\U0001f3f4" not in text:
        return set()
    offsets: set[int] = set()
    for match in _FLAG_TAGS.finditer(text):
        offsets.update(range(match.start(1), match.end(1)))
    return offsets
