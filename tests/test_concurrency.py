"""Concurrency: simultaneous `agentsync` processes in one project and across projects that share
one cache all succeed, leave one consistent state, never trip over git's own lock files, and
leave mirrors that pass `git fsck`; a run that cannot get the lock says so and gives up."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.fixtures import (
    TARGET,
    Cli,
    GitRepo,
    MakeRepo,
    agent_md,
    agents_repo,
    cache_dir,
    read_lock,
    write_manifest,
)
from tests.procs import Run, run_many

pytestmark = pytest.mark.slow  # every test runs agentsync processes side by side

RUNS = 8
GIT_LOCK_ERRORS = ("index.lock", "shallow.lock", ".lock': File exists", "Unable to create")


def run_together(jobs: Sequence[tuple[Path, Sequence[str]]], *, real: bool = False) -> list[Run]:
    """Start every `agentsync ARGS` process first, then wait for all (they truly overlap):
    real `python -m agentsync` processes, or (faster) processes forked from this one."""
    if not real:
        return run_many([(cwd, args, None) for cwd, args in jobs])
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "agentsync", *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for cwd, args in jobs
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(Run(proc.returncode, out, err))
    return done


def assert_all_succeeded(results: Sequence[Run]) -> None:
    for result in results:
        assert result.code == 0, result
        for marker in GIT_LOCK_ERRORS:
            assert marker not in result.err, result
        assert "Traceback" not in result.err


def assert_mirrors_sound() -> None:
    mirrors = list((cache_dir() / "mirrors").glob("*.git"))
    assert mirrors
    for mirror in mirrors:
        fsck = subprocess.run(
            ["git", f"--git-dir={mirror}", "fsck", "--strict", "--no-dangling"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert fsck.returncode == 0, fsck.stderr
        assert not list(mirror.rglob("*.lock")), "git lock files left in the mirror"
    staging = cache_dir() / "tmp"
    assert not staging.exists() or not list(staging.iterdir())


def files_of(project: Path) -> dict[str, bytes]:
    target = project / TARGET
    return {p.name: p.read_bytes() for p in sorted(target.iterdir())}


@pytest.fixture
def sources(make_repo: MakeRepo) -> list[GitRepo]:
    return [
        agents_repo(make_repo, f"source-{letter}", [f"{letter}{i}" for i in range(4)])
        for letter in "abc"
    ]


def manifest_for(sources: Sequence[GitRepo]) -> str:
    tables = "\n".join(
        f'[sources.s{i}]\nurl = "{repo.url}"\ninclude = ["*"]\n' for i, repo in enumerate(sources)
    )
    return tables + "\n[agents]\n"


def test_eight_installs_in_one_project(
    cli: Cli, sources: list[GitRepo], project_dir: Path, tmp_path: Path
) -> None:
    (project_dir / "agentsync.toml").write_text(manifest_for(sources))
    results = run_together([(project_dir, ["install"])] * RUNS, real=True)
    assert_all_succeeded(results)
    # exactly one run resolved and wrote; the others found everything in place
    writers = [r for r in results if "installed" in r.out]
    assert len(writers) == 1, [r.out for r in results]
    lock = (project_dir / "agentsync.lock").read_bytes()
    assert len(tomllib.loads(lock.decode())["agents"]) == 12
    assert len(files_of(project_dir)) == 12
    status = cli("--json", "status", cwd=project_dir)
    assert status.code == 0, status
    assert '"modified"' not in status.out and '"missing"' not in status.out
    again = cli("install", cwd=project_dir)
    assert again.code == 0 and "up to date" in again.out
    assert_mirrors_sound()


def test_eight_installs_adding_different_agents_to_one_project(
    cli: Cli, make_repo: MakeRepo, project_dir: Path
) -> None:
    """Each run edits the manifest: the run lock serialises them, so no edit is lost."""
    names = [f"agent-{i}" for i in range(RUNS)]
    repo = agents_repo(make_repo, "many", names)
    write_manifest(project_dir, repo.url, source="s")
    results = run_together([(project_dir, ["install", f"s/{name}"]) for name in names])
    assert_all_succeeded(results)
    manifest = tomllib.loads((project_dir / "agentsync.toml").read_text())
    assert sorted(manifest["agents"]) == names
    assert sorted(read_lock(project_dir)["agents"]) == names
    assert sorted(files_of(project_dir)) == [f"{name}.md" for name in names]
    assert cli("install", "--frozen", cwd=project_dir).code == 0
    assert_mirrors_sound()


def test_eight_projects_sharing_one_cold_cache(sources: list[GitRepo], tmp_path: Path) -> None:
    projects = []
    for index in range(RUNS):
        project = tmp_path / f"project-{index}"
        project.mkdir()
        (project / "agentsync.toml").write_text(manifest_for(sources))
        projects.append(project)
    results = run_together([(project, ["install"]) for project in projects])
    assert_all_succeeded(results)
    reference = files_of(projects[0])
    assert len(reference) == 12
    locks = {(p / "agentsync.lock").read_bytes() for p in projects}
    assert len(locks) == 1  # one consistent resolution everywhere
    for project in projects:
        assert files_of(project) == reference
    assert_mirrors_sound()
    # and again, all at once, now that upstream moved: fetches overlap on warm mirrors
    for repo in sources:
        repo.write("agents/extra.md", agent_md(f"extra-{repo.path.name}", "New."))
        repo.commit("more")
    results = run_together([(project, ["update"]) for project in projects])
    assert_all_succeeded(results)
    assert len({(p / "agentsync.lock").read_bytes() for p in projects}) == 1
    assert len(files_of(projects[-1])) == 15
    assert_mirrors_sound()


def test_a_run_that_cannot_get_the_project_lock_gives_up_clearly(
    cli: Cli,
    sources: list[GitRepo],
    project_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentsync import session

    (project_dir / "agentsync.toml").write_text(manifest_for(sources[:1]))
    monkeypatch.setattr(session, "RUN_LOCK_WAIT", 0.3)
    (project_dir / ".agentsync").mkdir()
    # filelock is re-entrant within one process: hold the lock from a separate one
    held = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import filelock, sys, time\n"
            "lock = filelock.FileLock(sys.argv[1]); lock.acquire()\n"
            "print('held', flush=True); time.sleep(30)",
            str(project_dir / ".agentsync" / "run.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert held.stdout is not None and held.stdout.readline() == "held\n"
        result = cli("install", cwd=project_dir)
    finally:
        held.kill()
        held.wait()
    assert result.code == 1, result
    assert "another agentsync run has held the lock" in result.err
    assert "hint:" in result.err
    assert not (project_dir / "agentsync.lock").exists()
    assert cli("install", cwd=project_dir).code == 0  # the lock dies with its holder


def test_readers_survive_a_refresh_rebuilding_their_mirror(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    """`install --refresh` replaces the mirror directory; runs reading from it at that moment
    (their `cat-file` holds the old one open) must neither fail nor blame the lock."""
    names = [f"a{index}" for index in range(80)]
    repo = agents_repo(make_repo, "shared", names, description="Agent {name}.", body="x" * 2000)
    projects = []
    for index in range(7):
        project = tmp_path / f"project-{index}"
        project.mkdir()
        write_manifest(project, repo.url, None, source="s", extra='include = ["*"]\n')
        projects.append(project)
    assert_all_succeeded(run_many([(project, ["install"], None) for project in projects]))
    refreshers, readers = projects[:2], projects[2:]
    for _ in range(3):
        # a no-op `install --frozen` still reads and verifies every locked file
        jobs: list[tuple[Path, Sequence[str], int | None]] = [
            *((project, ["install", "--refresh"], None) for project in refreshers),
            *((project, ["install", "--frozen"], None) for project in readers[:3]),
            *((project, ["show", "a7"], None) for project in readers[3:]),
        ]
        results = run_many(jobs)
        for result in results:
            assert "agentsync.lock records" not in result.err, result
            assert "delete it" not in result.err, result
        assert_all_succeeded(results)
    assert_mirrors_sound()
