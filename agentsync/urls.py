"""Source locations: which git URLs and paths are allowed, and how credentials are removed."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from agentsync.gitenv import ALLOWED_SCHEMES, TOKEN_VARS

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
    if _SCP_LIKE.match(text) and not _exists(text) and not text.startswith((".", "/")):
        return Location("scp", text, redact(text))
    path = Path(text).expanduser()
    absolute = path if path.is_absolute() else (base / path)
    resolved = absolute.resolve()
    return Location("path", str(resolved), text)


def _exists(text: str) -> bool:
    try:
        return Path(text).exists()
    except (OSError, ValueError):  # e.g. a name longer than the file system allows
        return False


def _parse_scheme_url(text: str, scheme: str) -> Location:
    if scheme not in ALLOWED_SCHEMES:
        raise UrlRejected(
            f"the '{scheme}' transport is not allowed; use one of: {', '.join(ALLOWED_SCHEMES)}"
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - parses the port: "host:99999" or "host:x" fail here
    except ValueError as exc:
        raise UrlRejected(f"the URL cannot be parsed: {exc}") from None
    if scheme != "file" and not parts.hostname:
        raise UrlRejected("the URL has no host name")
    if scheme == "file" and not parts.path:
        raise UrlRejected("a file:// URL needs a path")
    if (parts.hostname or "").startswith("-") or (parts.username or "").startswith("-"):
        # git blocks these too; refusing here keeps `ssh://-oProxyCommand=...` out of git at all.
        raise UrlRejected("a host or user name may not start with '-' (ssh would read an option)")
    return Location(scheme, text, redact(text))


def redact(url: str) -> str:
    """`url` without credentials: no user info over https/git/file, no password over ssh, and
    no values of `key=value` pairs in the query, the fragment or `;` path parameters
    (`?access_token=...`, signed-URL parameters), which carry secrets."""
    scheme = _SCHEME.match(url)
    if not scheme:
        return url  # scp-like `user@host:path` carries a login name, never a secret
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        keep_user = scheme.group(1).lower() == "ssh" and user
        netloc = f"{user}@{hostport}" if keep_user else hostport
    path = _PATH_PARAM.sub(lambda m: f";{m.group(1)}=***", parts.path)
    query, fragment = _redacted_pairs(parts.query), _redacted_pairs(parts.fragment)
    if (netloc, path, query, fragment) == (parts.netloc, parts.path, parts.query, parts.fragment):
        return url
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


_PATH_PARAM = re.compile(r";([^/;=]+)=([^/;]+)")
_PAIR_SEPARATORS = re.compile(r"([&;])")


def _redacted_pairs(text: str) -> str:
    return "".join(_redacted_pair(piece) for piece in _PAIR_SEPARATORS.split(text))


def _redacted_pair(pair: str) -> str:
    key, equals, value = pair.partition("=")
    return f"{key}=***" if equals and value else pair


def _secrets_of(url: str) -> list[str]:
    """The secret pieces of `url` as they may appear in git's messages (raw and decoded)."""
    parts = urlsplit(url)
    found = []
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        found.append(userinfo)
    pieces = _PAIR_SEPARATORS.split(f"{parts.query}&{parts.fragment}")
    values = [p.partition("=")[2] for p in pieces] + [
        m.group(2) for m in _PATH_PARAM.finditer(parts.path)
    ]
    for value in values:
        if value:
            found += [value, unquote(value)]
    # short values ("b=1") would blot out ordinary text; secrets are long
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def redact_text(text: str, secret_url: str) -> str:
    """Replace every appearance of `secret_url` (and its secret pieces) in `text` by a safe form."""
    safe = redact(secret_url)
    if safe == secret_url:
        return text
    text = text.replace(secret_url, safe)
    for secret in _secrets_of(secret_url):
        text = text.replace(secret, "***")
    return text


# -- tokens for private repositories in CI ----------------------------------------------------

TOKEN_HOSTS_VAR = "AGENTSYNC_TOKEN_HOSTS"  # noqa: S105 - a variable name, not a secret


def token_hosts(environ: Mapping[str, str]) -> frozenset[str]:
    """The hosts (`host` or `host:port`, lowercase) a CI token may be sent to: github.com,
    the GitHub server the workflow runs against, and those named in AGENTSYNC_TOKEN_HOSTS."""
    hosts = {"github.com"}
    server = environ.get("GITHUB_SERVER_URL", "")
    if server.startswith("https://"):
        netloc = urlsplit(server).netloc.rpartition("@")[2]
        if netloc:
            hosts.add(netloc.lower())
    for item in environ.get(TOKEN_HOSTS_VAR, "").split(","):
        if item.strip():
            hosts.add(item.strip().lower())
    return frozenset(hosts)


def token_config(url: str, environ: Mapping[str, str]) -> dict[str, str]:
    """git configuration, as GIT_CONFIG_* environment variables, that sends the CI token of
    GH_TOKEN or GITHUB_TOKEN to `url`'s host only: over https, to a host in token_hosts,
    and never when the URL carries its own credentials. The token lives in the environment
    of that one git process: never on a command line, in a config file, the lock or output."""
    token = next((environ[v].strip() for v in TOKEN_VARS if environ.get(v, "").strip()), "")
    if not token or _CONTROL.search(token):
        return {}
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return {}
    if parts.scheme.lower() != "https" or "@" in parts.netloc or not parts.hostname:
        return {}
    host = parts.hostname.lower()
    allowed = token_hosts(environ)
    named = f"{host}:{port}" if port is not None else host
    if named not in allowed and not (port in (None, 443) and host in allowed):
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.https://{parts.netloc}/.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }
