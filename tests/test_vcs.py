"""The git adapter: scrubbed environment, hostile input, timeouts, merges, dirty local sources."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentsync import gitenv, vcs
from agentsync.errors import AgentsyncError, NetworkError, SourceError
from agentsync.store import Store
from agentsync.urls import Location, UrlRejected, parse_location
from tests.fixtures import MakeRepo
from tests.procs import alive
from tests.servers import AuthServer, closed_port, self_signed_cert, tcp_server

# --- environment ---------------------------------------------------------------------------


def test_git_env_drops_repository_variables_and_keeps_user_ones() -> None:
    inherited = {
        "PATH": "/usr/bin",
        "GIT_DIR": "/elsewhere/.git",
        "GIT_WORK_TREE": "/elsewhere",
        "GIT_INDEX_FILE": "/elsewhere/.git/index",
        "GIT_OBJECT_DIRECTORY": "/elsewhere/objects",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": "/x",
        "GIT_COMMON_DIR": "/x",
        "GIT_NAMESPACE": "ns",
        "GIT_PREFIX": "sub/",
        "GIT_QUARANTINE_PATH": "/x",
        "GIT_CONFIG_PARAMETERS": "'core.hooksPath'='/x'",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_GLOBAL": "/home/me/.gitconfig",
        "GIT_SSH_COMMAND": "ssh -i key",
        "GIT_ASKPASS": "/usr/bin/helper",
        "GIT_SSL_CAINFO": "/ca.pem",
        "GIT_HTTP_PROXY_AUTHMETHOD": "basic",
        "GIT_TRACE": "1",
        "GIT_AUTHOR_NAME": "Me",
        "GIT_ALLOW_PROTOCOL": "ext",
        "LANG": "de_DE.UTF-8",
    }
    env = vcs.git_env(inherited)
    for dropped in (
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
        "GIT_QUARANTINE_PATH",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
    ):
        assert dropped not in env
    for kept in ("GIT_CONFIG_GLOBAL", "GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_SSL_CAINFO"):
        assert env[kept] == inherited[kept]
    assert env["GIT_HTTP_PROXY_AUTHMETHOD"] == "basic"
    assert env["GIT_TRACE"] == "1" and env["GIT_AUTHOR_NAME"] == "Me"
    assert env["GIT_ALLOW_PROTOCOL"] == "https:ssh:git:file"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["LC_ALL"] == "C"
    assert env["PATH"] == "/usr/bin"


def test_ssh_runs_in_batch_mode_unless_the_user_chose_a_command() -> None:
    assert vcs.git_env({})["GIT_SSH_COMMAND"] == "ssh -o BatchMode=yes"
    assert "GIT_SSH_COMMAND" not in vcs.git_env({"GIT_SSH": "/usr/bin/plink"})


@pytest.mark.slow
def test_a_run_inside_a_git_hook_does_not_touch_the_outer_repository(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inside a hook, git exports GIT_DIR/GIT_INDEX_FILE of the repository being committed to.
    outer = make_repo("outer")
    outer_head = outer.commit("outer")
    source = make_repo("source")
    source.write("a.md", "a")
    source_head = source.commit("source")
    monkeypatch.setenv("GIT_DIR", str(outer.path / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(outer.path))
    monkeypatch.setenv("GIT_INDEX_FILE", str(outer.path / ".git" / "index"))
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(outer.path / ".git" / "objects"))
    with Store() as store:
        mirror = store.mirror(parse_location(source.url, Path.cwd()))
        mirror.fetch()
        assert mirror.resolve(None) == source_head
        assert [e.path for e in mirror.list_files(mirror.resolve(None))] == ["a.md"]
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    monkeypatch.delenv("GIT_INDEX_FILE")
    monkeypatch.delenv("GIT_OBJECT_DIRECTORY")
    assert outer.head() == outer_head
    assert outer.git("for-each-ref", "--format=%(refname)") == "refs/heads/main"


# --- hostile input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["ext::sh -c touch% /tmp/pwned", "fd::17", "-u/tmp/x", "--upload-pack=touch /tmp/x"],
)
def test_remote_helpers_and_option_like_urls_are_refused(text: str) -> None:
    with pytest.raises(UrlRejected):
        parse_location(text, Path.cwd())


def test_git_itself_refuses_remote_helpers_even_if_one_slips_through(tmp_path: Path) -> None:
    # Defence in depth: a Location built by hand bypasses parse_location; git must still refuse.
    marker = tmp_path / "pwned"
    hostile = Location("ext", f"ext::sh -c touch% {marker}", "ext::...")
    with Store(tmp_path / "cache") as store, pytest.raises(SourceError) as caught:
        store.mirror(hostile).fetch()
    assert "transport 'ext' not allowed" in caught.value.message
    assert not marker.exists()


def test_option_like_url_is_never_read_as_an_option(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = Location("scp", f"--upload-pack=touch {marker}", "--upload-pack=...")
    with Store(tmp_path / "cache") as store, pytest.raises(SourceError):
        store.mirror(hostile).fetch()
    assert not marker.exists()


@pytest.mark.slow
def test_run_git_kills_the_whole_process_group_on_timeout(tmp_path: Path) -> None:
    # An alias running a shell that spawns a grandchild: all must be gone after the timeout.
    marker = tmp_path / "survivor"
    script = f"!sh -c 'sleep 30 & sleep 1; touch {marker}'"
    started = time.monotonic()
    with pytest.raises(vcs.GitTimeout) as caught:
        vcs.run_git(["-c", f"alias.slow={script}", "slow"], timeout=0.3, cwd=tmp_path)
    assert time.monotonic() - started < 5
    assert caught.value.seconds == 0.3
    time.sleep(1.2)
    assert not marker.exists()


def test_git_error_message_hides_arguments() -> None:
    with pytest.raises(vcs.GitError) as caught:
        vcs.run_git(["rev-parse", "--verify", "https://user:secret@host/x"])
    assert "secret" not in str(caught.value)
    assert caught.value.command == "rev-parse"


# --- failures, classified where git runs -----------------------------------------------------


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """An empty bare repository to fetch into, made with plain git."""
    path = tmp_path / "mirror.git"
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


def fetch_failure(mirror: Path, url: str, *refspecs: str, timeout: float = 20) -> vcs.GitError:
    with pytest.raises(vcs.GitError) as caught:
        vcs.fetch(mirror, url, refspecs or ("+refs/heads/*:refs/heads/*",), timeout=timeout)
    return caught.value


def test_a_missing_repository_is_not_found(mirror: Path, tmp_path: Path) -> None:
    error = fetch_failure(mirror, (tmp_path / "nowhere.git").as_uri())
    assert type(error) is vcs.GitNotFound
    assert "does not appear to be a git repository" in error.detail
    assert error.command == "fetch" and error.returncode == 128


def test_a_refused_login_is_an_auth_failure(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate for the HTTPS test server")
    cert, key = self_signed_cert(tmp_path)
    monkeypatch.setenv("GIT_SSL_CAINFO", str(cert))
    server = AuthServer(cert, key)
    try:
        error = fetch_failure(mirror, f"https://127.0.0.1:{server.port}/private.git")
    finally:
        server.close()
    assert server.requests >= 1
    assert type(error) is vcs.GitAuthFailed
    assert "could not read Username" in error.detail


def test_a_damaged_local_object_is_corruption(mirror: Path, make_repo: MakeRepo) -> None:
    source = make_repo("damaged-source")
    source.write("a.md", "a")
    source.commit()
    subprocess.run(
        ["git", f"--git-dir={mirror}", "fetch", "-q", source.url, "+refs/heads/*:refs/heads/*"],
        check=True,
    )
    for loose in (mirror / "objects").glob("??/*"):
        loose.chmod(0o644)
        loose.write_bytes(b"garbage")
    source.write("b.md", "b")
    source.commit()
    error = fetch_failure(mirror, source.url)
    assert type(error) is vcs.GitCorrupt
    assert "corrupt" in error.detail


def test_a_missing_git_directory_is_corruption(tmp_path: Path) -> None:
    with pytest.raises(vcs.GitCorrupt) as caught:
        vcs.run_git(["for-each-ref"], git_dir=tmp_path / "gone.git")
    assert "not a git repository" in caught.value.detail


def test_a_ref_the_remote_lacks_is_an_unknown_ref(mirror: Path, make_repo: MakeRepo) -> None:
    source = make_repo("refs-source")
    source.commit()
    error = fetch_failure(mirror, source.url, "refs/heads/nope:refs/x")
    assert isinstance(error, vcs.GitUnknownRef) and error.ref == "refs/heads/nope"


def test_an_empty_remote_has_no_head_to_fetch(mirror: Path, make_repo: MakeRepo) -> None:
    error = fetch_failure(mirror, make_repo("empty-source").url, "+HEAD:refs/agentsync/HEAD")
    assert isinstance(error, vcs.GitUnknownRef) and error.ref == "HEAD"


def test_a_silent_server_is_a_timeout(mirror: Path) -> None:
    with tcp_server() as server:
        error = fetch_failure(mirror, f"git://127.0.0.1:{server.port}/x.git", timeout=0.5)
    assert isinstance(error, vcs.GitTimeout) and error.seconds == 0.5


def test_a_refused_connection_is_a_plain_git_error(mirror: Path) -> None:
    error = fetch_failure(mirror, f"git://127.0.0.1:{closed_port()}/x.git")
    assert type(error) is vcs.GitError
    assert "Connection refused" in error.detail


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        # Damage the server reports is the server's: not a reason to rebuild our mirror.
        ("remote: fatal: bad object abc\nfatal: early EOF\n", vcs.GitError),
        # A refusal that also says "unable to read" is a refusal, not local damage.
        (
            "error: unable to read askpass response from 'x'\n"
            "fatal: could not read Username for 'https://h': No such device or address\n",
            vcs.GitAuthFailed,
        ),
    ],
)
def test_classification_precedence(stderr: str, kind: type[vcs.GitError]) -> None:
    assert type(vcs.classify("fetch", 128, stderr)) is kind


def test_git_message_keeps_the_line_that_finishes_a_fatal_one() -> None:
    stderr = (
        "fatal: unable to connect to 127.0.0.1:\n"
        "127.0.0.1[0: 127.0.0.1]: errno=Connection refused\n\n"
    )
    assert "Connection refused" in vcs.git_message(stderr)
    assert vcs.git_message("warning: x\nfatal: not found\n") == "fatal: not found"


# --- commands that may outlive agentsync --------------------------------------------------

_SPAWN_AND_WAIT = """
import subprocess, sys, time
from agentsync import gitenv, vcs

