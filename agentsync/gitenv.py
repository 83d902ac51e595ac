"""What every git process agentsync starts gets: a scrubbed environment, hardening
settings, and for long commands the parent-death signal. Only `os` and `threading` are
imported up front, so the answers given before the pipeline loads run git exactly as the
full run does."""

from __future__ import annotations

import os
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

# Where a mirror keeps its remote's HEAD (its default branch), fetched next to all branches
# and tags.
REMOTE_HEAD = "refs/agentsync/HEAD"
# CI tokens sent to the hosts that take them (gh's order: GH_TOKEN wins).
TOKEN_VARS = ("GH_TOKEN", "GITHUB_TOKEN")

# git transports agentsync lets git use (also passed to git as GIT_ALLOW_PROTOCOL).
ALLOWED_SCHEMES = ("https", "ssh", "git", "file")

# Inherited GIT_* variables survive only when they configure the user, credentials or
# transport. Everything else (GIT_DIR, GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY, GIT_CONFIG_PARAMETERS,
# ...) is dropped: inside a git hook those point at the *user's* repository, not our mirror.
_KEEP_GIT_VARS = frozenset(
    {
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_SSH_VARIANT",
        "GIT_ASKPASS",
        "GIT_EXEC_PATH",
        "GIT_CURL_VERBOSE",
    }
)
_KEEP_GIT_PREFIXES = (
    "GIT_SSL_",
    "GIT_HTTP_",
    "GIT_PROXY_",
    "GIT_TRACE",
    "GIT_AUTHOR_",
    "GIT_COMMITTER_",
)

# `-c` settings on every call: only allowed transports, protocol v2, and no background work
# that could outlive our lock or our timeout.
HARDENING = (
    "-c",
    "protocol.allow=never",
    *(arg for scheme in ALLOWED_SCHEMES for arg in ("-c", f"protocol.{scheme}.allow=always")),
    "-c",
    "protocol.version=2",
    "-c",
    "gc.autoDetach=false",
    "-c",
    "maintenance.autoDetach=false",
    "-c",
    "core.fsmonitor=false",
)


def git_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for git: scrubbed GIT_*, no prompts, C locale, allowed protocols only."""
    source = os.environ if environ is None else environ
    env = {k: v for k, v in source.items() if not k.startswith("GIT_") or _keep_git_var(k)}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ALLOW_PROTOCOL=":".join(ALLOWED_SCHEMES),
        LC_ALL="C",
        LANGUAGE="C",
    )
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        # BatchMode: ssh fails instead of asking for a password or a host-key confirmation.
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    return env


def _keep_git_var(name: str) -> bool:
    return name in _KEEP_GIT_VARS or name.startswith(_KEEP_GIT_PREFIXES)


def which(name: str, path: str) -> str | None:
    """The absolute path of the program `name` in the folders of `path` (a PATH value), the
    way a spawn looks for it; None when there is none."""
    if os.sep in name:
        return os.path.abspath(name) if os.access(name, os.X_OK) else None
    for folder in path.split(os.pathsep):
        candidate = os.path.join(folder or os.curdir, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    return None


_setpriv_lock = threading.Lock()
_setpriv_found: list[str | None] = []


def setpriv() -> str | None:
    """util-linux's `setpriv` when it can set the parent-death signal (Linux), else None.

    It sets the signal and then runs the command in its own place, so Python can start it
    with vfork. A pre-exec hook makes Python fork the whole process instead: with a few
    threads and tens of MB, 12-16 ms a spawn against about 2, and the fork holds the GIL.
    Asked once a process (the fetch threads ask together)."""
    with _setpriv_lock:
        if not _setpriv_found:
            _setpriv_found.append(_probe_setpriv())
        return _setpriv_found[0]


def _probe_setpriv() -> str | None:
    import sys

    if not sys.platform.startswith("linux"):
        return None
    found = which("setpriv", os.environ.get("PATH", os.defpath))
    if found is None:
        return None
    import subprocess

    try:  # older releases have no --pdeathsig: ask once, with setpriv as the command run
        probe = subprocess.run(
            [found, "--pdeathsig", "KILL", "--", found, "--version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found if probe.returncode == 0 else None


def dying_with_parent(argv: list[str], path: str) -> list[str] | None:
    """`argv` run through setpriv with the parent-death signal set, or None without setpriv
    (the caller sets the signal another way)."""
    wrapper = setpriv()
    return None if wrapper is None else through_setpriv(wrapper, argv, path)


def through_setpriv(wrapper: str, argv: list[str], path: str) -> list[str]:
    """`argv` run by the setpriv at `wrapper`, which sets the parent-death signal first. The
    command is named by its full path, so a missing program is told apart from a failed
    one: FileNotFoundError, as a spawn raises."""
    program = which(argv[0], path)
    if program is None:
        raise FileNotFoundError(argv[0])
    return [wrapper, "--pdeathsig", "KILL", "--", program, *argv[1:]]


def parse_ls_remote(out: bytes) -> dict[str, str]:
    """What `git ls-remote` printed: ref name (and `HEAD`) -> object id, peeled tags left out."""
    return _ls_remote_lines(out)[0]


def peeled_as_mirrored(out: bytes) -> dict[str, str]:
    """What a mirror's ref table would say once it fetched all that `git ls-remote` printed:
    its branches and tags at the object they finally name (an annotated tag peeled, as
    `^{}` lines show), and its HEAD kept as REMOTE_HEAD."""
    values, peeled = _ls_remote_lines(out)
    return as_mirrored({name: peeled.get(name, oid) for name, oid in values.items()})


def _ls_remote_lines(out: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """(ref name -> object id, tag name -> the object its `^{}` line peels it to)."""
    values: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in out.decode(errors="replace").splitlines():
        oid, _tab, name = line.partition("\t")
        if name.endswith("^{}"):
            peeled[name[:-3]] = oid
        elif name:
            values[name] = oid
    return values, peeled


def as_mirrored(advertised: Mapping[str, str]) -> dict[str, str]:
    """What a mirror holds once it fetched all that a remote advertises: its branches and
    tags, and its HEAD kept as REMOTE_HEAD."""
    held = {
        name: oid
        for name, oid in advertised.items()
        if name.startswith(("refs/heads/", "refs/tags/"))
    }
    if "HEAD" in advertised:
        held[REMOTE_HEAD] = advertised["HEAD"]
    return held


def kill_group(pid: int) -> None:
    """Kill the process group `pid` leads (a git and the helpers it started: a transport,
    ssh, upload-pack), if it is still there."""
    import signal

    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
