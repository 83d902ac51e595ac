"""Crash safety: `install`, `update` and `remove` killed (SIGKILL) after the N-th atomic write.

Each run is a separate process with AGENTSYNC_FAULT_AFTER_WRITES=N: forked from the test
(agentsync already imported, so a dozen kill points cost a second, not a minute), and one
test through the real `python -m agentsync` entry point. After the kill every agent file is
byte-for-byte its old or its new version (never partial), the lock is the old or the new
lock, and a plain rerun converges to exactly the state an uninterrupted run produces, with
exit 0 and no file reported as locally modified.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures import (
    TARGET,
    GitRepo,
    MakeRepo,
    agent_md,
    agents_repo,
    copies,
    manifest_text,
    states,
    write_manifest,
)
from tests.procs import FAULT_ENV, agentsync, inproc, run_many

pytestmark = pytest.mark.slow  # every test forks and kills agentsync processes

KILLED = -signal.SIGKILL


@dataclass(frozen=True)
class State:
    """The files a run leaves: agent files by name, and the lock bytes (None: no lock)."""

    agents: dict[str, bytes]
    lock: bytes | None

    @classmethod
    def of(cls, project: Path) -> State:
        target = project / TARGET
        agents = {p.name: p.read_bytes() for p in target.iterdir()} if target.is_dir() else {}
        lock = project / "agentsync.lock"
        return cls(agents, lock.read_bytes() if lock.exists() else None)


def check_torn_state(state: State, old: State, new: State) -> None:
    """Right after a kill: each file and the lock are exactly the old or the new version."""
    assert state.lock in (old.lock, new.lock)
    for name, data in state.agents.items():
        if name.endswith(".agentsync-tmp"):
            continue  # killed between write and rename: Claude Code never loads a non-.md file
        versions = {old.agents.get(name), new.agents.get(name)} - {None}
        assert versions, f"{name}: a file neither the old nor the new state has"
        assert data in versions, f"{name}: torn or foreign content"


def check_converged(project: Path, expected: State) -> None:
    """After the rerun: exactly the uninterrupted result, status all ok, no leftovers."""
    assert State.of(project) == expected
    code, found = states(project)
    assert code == 0, found
    assert set(found.values()) == {"ok"}
    assert not (project / ".agentsync" / "journal.json").exists()
    leftovers = [p.name for p in project.rglob("*agentsync-tmp")]
    assert leftovers == []


@pytest.fixture
def upstream(make_repo: MakeRepo) -> GitRepo:
    names = [f"agent-{index:02d}" for index in range(1, 13)]
    return agents_repo(make_repo, "upstream", names, description="Version one of {name}.")


def move_upstream(repo: GitRepo) -> None:
    """v2: six agents change, two disappear, two are new."""
    for index in range(1, 7):
        name = f"agent-{index:02d}"
        repo.write(f"agents/{name}.md", agent_md(name, f"Version two of {name}.", body="New."))
    repo.remove("agents/agent-11.md")
    repo.remove("agents/agent-12.md")
    for name in ("agent-13", "agent-14"):
        repo.write(f"agents/{name}.md", agent_md(name, f"New in v2: {name}."))
    repo.commit("v2")


def manifest(url: str, *, explicit: Sequence[str] = ()) -> str:
    if explicit:
        entries = "".join(f'{name} = "up"\n' for name in explicit)
        return manifest_text(url, entries, source="up")
    renamed = 'renamed = { source = "up", agent = "agent-07" }\n'
    return manifest_text(url, renamed, source="up", extra='include = ["*"]\n')


def crash_and_rerun(
    base: Path,
    command: Sequence[str],
    rerun: Sequence[str],
    faults: Sequence[int],
    old: State,
    new: State,
) -> list[int]:
    """Kill `command` after each fault count (one project copy each, all at once), check the
    torn state, rerun, and check convergence. Returns the exit codes of the killed runs."""
    projects = copies(base, len(faults))
    killed = run_many([(p, command, f) for p, f in zip(projects, faults, strict=True)])
    for project in projects:
        check_torn_state(State.of(project), old, new)
    for fault, again in zip(faults, run_many([(p, rerun, None) for p in projects]), strict=True):
        assert again.code == 0, (fault, again)
        assert "local edits" not in again.err, (fault, again.err)
    for project in projects:
        check_converged(project, new)
    return [run.code for run in killed]


def test_install_killed_after_every_write_converges(upstream: GitRepo, tmp_path: Path) -> None:
    base = tmp_path / "install"
    base.mkdir()
    (base / "agentsync.toml").write_text(manifest(upstream.url))
    reference = tmp_path / "reference"
    shutil.copytree(base, reference)
    assert inproc(reference, "install").code == 0  # also warms the shared cache
    new = State.of(reference)
    assert len(new.agents) == 13
    # writes: .gitignore, journal, 13 agent files, lock, journal removal
    faults = [1, 2, 3, 4, 6, 9, 12, 14, 15, 16, 17, 18]
    codes = crash_and_rerun(base, ["install"], ["install"], faults, State({}, None), new)
    assert codes.count(KILLED) >= 10, codes  # the kill points really fell inside the run


def test_update_killed_after_every_write_converges(upstream: GitRepo, tmp_path: Path) -> None:
    base = tmp_path / "update"
    base.mkdir()
    (base / "agentsync.toml").write_text(manifest(upstream.url))
    assert inproc(base, "install").code == 0
    old = State.of(base)
    move_upstream(upstream)
    reference = tmp_path / "reference"
    shutil.copytree(base, reference)
    assert inproc(reference, "update").code == 0
    new = State.of(reference)
    assert new.lock != old.lock and len(new.agents) == 15  # gone upstream: kept
    faults = [1, 2, 4, 6, 8, 10, 12, 13]
    codes = crash_and_rerun(base, ["update"], ["update"], faults, old, new)
    assert codes.count(KILLED) >= 6, codes


def test_install_after_a_killed_update_is_consistent(upstream: GitRepo, tmp_path: Path) -> None:
    """Rerunning `install` (not `update`) after a killed update settles on a consistent
    state: the files match the lock, whichever of the two it is, and nothing is 'modified'."""
    base = tmp_path / "mixed"
    base.mkdir()
    (base / "agentsync.toml").write_text(manifest(upstream.url))
    assert inproc(base, "install").code == 0
    old = State.of(base)
    move_upstream(upstream)
    for project, fault in zip(copies(base, 3), (3, 6, 9), strict=True):
        assert agentsync(project, "update", fault=fault).code == KILLED
        again = agentsync(project, "install")
        assert again.code == 0, again
        state = State.of(project)
        if state.lock == old.lock:
            assert state == old
        code, found = states(project)
        assert code == 0, found
        assert set(found.values()) == {"ok"}
        assert not [p for p in (project / TARGET).iterdir() if p.name not in state.agents]


def test_remove_killed_after_every_write_converges(upstream: GitRepo, tmp_path: Path) -> None:
    names = [f"agent-{index:02d}" for index in range(1, 9)]
    base = tmp_path / "remove"
    base.mkdir()
    (base / "agentsync.toml").write_text(manifest(upstream.url, explicit=names))
    assert inproc(base, "install").code == 0
    old = State.of(base)
    reference = tmp_path / "reference"
    shutil.copytree(base, reference)
    gone = names[:5]
    assert inproc(reference, "remove", *gone).code == 0
    new = State.of(reference)
    assert sorted(new.agents) == [f"{n}.md" for n in names[5:]]
    # writes: manifest, journal, 5 deletions, lock, journal removal
    faults = [1, 2, 4, 7, 8, 9]
    codes = crash_and_rerun(base, ["remove", *gone], ["install"], faults, old, new)
    assert codes.count(KILLED) >= 5, codes
    # rerunning the same `remove` after a crash finishes the job too
    assert agentsync(base, "remove", *gone, fault=4).code == KILLED
    again = agentsync(base, "remove", *gone)
    assert again.code == 0, again
    check_converged(base, new)


def test_the_fault_hook_works_through_the_real_entry_point(
    upstream: GitRepo, tmp_path: Path
) -> None:
    project = tmp_path / "real"
    project.mkdir()
    (project / "agentsync.toml").write_text(manifest(upstream.url))
    env = {**os.environ, FAULT_ENV: "5"}
    command = [sys.executable, "-m", "agentsync", "install"]
    killed = subprocess.run(command, cwd=project, env=env, capture_output=True, check=False)
    assert killed.returncode == KILLED
    assert 0 < len(State.of(project).agents) < 13
    env.pop(FAULT_ENV)
    again = subprocess.run(command, cwd=project, env=env, capture_output=True, check=False)
    assert again.returncode == 0, again
    assert len(State.of(project).agents) == 13


def test_random_kills_during_install_leave_every_file_matching_the_lock(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    """20 SIGKILLs at random moments (mid-write, mid-rename, mid-git) of an install of 24
    agents, each followed by a rerun: every file matches the lock, status is all ok."""
    names = [f"a{index:02d}" for index in range(24)]
    repo = agents_repo(make_repo, "many", names, description="Agent {name}.")
    base = tmp_path / "random"
    base.mkdir()
    write_manifest(base, repo.url, None, source="up", extra='include = ["*"]\n')
    reference = tmp_path / "reference"
    shutil.copytree(base, reference)
    start = time.monotonic()
    assert inproc(reference, "install").code == 0
    span = time.monotonic() - start
    new = State.of(reference)
    seed = random.randrange(1 << 30)  # noqa: S311 - kill timing, not cryptography
    chance = random.Random(seed)  # noqa: S311
    delays = [chance.uniform(0.0, span * 1.5) for _ in range(20)]
    killed = 0
    for batch in (0, 10):
        projects = copies(base, 10, tag=f"b{batch}-")
        runs = run_many([(p, ["install"], None) for p in projects], delays[batch : batch + 10])
        killed += sum(run.code == KILLED for run in runs)
        for project in projects:
            check_torn_state(State.of(project), State({}, None), new)
        for again in run_many([(p, ["install"], None) for p in projects]):
            assert again.code == 0, (seed, again)
        for project in projects:
            check_converged(project, new)
    assert killed >= 5, (seed, killed, span)  # most kills must land inside a run


def test_manifest_edits_killed_at_each_write_leave_the_old_or_the_new_manifest(
    upstream: GitRepo, tmp_path: Path
) -> None:
    """`source add`, `source set` and the user manifest made on first use by `--global`:
    each manifest write, killed, leaves one whole version, and the rerun finishes."""
    import tomllib

    base = tmp_path / "edits"
    base.mkdir()
    assert inproc(base, "init").code == 0
    empty = (base / "agentsync.toml").read_bytes()
    for step, (command, rerun) in enumerate(
        (
            (["source", "add", "up", upstream.url], ["source", "list"]),
            (["source", "set", "up", "--ref", "main"], ["source", "set", "up", "--ref", "main"]),
        )
    ):
        before = (base / "agentsync.toml").read_bytes()
        stage = tmp_path / f"step-{step}"
        shutil.copytree(base, stage)
        projects = copies(stage, 3)
        codes = []
        for project, fault in zip(projects, (1, 2, 3), strict=True):
            codes.append(agentsync(project, *command, fault=fault).code)
            text = (project / "agentsync.toml").read_bytes()
            assert text == before or b"[sources.up]" in text, (command, fault)
            tomllib.loads(text.decode())  # never half-written
        assert KILLED in codes, (command, codes)
        assert inproc(base, *command).code == 0
        for project in projects:
            if (project / "agentsync.toml").read_bytes() == before and command[1] == "add":
                assert inproc(project, *command).code == 0
            assert inproc(project, *rerun).code == 0
            assert (project / "agentsync.toml").read_bytes() == (
                base / "agentsync.toml"
            ).read_bytes()
    assert empty != (base / "agentsync.toml").read_bytes()

    user = Path(os.environ["XDG_CONFIG_HOME"]) / "agentsync" / "agentsync.toml"
    killed = agentsync(tmp_path, "--global", "source", "add", "up", upstream.url, fault=1)
    assert killed.code == KILLED
    assert not user.exists() or tomllib.loads(user.read_text()) is not None
    again = agentsync(tmp_path, "--global", "source", "add", "up", upstream.url)
    assert again.code == 0, again
    assert "[sources.up]" in user.read_text()


def test_lock_killed_at_each_write_leaves_the_old_or_the_new_lock(
    upstream: GitRepo, tmp_path: Path
) -> None:
    """`agentsync lock` writes the lock (and the state record) only: killed at each write,
    the lock is whole, old or new, no agent file appears, and the rerun finishes."""
    import tomllib

    base = tmp_path / "lock-only"
    base.mkdir()
    write_manifest(base, upstream.url, 'agent-01 = "team"\nagent-02 = "team"\n')
    assert inproc(base, "lock").code == 0
    old = (base / "agentsync.lock").read_bytes()
    move_upstream(upstream)
    write_manifest(base, upstream.url, 'agent-01 = "team"\nagent-03 = "team"\n')
    projects = copies(base, 4)
    codes = []
    for project, fault in zip(projects, (1, 2, 3, 4), strict=True):
        codes.append(agentsync(project, "lock", fault=fault).code)
        lock = (project / "agentsync.lock").read_bytes()
        tomllib.loads(lock.decode())  # never half-written
        assert not (project / TARGET).exists()
    assert KILLED in codes, codes
    assert inproc(base, "lock").code == 0
    new = (base / "agentsync.lock").read_bytes()
    assert new != old and b"agent-03" in new and b"agent-02" not in new
    for project in projects:
        assert (project / "agentsync.lock").read_bytes() in {old, new}
        assert inproc(project, "lock").code == 0
        assert (project / "agentsync.lock").read_bytes() == new
        assert inproc(project, "lock", "--check").code == 0
        assert not (project / TARGET).exists()


def test_search_killed_at_each_write_leaves_a_cache_the_next_search_reads(
    upstream: GitRepo, tmp_path: Path
) -> None:
    """`search` writes only its index in the shared cache: killed at each write (the
    mirror's fetch included), no project file changes and the next search lists the same."""

    project = tmp_path / "look"
    project.mkdir()
    write_manifest(project, upstream.url, 'agent-01 = "team"\n')
    manifest = (project / "agentsync.toml").read_bytes()
    cache = Path(os.environ["AGENTSYNC_CACHE_DIR"])
    codes = []
    for fault in range(1, 8):
        shutil.rmtree(cache, ignore_errors=True)
        codes.append(agentsync(project, "search", fault=fault).code)
        assert (project / "agentsync.toml").read_bytes() == manifest
        assert not (project / "agentsync.lock").exists()
        for index in (cache / "discovery").glob("*.json"):
            json.loads(index.read_bytes())  # whole, or not there
        again = inproc(project, "--json", "search")
        assert again.code == 0, again
        assert len(json.loads(again.out)["agents"]) == 12
    assert KILLED in codes and 0 in codes, codes


def test_status_killed_at_each_write_leaves_a_record_the_next_status_reads(
    upstream: GitRepo, tmp_path: Path
) -> None:
    """A full `status` keeps its answer in the state folder (one write): killed there, the
    next status still prints the full run's answer, and then keeps it."""
    base = tmp_path / "st"
    base.mkdir()
    write_manifest(base, upstream.url, 'agent-01 = "team"\nagent-02 = "team"\n')
    assert inproc(base, "install").code == 0
    assert inproc(base, "install").code == 0  # nothing to do: the clean record
    time.sleep(2.1)  # past the coarse-clock margin, so that the answer can be kept
    reference = inproc(base, "status")
    assert reference.code == 0 and "agent-02" in reference.out
    record = base / ".agentsync" / "status.json"
    assert record.is_file()
    record.unlink()
    killed = agentsync(base, "status", fault=1)
    assert killed.code == KILLED, killed
    assert killed.out == reference.out  # printed before the record is written
    assert not record.exists() or json.loads(record.read_bytes())
    for _ in range(2):  # in full (a temp file was left), then kept and read back
        again = inproc(base, "status")
        assert (again.code, again.out) == (reference.code, reference.out)
