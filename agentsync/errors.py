"""Error types and the one place that maps them to exit codes."""

from __future__ import annotations

import re
from collections.abc import Iterable

from agentsync.textsafe import inline

EXIT_OK = 0
EXIT_FAILED = 1  # the operation failed or found problems
EXIT_USAGE = 2  # usage or input error: bad flags, invalid manifest or lock
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)

# The version of the --json output contract: raised when a key or its meaning changes.
JSON_SCHEMA = 1


class AgentsyncError(Exception):
    """An expected failure: rendered as `error: <subject>: <message>` plus an optional hint."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, subject: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.subject = subject

    @property
    def code(self) -> str:
        """A stable word for the kind of failure, for --json: the class name in kebab case
        without `Error` (`FrozenLockError` -> `frozen-lock`)."""
        if type(self) is AgentsyncError:
            return "failed"
        return _kebab(type(self).__name__.removesuffix("Error"))

    def json(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "subject": self.subject,
            "message": self.message,
            "hint": self.hint,
        }

    def render(self) -> str:
        """The message as printed; subject and hint stay one line each (they name agents,
        paths and refs a source chose, whose newline must not forge a line of its own)."""
        subject = inline(self.subject) if self.subject else None
        head = f"error: {subject}: {self.message}" if subject else f"error: {self.message}"
        return f"{head}\nhint: {inline(self.hint)}" if self.hint else head


class UsageError(AgentsyncError):
    """Bad flags, arguments or input files (exit 2)."""

    exit_code = EXIT_USAGE


class ManifestError(UsageError):
    """agentsync.toml is invalid."""


class LockfileError(UsageError):
    """agentsync.lock is invalid or unreadable."""


class SourceError(AgentsyncError):
    """A git source could not be fetched, or a ref or file could not be found in it."""


class NetworkError(SourceError):
    """A fetch failed, timed out, or needed the network under --offline."""


class ResolveError(AgentsyncError):
    """An agent could not be resolved: unknown, ambiguous, or not loadable."""


class ConflictError(AgentsyncError):
    """Installing would overwrite a file agentsync does not own, or a name clash."""


class IntegrityError(AgentsyncError):
    """Content does not match the hash or commit recorded in the lock."""


class FrozenLockError(AgentsyncError):
    """`--frozen` was given but the lock would have to change."""


class StorageError(AgentsyncError):
    """A local file or folder could not be read or written: disk full, permissions, or
    something that is not a plain file or folder in the way."""


class BusyError(AgentsyncError):
    """Another run held a lock past the wait."""


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class Notice(str):
    """A warning's text that also carries a stable code, so that --json can give warnings as
    objects (`{"code": ..., "message": ...}`) while text output keeps printing the string."""

    code: str

    def __new__(cls, code: str, text: str) -> Notice:
        made = super().__new__(cls, text)
        made.code = code
        return made


def notice_code(text: str) -> str:
    """The code of a warning: its own when it is a Notice, else the generic `warning`."""
    return text.code if isinstance(text, Notice) else "warning"


def did_you_mean(word: str, names: Iterable[str], *, also: str | None = None) -> str | None:
    """A hint naming the closest of `names` to a mistyped `word`, then `also` (the next thing
    to try); None when nothing is close and there is nothing else to say."""
    import difflib

    close = difflib.get_close_matches(word, sorted(set(names) - {word}), n=3, cutoff=0.6)
    said = f"did you mean {' or '.join(repr(n) for n in close)}?" if close else None
    if said and also:
        return f"{said} Otherwise {also}"
    return said or also
