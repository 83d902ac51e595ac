"""`outdated` answered from the refs alone while neither its inputs nor any source moved: the
same text and exit code as the full run, and the full run again as soon as a manifest, a lock
or an advertised ref is different, or anything about the remotes is unusual."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import agentsync.cli
from tests.fixtures import GitRepo, MakeRepo, agent_md, agents_repo, write_manifest
from tests.procs import Run, alive, inproc, processes_naming

pytestmark = pytest.mark.slow

RECORD = Path(".agentsync") / "outdated.json"


@pytest.fixture
def repo(make_repo: MakeRepo) -> GitRepo:
    return agents_repo(make_repo, "team", ["alpha", "beta"])


@pytest.fixture
def project(tmp_path: Path, repo: GitRepo) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    write_manifest(root, repo.url, 'alpha = "team"\nbeta = "team"\n')
    assert inproc(root, "install").code == 0
    return root


class FullRuns:
    """Counts the runs that loaded the full command line."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = agentsync.cli.main

        def counted(argv: list[str]) -> None:
            self.count += 1
            real(argv)

        monkeypatch.setattr(agentsync.cli, "main", counted)


def test_a_second_outdated_is_answered_from_the_refs_alone(
    project: Path, repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = FullRuns(monkeypatch)
    first = inproc(project, "outdated")
    assert first.code == 0 and first.out == "all agents are up to date\n" and first.err == ""
    assert runs.count == 1
    record = json.loads((project / RECORD).read_text())
    assert record["sources"] == [
        [repo.url, {"refs/heads/main": repo.head(), "refs/agentsync/HEAD": repo.head()}]
    ]
    assert inproc(project, "outdated") == first
    assert inproc(project, "-q", "outdated") == Run(0, "", "")
    assert inproc(project.parent, "-C", str(project), "outdated") == first
    monkeypatch.setenv("HOME", str(project.parent / "another-home"))  # the cache is named
    assert inproc(project, "outdated") == first
    assert runs.count == 1
    # anything else on the line takes the full run
    assert inproc(project, "-v", "outdated").code == 0
    assert inproc(project, "--json", "outdated").code == 0
    assert runs.count == 3


def test_outdated_runs_in_full_once_anything_moved(
    project: Path, repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert inproc(project, "outdated").code == 0
    runs = FullRuns(monkeypatch)
    # a new tag moves nothing that is installed, but it is a ref the full run reads
    repo.tag("v1.0")
    assert inproc(project, "outdated").out == "all agents are up to date\n"
    assert runs.count == 1
    assert inproc(project, "outdated").code == 0
    assert runs.count == 1  # recorded again, with the tag
    # an upstream change is behind: the full run says so, and keeps no record
    repo.write("agents/alpha.md", agent_md("alpha", "Changed upstream."))
    repo.commit("alpha changes")
    behind = inproc(project, "outdated")
    assert behind.code == 1 and "alpha" in behind.out
    assert not (project / RECORD).exists()
    assert inproc(project, "outdated") == behind
    assert runs.count == 3
    # once updated, the new lock is recorded on the next full run
    assert inproc(project, "update").code == 0
    assert inproc(project, "outdated").code == 0
    assert inproc(project, "outdated").code == 0
    assert runs.count == 5  # update, then one full outdated
    # an edit of the manifest, even a comment, is new input
    manifest = project / "agentsync.toml"
    manifest.write_text(manifest.read_text() + "# a note\n")
    assert inproc(project, "outdated").code == 0
    assert runs.count == 6


def test_a_remote_that_fails_is_left_to_the_full_run(
    project: Path, repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert inproc(project, "outdated").code == 0
    runs = FullRuns(monkeypatch)
    shutil.move(repo.path, tmp_path / "gone")
    failed = inproc(project, "outdated")
    assert failed.code != 0 and "error:" in failed.err and "Traceback" not in failed.err
    assert "could not fetch" in failed.err and "cache" not in failed.err  # the source, not ours
    assert runs.count == 1
    shutil.move(tmp_path / "gone", repo.path)
    # a CI token is sent by the full run only
    monkeypatch.setenv("GH_TOKEN", "not-a-real-token")
    assert inproc(project, "outdated").code == 0
    assert runs.count == 2


def test_a_setpriv_that_cannot_set_the_signal_is_left_to_the_full_run(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old setpriv (no --pdeathsig) fails the ls-remotes it was asked to run."""
    assert inproc(project, "outdated").code == 0
    old = tmp_path / "old-bin"
    old.mkdir()
    fake = old / "setpriv"
    fake.write_text("#!/bin/sh\necho 'setpriv: unrecognized option' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{old}{os.pathsep}{os.environ['PATH']}")
    runs = FullRuns(monkeypatch)
    assert inproc(project, "outdated").out == "all agents are up to date\n"
    assert runs.count == 1


def test_a_recorded_ref_that_differs_is_never_taken_as_up_to_date(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer compares every advertised ref with the record: a record that holds another
    commit (here written by hand) makes the full run look, and it finds nothing behind."""
    assert inproc(project, "outdated").code == 0
    path = project / RECORD
    record = json.loads(path.read_text())
    _url, refs = record["sources"][0]
    refs["refs/heads/main"] = "0" * 40
    path.write_text(json.dumps(record))
    runs = FullRuns(monkeypatch)
    assert inproc(project, "outdated").out == "all agents are up to date\n"
    assert runs.count == 1


def test_a_source_in_a_local_folder_leaves_no_record(tmp_path: Path, repo: GitRepo) -> None:
    root = tmp_path / "local"
    root.mkdir()
    write_manifest(root, str(repo.path), 'alpha = "team"\n')
    assert inproc(root, "install").code == 0
    assert inproc(root, "outdated").code == 0
    assert not (root / RECORD).exists()


def test_the_record_holds_the_refs_the_run_read_not_a_later_fetch(
    project: Path, repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another run may fetch the shared mirror between this run's resolution and its record:
    the record keeps the table the resolution read, so the change is still seen."""
    from agentsync import updater

    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(project / "agentsync.toml", other / "agentsync.toml")
    assert inproc(other, "install").code == 0
    real = updater._remember_outdated

    def fetched_meanwhile(*args: object) -> None:
        repo.write("agents/alpha.md", agent_md("alpha", "Changed meanwhile."))
        repo.commit("alpha changes")
        with monkeypatch.context() as inner:  # the other project's run, in full
            inner.setattr(updater, "_remember_outdated", real)
            assert inproc(other, "-v", "outdated").code == 1
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(updater, "_remember_outdated", fetched_meanwhile)
    assert inproc(project, "outdated").out == "all agents are up to date\n"
    monkeypatch.setattr(updater, "_remember_outdated", real)
    behind = inproc(project, "outdated")
    assert behind.code == 1 and "alpha" in behind.out


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("damage", ["nested", "nul-url"])
def test_a_damaged_record_is_no_record(project: Path, damage: str) -> None:
    assert inproc(project, "outdated").code == 0
    path = project / RECORD
    record = json.loads(path.read_text())
    if damage == "nested":
        path.write_text("[" * 200_000 + "]" * 200_000)
    else:
        url, refs = record["sources"][0]
        record["sources"][0] = [url + "\u0000x", refs]
        path.write_text(json.dumps(record))
    again = inproc(project, "outdated")
    assert again == Run(0, "all agents are up to date\n", ""), again


def test_a_cache_made_unusable_is_the_full_runs_error(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert inproc(project, "outdated").code == 0
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("AGENTSYNC_CACHE_DIR", str(blocked))
    failed = inproc(project, "outdated")
    assert failed.code != 0 and "not usable" in failed.err, failed


_INTERRUPTED = """
import sys
from agentsync import fast_outdated
fast_outdated._advertised(sys.argv[1], ["file:///nowhere"])
"""


def test_an_interrupted_answer_leaves_no_git_or_helper_running(tmp_path: Path) -> None:
    """Ctrl-C kills each running git with its process group: a helper it started (as git
    starts `git remote-https`) gets no parent-death signal of its own."""
    from agentsync import gitenv

    setpriv = gitenv.setpriv()
    if setpriv is None:
        pytest.skip("no setpriv with --pdeathsig on this machine")
    fake = tmp_path / "bin"
    fake.mkdir()
    marker = tmp_path / "helper.pid"
    (fake / "git").write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {marker}\nwait\n")
    (fake / "git").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    answer = subprocess.Popen([sys.executable, "-c", _INTERRUPTED, setpriv], env=env)
    deadline = time.monotonic() + 10
    while not (marker.exists() and marker.read_text().strip()):
        assert time.monotonic() < deadline, "the fake git never started"
        time.sleep(0.02)
    helper = int(marker.read_text())
    answer.send_signal(signal.SIGINT)
    answer.wait(timeout=10)
    deadline = time.monotonic() + 5
    while alive(helper) and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        assert not alive(helper)
    finally:
        if alive(helper):
            os.kill(helper, signal.SIGKILL)


def test_an_outdated_killed_after_each_write_never_leaves_a_record_that_vouches_wrongly(
    project: Path, repo: GitRepo
) -> None:
    """`outdated` writes the cache (the discovery index) and then its record: killed after
    any of those writes, the record is whole or absent, and the next `outdated` answers as
    a full run does, before and after upstream moves."""
    from tests.procs import agentsync

    record = project / RECORD
    killed = 0
    for fault in range(1, 8):
        record.unlink(missing_ok=True)
        run = agentsync(project, "outdated", fault=fault)
        killed += run.code < 0
        if record.exists():  # whole or absent, never torn
            assert json.loads(record.read_text())["sources"]
        assert agentsync(project, "outdated") == Run(0, "all agents are up to date\n", "")
    assert killed >= 1
    repo.write("agents/alpha.md", agent_md("alpha", "Changed upstream."))
    repo.commit("alpha changes")
    behind = agentsync(project, "outdated")
    assert behind.code == 1 and "alpha" in behind.out


def test_an_annotated_tag_is_compared_at_the_commit_it_peels_to(
    project: Path, repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record holds the ref table (tags at their commits); ls-remote shows an annotated
    tag's own id and, on a `^{}` line, its commit: the second is compared."""
    repo.git("tag", "-a", "-m", "release", "v2.0")
    assert inproc(project, "outdated").code == 0
    record = json.loads((project / RECORD).read_text())
    assert record["sources"][0][1]["refs/tags/v2.0"] == repo.head()
    runs = FullRuns(monkeypatch)
    assert inproc(project, "outdated").out == "all agents are up to date\n"
    assert runs.count == 0


def test_a_remote_slower_than_the_budget_is_left_and_no_git_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentsync import fast_outdated, gitenv
    from tests.servers import tcp_server

    setpriv = gitenv.setpriv()
    if setpriv is None:
        pytest.skip("no setpriv with --pdeathsig on this machine")
    monkeypatch.setattr(fast_outdated, "_BUDGET", 0.5)
    with tcp_server() as server:
        url = f"git://127.0.0.1:{server.port}/slow"
        started = time.monotonic()
        assert fast_outdated._advertised(setpriv, [url]) is None
        assert time.monotonic() - started < 5
        assert server.connections == 1
        deadline = time.monotonic() + 5
        while processes_naming(url) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert processes_naming(url) == []


def test_without_agentsync_cache_dir_the_cache_is_named_by_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentsync import fast_outdated

    monkeypatch.delenv("AGENTSYNC_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "one"))
    cache = tmp_path / "cache"
    cache.mkdir()
    record = {"cache": fast_outdated._cache_facts(str(cache))}
    assert fast_outdated._same_cache(record)
    monkeypatch.setenv("HOME", str(tmp_path / "two"))  # another default cache folder
    assert not fast_outdated._same_cache(record)
