"""Identifier types shared by every layer: requested refs, resolved commits, blob ids, hashes."""

from __future__ import annotations

import hashlib
from typing import NewType

RefName = NewType("RefName", str)  # what the user asked for: branch, tag, short or full commit
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


def is_full_commit(text: str) -> bool:
    """True for a 40-hex lowercase commit id."""
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)


def short(commit: str) -> str:
    """The 7-character form of a commit id, for display."""
    return commit[:7]