route, outlives = sys.argv[1], sys.argv[2] == "yes"
if route == "hook":
    gitenv.setpriv = lambda: None
else:  # setpriv alone must carry the signal: a fork with the hook would hide its absence
    vcs._parent_death_signal = lambda: None
proc = vcs._spawn(["sleep", "60"], stdin=subprocess.DEVNULL, outlives=outlives)
print(proc.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the death signal is Linux's")
@pytest.mark.parametrize(
    ("route", "outlives"),
    [("setpriv", True), ("hook", True), ("setpriv", False)],
    ids=["setpriv", "pre-exec-hook", "short-command"],
)
def test_a_long_command_dies_with_agentsync(route: str, outlives: bool) -> None:
    """A fetch or ls-remote is killed with agentsync, whether setpriv or a pre-exec hook sets
    the signal; a short command gets none (and here outlives the kill, as the control)."""
    if route == "setpriv" and gitenv.setpriv() is None:
        pytest.skip("no setpriv with --pdeathsig on this machine")
    parent = subprocess.Popen(
        [sys.executable, "-c", _SPAWN_AND_WAIT, route, "yes" if outlives else "no"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert alive(child)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert alive(child) is not outlives
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)
        parent.stdout.close()


def test_a_long_command_without_git_on_path_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Through setpriv git is looked up first, so a missing git reads as the same error as
    without it, not as setpriv's exit status."""
    if gitenv.setpriv() is None:
        pytest.skip("no setpriv with --pdeathsig on this machine")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(AgentsyncError, match="git was not found on PATH"):
        vcs.run_git(["ls-remote", "file:///nowhere"])


# --- objects --------------------------------------------------------------------------------


def test_object_reader_reports_missing_and_reads_paths(make_repo: MakeRepo) -> None:
    repo = make_repo("objects")
    repo.write("dir/file name.md", b"bytes\x00with nul\n")
    head = repo.commit()
    reader = vcs.ObjectReader(repo.path / ".git")
    try:
        assert reader.read("0" * 40) is None
        assert reader.read(f"{head}:dir/file name.md") == ("blob", b"bytes\x00with nul\n")
        found = reader.read(head)
        assert found is not None and found[0] == "commit"
        with pytest.raises(ValueError, match="invalid object name"):
            reader.read("HEAD\nHEAD")
    finally:
        reader.close()
    reader.close()  # idempotent


def test_object_reader_ignores_a_hook_environment(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A git hook exports the user's repository; reads must still come from the mirror.
    outer = make_repo("outer-objects")
    outer.write("a.md", "outer content")
    outer.commit("outer")
    repo = make_repo("inner-objects")
    repo.write("a.md", "inner content")
    head = repo.commit("inner")
    for key, value in {
        "GIT_DIR": outer.path / ".git",
        "GIT_OBJECT_DIRECTORY": outer.path / ".git" / "objects",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": outer.path / ".git" / "objects",
        "GIT_WORK_TREE": outer.path,
        "GIT_CONFIG_PARAMETERS": "'core.bare'='false'",
    }.items():
        monkeypatch.setenv(key, str(value))
    reader = vcs.ObjectReader(repo.path / ".git")
    try:
        assert reader.read(f"{head}:a.md") == ("blob", b"inner content")
        assert reader.read(outer.git("rev-parse", "HEAD:a.md")) is None
    finally:
        reader.close()


# --- merges ---------------------------------------------------------------------------------

BASE = b"---\nname: a\ndescription: old\n---\n\nline one\nline two\nline three\n"


def test_merge_file_clean() -> None:
    ours = BASE.replace(b"line one", b"line one, edited locally")
    theirs = BASE.replace(b"description: old", b"description: new")
    merged, conflicts = vcs.merge_file(BASE, ours, theirs)
    assert not conflicts
    assert b"line one, edited locally" in merged and b"description: new" in merged


def test_merge_file_conflict_has_labelled_markers() -> None:
    ours = BASE.replace(b"line two", b"mine")
    theirs = BASE.replace(b"line two", b"theirs")
    merged, conflicts = vcs.merge_file(BASE, ours, theirs)
    assert conflicts
    assert b"<<<<<<< local\nmine\n=======\ntheirs\n>>>>>>> upstream\n" in merged
    unmarked, conflicts = vcs.merge_file(BASE, ours, theirs, markers=False)
    assert conflicts and unmarked == ours
    labelled, _ = vcs.merge_file(BASE, ours, theirs, labels=("a", "b", "c"))
    assert b"<<<<<<< a\n" in labelled and b">>>>>>> c\n" in labelled


def test_merge_file_identical_sides() -> None:
    assert vcs.merge_file(BASE, BASE, BASE) == (BASE, False)


def _merge_watching_tmp(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[tuple[bytes, bool], list[list[str]]]:
    """A clean merge, with what the temporary folder held while git ran."""
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool))
    monkeypatch.setattr(vcs.tempfile, "tempdir", None)  # read TMPDIR again
    seen: list[list[str]] = []
    real = vcs.run_git

    def watching(args: list[str], **kwargs: object) -> vcs.GitResult:
        seen.append(sorted(p.name for p in spool.rglob("*")))
        return real(args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(vcs, "run_git", watching)
    ours = BASE.replace(b"line one", b"a local edit")
    theirs = BASE.replace(b"line three", b"upstream")
    result = vcs.merge_file(BASE, ours, theirs)
    assert sorted(spool.rglob("*")) == []  # nothing left afterwards either way
    return result, seen


@pytest.mark.skipif(not vcs._memory_files([b""]), reason="needs memfd (Linux)")
def test_merge_inputs_never_reach_the_disk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A local edit copied to a temp file would outlive a kill -9 of the merge; memory-only
    # files die with the process.
    (merged, conflicts), seen = _merge_watching_tmp(monkeypatch, tmp_path)
    assert not conflicts and b"a local edit" in merged and b"upstream" in merged
    assert seen == [[]]


def test_a_merge_git_refuses_names_the_version_not_a_file_descriptor() -> None:
    with pytest.raises(AgentsyncError) as caught:
        vcs.merge_file(BASE, BASE + b"\0binary\n", BASE.replace(b"line two", b"upstream"))
    assert "the local version" in caught.value.message
    assert "/dev/fd" not in caught.value.message


def test_merge_falls_back_to_a_private_folder_without_memfd(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(vcs, "_memory_files", lambda texts: None)
    (merged, conflicts), seen = _merge_watching_tmp(monkeypatch, tmp_path)
    assert not conflicts and b"a local edit" in merged and b"upstream" in merged
    assert len(seen) == 1 and len(seen[0]) == 4  # the folder and its three files, while git ran


# --- local sources --------------------------------------------------------------------------


def test_head_commit_of_a_local_source(make_repo: MakeRepo) -> None:
    repo = make_repo("local")
    assert vcs.head_commit(repo.path / ".git") is None  # unborn
    repo.write("a.md", "a")
    head = repo.commit()
    assert vcs.head_commit(repo.path / ".git") == head


def test_head_commit_ignores_a_hook_environment(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = make_repo("other")
    other.write("x.md", "x")
    other.commit()
    clean = make_repo("clean")
    head = clean.commit()
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other.path))
    assert vcs.head_commit(clean.path / ".git") == head


def test_offline_store_runs_no_git_for_a_missing_mirror(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo("src")
    repo.commit()
    calls: list[object] = []
    monkeypatch.setattr(vcs, "run_git", lambda *a, **k: calls.append(a))
    with Store(offline=True) as store, pytest.raises(NetworkError):
        store.mirror(parse_location(repo.url, Path.cwd())).fetch()
    assert calls == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the death signal is Linux's")
def test_a_setpriv_without_the_death_signal_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old setpriv (before util-linux 2.33) refuses --pdeathsig: the probe finds that
    once, and long commands fall back to the pre-exec hook."""
    old = tmp_path / "old-bin"
    old.mkdir()
    (old / "setpriv").write_text("#!/bin/sh\necho 'unrecognized option' >&2\nexit 1\n")
    (old / "setpriv").chmod(0o755)
    monkeypatch.setenv("PATH", f"{old}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(gitenv, "_setpriv_found", [])
    assert gitenv.setpriv() is None
    assert gitenv.dying_with_parent(["git", "ls-remote"], os.environ["PATH"]) is None
    monkeypatch.setattr(gitenv, "_setpriv_found", [])
    monkeypatch.setenv("PATH", os.environ["PATH"].split(os.pathsep, 1)[1])
    real = shutil.which("setpriv")
    if real is not None and gitenv.setpriv() is not None:
        wrapped = gitenv.dying_with_parent(["git", "ls-remote"], os.environ["PATH"])
        assert wrapped is not None and wrapped[:4] == [real, "--pdeathsig", "KILL", "--"]
