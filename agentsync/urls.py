"""Source locations: which git URLs and paths are allowed, and how credentials are removed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# git transports agentsync lets git use (also passed to git as GIT_ALLOW_PROTOCOL).
ALLOWED_SCHEMES = ("https", "ssh", "git", "file")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_TRANSPORT = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)::")  # git's `<transport>::<address>`
_SCP_LIKE = re.compile(r"^(?:[^@/:\s]+@)?[A-Za-z0-9.-]+:(?!//)[^\s]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UrlRejected(ValueError):
    """A source location agentsync refuses to hand to git; the message says why."""


@dataclass(frozen=True)
class Location:
    """A checked source location: `kind` is a scheme, "scp" or "path"; `git_url` goes to git."""

    kind: str
    git_url: str
    display: str  # credential-free, safe to print and to write into the lock


def parse_location(text: str, base: Path) -> Location:
    """Check `text` (as written in the manifest) and make it absolute against `base`."""
    if not text or text != text.strip():
        raise UrlRejected("a source URL must be non-empty and have no surrounding spaces")
    if text.startswith("-"):
        raise UrlRejected("a source URL may not start with '-' (git would read it as an option)")
    if _CONTROL.search(text):
        raise UrlRejected("a source URL may not contain control characters or newlines")
    if _TRANSPORT.match(text):
        helper = text.split("::", maxsplit=1)[0]
        raise UrlRejected(f"git remote helpers ('{helper}::') are not allowed")
    scheme = _SCHEME.match(text)
    if scheme:
        return _parse_scheme_url(text, scheme.group(1).lower())
    if _SCP_LIKE.match(text) and not Path(text).exists() and not text.startswith((".", "/")):
        return Location("scp", text, redact(text))
    path = Path(text).expanduser()
    absolute = path if path.is_absolute() else (base / path)
    resolved = absolute.resolve()
    return Location("path", str(resolved), text)


def _parse_scheme_url(text: str, scheme: str) -> Location:
    if scheme not in ALLOWED_SCHEMES:
        raise UrlRejected(
            f"the '{scheme}' transport is not allowed; use one of: {', '.join(ALLOWED_SCHEMES)}"
        )
    parts = urlsplit(text)
    if scheme != "file" and not parts.hostname:
        raise UrlRejected("the URL has no host name")
    if scheme == "file" and not parts.path:
        raise UrlRejected("a file:// URL needs a path")
    if (parts.hostname or "").startswith("-") or (parts.username or "").startswith("-"):
        # git blocks these too; refusing here keeps `ssh://-oProxyCommand=...` out of git at all.
        raise UrlRejected("a host or user name may not start with '-' (ssh would read an option)")
    return Location(scheme, text, redact(text))


def redact(url: str) -> str:
    """`url` without credentials: no user info over https/git/file, no password over ssh."""
    scheme = _SCHEME.match(url)
    if not scheme:
        return url  # scp-like `user@host:path` carries a login name, never a secret
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if scheme.group(1).lower() == "ssh":
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{hostport}" if user else hostport
    else:
        netloc = hostport
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact_text(text: str, secret_url: str) -> str:
    """Replace every appearance of `secret_url` (and its user info) in `text` by its safe form."""
    safe = redact(secret_url)
    if safe == secret_url:
        return text
    text = text.replace(secret_url, safe)
    userinfo = urlsplit(secret_url).netloc.rpartition("@")[0]
    return text.replace(userinfo, "***") if userinfo else text
