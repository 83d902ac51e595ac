"""The patches that record merged local edits in the lock: exact both ways, strict to apply."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from agentsync.patch import BASE64_HEAD, NO_NEWLINE, PatchError, apply_patch, make_patch

PIECES = [b"a\n", b"b\n", b"c\r\n", b"", b"d", b"\n", "é\n".encode(), b"\x1b[2K\n", b"x\ry\n"]


def test_random_pairs_round_trip_exactly() -> None:
    chance = random.Random(8)  # noqa: S311 - test data, not cryptography
    for _ in range(3000):
        base = b"".join(chance.choice(PIECES) for _ in range(chance.randrange(12)))
        new = b"".join(chance.choice(PIECES) for _ in range(chance.randrange(12)))
        assert apply_patch(base, make_patch(base, new)) == new, (base, new)


def test_a_patch_reads_as_a_diff() -> None:
    patch = make_patch(b"one\ntwo\nthree\n", b"one\n2\nthree")
    assert patch == ("@@ -1,3 +1,3 @@", " one", "-two", "-three", "+2", "+three", NO_NEWLINE)
    assert make_patch(b"same\n", b"same\n") == ()


def test_bytes_that_are_not_utf8_are_kept_whole() -> None:
    patch = make_patch(b"text\n", b"caf\xe9\n")
    assert patch[0] == BASE64_HEAD
    assert apply_patch(b"text\n", patch) == b"caf\xe9\n"


@pytest.mark.parametrize(
    "patch",
    [
        ("@@ -1,1 +1,1 @@", "-nope", "+yes"),  # removed line is not in the base
        ("@@ -1,1 +1,1 @@", " one", "+x"),  # counts do not match the header
        ("@@ -9,1 +9,1 @@", "-one", "+x"),  # past the end
        ("not a header",),
        ("@@ -1,1 +1,1 @@", "?one"),
        (BASE64_HEAD, "!!!"),
    ],
)
def test_a_patch_that_does_not_fit_its_base_is_refused(patch: tuple[str, ...]) -> None:
    with pytest.raises(PatchError):
        apply_patch(b"one\ntwo\n", patch)


def test_base64_cannot_hide_text_edits_from_a_review() -> None:
    """A forged lock could bless any text as one unreadable base64 blob: refused."""
    import base64

    hidden = base64.b64encode(b"---\nname: x\npermissionMode: bypassPermissions\n---\n").decode()
    with pytest.raises(PatchError, match="not UTF-8"):
        apply_patch(b"---\nname: x\n---\n", (BASE64_HEAD, hidden))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"one\ntwo", b"one\nthree\n"),  # the old side ends without a newline
        (b"one\ntwo\n", b"one\ntwo"),  # only the final newline goes
        (b"one\ntwo", b"one\ntwo\nthree"),  # neither side has one
    ],
)
def test_a_missing_final_newline_is_marked_as_git_marks_it(
    tmp_path: Path, before: bytes, after: bytes
) -> None:
    import subprocess

    from agentsync.patch import unified

    (tmp_path / "a").write_bytes(before)
    (tmp_path / "b").write_bytes(after)
    git = subprocess.run(
        ["git", "diff", "--no-index", "--no-color", "-U3", "a", "b"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    ours = unified(before, after, "a/x", "b/x")
    assert "\\ No newline at end of file\n" in ours
    # the hunks, from the first @@, are git's own
    assert ours[ours.index("@@") :] == git[git.index("@@") :]
