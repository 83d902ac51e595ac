"""Identifier types shared by every layer: resolved commits, blob ids, hashes, safe names."""

from __future__ import annotations

import hashlib
import re
from typing import NewType

Commit = NewType("Commit", str)  # a resolved, full 40-hex commit id
BlobId = NewType("BlobId", str)  # a git blob id (40 hex)
Sha256 = NewType("Sha256", str)  # 64 lowercase hex of bytes written to disk


def blob_id(data: bytes) -> BlobId:
    """The git blob id of `data`, computed without running git."""
    return BlobId(object_id("blob", data))


def object_id(kind: str, data: bytes) -> str:
    """The git id of an object of type `kind` ("blob", "tree", "commit") holding `data`."""
    header = b"%s %d\0" % (kind.encode(), len(data))
    return hashlib.sha1(header + data, usedforsecurity=False).hexdigest()


def sha256(data: bytes) -> Sha256:
    """The lowercase hex sha256 of `data`."""
    return Sha256(hashlib.sha256(data).hexdigest())


_HEX = re.compile(r"[0-9a-f]+")


def is_hex_id(text: str, size: int) -> bool:
    """True for exactly `size` lowercase hex characters (40: a git id, 64: a sha256)."""
    return len(text) == size and _HEX.fullmatch(text) is not None


def is_object_id(text: str) -> bool:
    """True for a git object id as git prints one: 40 lowercase hex (commit, tree or blob)."""
    return is_hex_id(text, 40)


def is_full_commit(text: str) -> bool:
    """True for a full commit id (40 lowercase hex), as a lock records and git prints it."""
    return is_object_id(text)


def full_commit(text: str) -> Commit | None:
    """The commit a 40-hex id names, in lowercase (git reads either case), else None."""
    lowered = text.lower()
    return Commit(lowered) if is_full_commit(lowered) else None


def short(commit: str) -> str:
    """The 7-character form of a commit id, for display."""
    return commit[:7]


# Installed agent names and source names become file and folder names: letters, digits, '.',
# '_' and '-', never starting with '.' or '-' (so `../../x` or `-rf` can never be one).
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# Windows opens these devices instead of a file, whatever the extension ("nul.md" is NUL),
# so a lock holding one could not be installed there.
_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{port}{n}" for port in ("COM", "LPT") for n in range(10)}
)


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a file name on every platform, or None when it can."""
    if not _SAFE_NAME.fullmatch(name):
        return "use letters, digits, '.', '_' and '-', starting with a letter or digit"
    if name.split(".", 1)[0].upper() in _DEVICE_NAMES:
        return f"{name.split('.', 1)[0]!r} is a device name on Windows, which cannot be a file"
    return None


def is_safe_name(name: str) -> bool:
    """True when `name` can be an installed file name (or source name) on every platform."""
    return name_problem(name) is None
