"""Local edits as an exact line patch against the upstream file: made, applied and checked.

The lock records a merged agent's local edits as such a patch, so the bytes on disk are tied
to the upstream blob: anyone can rebuild them from the commit plus the patch, and a lock whose
hash was edited by hand (to bless a tampered file) no longer matches what the patch yields.
A reviewer also reads the edits themselves in `git diff agentsync.lock`, not only a hash.
"""

from __future__ import annotations

import base64
import difflib
import re
from collections.abc import Sequence

# One list element per patch line. Lines keep everything but their final "\n" (a CRLF line
# ends in "\r"); a last line without a newline is followed by this marker, as in `diff -u`.
NO_NEWLINE = "\\ No newline at end of file"
# Bytes that are not UTF-8 cannot be TOML strings: such a file is recorded whole, in base64.
BASE64_HEAD = "#base64"
_CONTEXT = 2
_HUNK = re.compile(r"@@ -(\d+),(\d+) \+(\d+),(\d+) @@\Z")
_LINE = re.compile(rb"[^\n]*\n|[^\n]+\Z")


class PatchError(ValueError):
    """A patch that does not apply exactly to the base it claims."""


def _lines(data: bytes) -> list[bytes]:
    return _LINE.findall(data)


def _decoded(lines: list[bytes]) -> list[str] | None:
    try:
        return [line.decode("utf-8") for line in lines]
    except UnicodeDecodeError:
        return None


def make_patch(base: bytes, new: bytes) -> tuple[str, ...]:
    """The patch that turns `base` into `new` (deterministic: equal inputs, equal patch)."""
    old_lines, new_lines = _lines(base), _lines(new)
    old_text, new_text = _decoded(old_lines), _decoded(new_lines)
    if old_text is None or new_text is None:
        encoded = base64.b64encode(new).decode("ascii")
        return (BASE64_HEAD, *(encoded[i : i + 76] for i in range(0, len(encoded), 76)))
    matcher = difflib.SequenceMatcher(None, old_text, new_text, autojunk=False)
    patch: list[str] = []
    for group in matcher.get_grouped_opcodes(_CONTEXT):
        first, last = group[0], group[-1]
        patch.append(_header(first[1], last[2], first[3], last[4]))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                patch += _marked(" ", old_text[i1:i2])
                continue
            patch += _marked("-", old_text[i1:i2])
            patch += _marked("+", new_text[j1:j2])
    return tuple(patch)


def _header(i1: int, i2: int, j1: int, j2: int) -> str:
    return f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@"


def _range(start: int, stop: int) -> str:
    # unified-diff convention: an empty range names the line before it
    length = stop - start
    return f"{start + 1 if length else start},{length}"


def _marked(prefix: str, lines: Sequence[str]) -> list[str]:
    out = []
    for line in lines:
        out.append(prefix + line.removesuffix("\n"))
        if not line.endswith("\n"):
            out.append(NO_NEWLINE)
    return out


def apply_patch(base: bytes, patch: Sequence[str]) -> bytes:
    """`base` with `patch` applied; PatchError unless every context and removed line matches."""
    if patch and patch[0] == BASE64_HEAD:
        try:
            data = base64.b64decode("".join(patch[1:]).encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError) as exc:
            raise PatchError("the base64 content is not valid") from exc
        if _decoded(_lines(base)) is not None and _decoded(_lines(data)) is not None:
            # Text must be recorded as readable lines, so a review of the lock sees the edits.
            raise PatchError("a whole file in base64 is only for bytes that are not UTF-8")
        return data
    old = _lines(base)
    out: list[bytes] = []
    pos = 0
    index = 0
    while index < len(patch):
        header = _HUNK.match(patch[index])
        if header is None:
            raise PatchError(f"line {index + 1} of the patch is not a hunk header")
        start, length, _new_start, new_length = (int(g) for g in header.groups())
        begin = start - 1 if length else start
        if begin < pos or begin > len(old):
            raise PatchError(f"hunk {patch[index]!r} does not fit the upstream file")
        out += old[pos:begin]
        pos = begin
        index, pos, removed, added = _apply_hunk(patch, index + 1, old, pos, out)
        if removed != length or added != new_length:
            raise PatchError(f"hunk {patch[index - 1]!r}: line counts do not match")
    out += old[pos:]
    return b"".join(out)


def _apply_hunk(
    patch: Sequence[str], index: int, old: list[bytes], pos: int, out: list[bytes]
) -> tuple[int, int, int, int]:
    """Apply one hunk's lines; returns (next index, base position, base lines, new lines)."""
    seen_old = seen_new = 0
    while index < len(patch) and not patch[index].startswith("@@"):
        element = patch[index]
        index += 1
        ends = not (index < len(patch) and patch[index] == NO_NEWLINE)
        if not ends:
            index += 1
        prefix, text = element[:1], element[1:].encode("utf-8")
        line = text + b"\n" if ends else text
        if prefix in (" ", "-"):
            if pos >= len(old) or old[pos] != line:
                raise PatchError(f"base line {pos + 1} is not what the patch expects")
            pos += 1
            seen_old += 1
        if prefix in (" ", "+"):
            if prefix == "+":
                out.append(line)
            else:
                out.append(old[pos - 1])
            seen_new += 1
        elif prefix != "-":
            raise PatchError(f"patch line {element!r} has no ' ', '-' or '+' prefix")
    return index, pos, seen_old, seen_new


def unified(before: bytes, after: bytes, fromfile: str, tofile: str) -> str:
    """A unified diff of two files' text, "" when they are the same; like git, a last line
    without a newline is followed by `\\ No newline at end of file`, so that a change of only
    the final newline shows, and the diff applies with `patch`."""
    from agentsync.textsafe import lines

    diff = difflib.unified_diff(
        lines(before.decode("utf-8", errors="replace")),
        lines(after.decode("utf-8", errors="replace")),
        fromfile=fromfile,
        tofile=tofile,
    )
    return "".join(line if line.endswith("\n") else f"{line}\n{NO_NEWLINE}\n" for line in diff)
