"""Crash stress: kill agentsync hundreds of times mid-run and count inconsistent states (must be 0).

Scenarios, each against a real git source with many agents:
  install  fresh project, killed after the N-th atomic write (AGENTSYNC_FAULT_AFTER_WRITES=N)
  update   upstream moved (changed, added and deleted agents), killed after the N-th write
  remove   five agents removed, killed after the N-th write; rerun alternates remove/install
  merge    every agent edited locally and changed upstream elsewhere in the file: `update`
           merges them all; killed after the N-th write, rerun as `update` or as `install`
           (then `update`); every local edit must survive every kill and every rerun
  random   install, update or merge killed with SIGKILL at a random moment (mid-write,
           mid-rename, mid-git), including a fetch on a cold cache

After every kill: each agent file must be byte-for-byte its old or its new version and the
lock the old or the new lock; after a plain rerun the project must be exactly what an
uninterrupted run leaves (files, lock), `status` all ok, no journal, no temp files.

    python benchmarks/stress_crash.py                 # ~300 kill points, forked processes
    python benchmarks/stress_crash.py --rounds 3 --real   # real `python -m agentsync` runs
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TARGET = Path(".claude") / "agents"
FAULT_ENV = "AGENTSYNC_FAULT_AFTER_WRITES"


# -- environment and source repository --------------------------------------------------------


def hermetic_env(root: Path) -> None:
    home = root / "home"
    home.mkdir()
    config = home / ".gitconfig"
    config.write_text(
        "[user]\n\tname = Stress\n\temail = stress@example.invalid\n"
        '[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n'
    )
    for key in [k for k in os.environ if k.startswith("GIT_")]:
        del os.environ[key]
    os.environ.update(
        HOME=str(home),
        GIT_CONFIG_GLOBAL=str(config),
        GIT_CONFIG_NOSYSTEM="1",
        AGENTSYNC_CACHE_DIR=str(root / "cache"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    os.environ.pop("AGENTSYNC_TIMEOUT", None)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def agent(name: str, text: str) -> str:
    return f"---\nname: {name}\ndescription: {text}\ntools: Read, Grep\n---\n\n{text}\n"


def make_source(root: Path, count: int) -> Path:
    repo = root / "upstream"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "agents").mkdir()
    for index in range(count):
        name = f"agent-{index:03d}"
        (repo / "agents" / f"{name}.md").write_text(agent(name, f"Version one of {name}."))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v1")
    return repo


EDIT = "MY LOCAL EDIT of {name}."


def make_edited_source(root: Path, count: int) -> Path:
    repo = root / "edited-upstream"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "agents").mkdir()
    for index in range(count):
        name = f"edited-{index:03d}"
        body = f"Intro.\nKeep me.\nMiddle.\nTail.\nEnd of {name}.\n"
        (repo / "agents" / f"{name}.md").write_text(agent(name, f"Edited {name}.") + body)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v1")
    return repo


def edit_locally(project: Path) -> dict[str, str]:
    """Edit every installed agent on one line; returns file name -> the edit's text."""
    edits = {}
    for path in sorted((project / TARGET).iterdir()):
        text = EDIT.format(name=path.stem)
        path.write_text(path.read_text().replace("Keep me.", text))
        edits[path.name] = text
    return edits


def change_edited_upstream(repo: Path) -> None:
    """v2 changes every agent on another line than the local edits: clean merges."""
    for path in sorted((repo / "agents").iterdir()):
        path.write_text(path.read_text().replace("Tail.", "Tail, improved upstream."))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v2")


def move_upstream(repo: Path, count: int) -> None:
    """v2: a third of the agents change, two disappear, two are new."""
    for index in range(0, count, 3):
        name = f"agent-{index:03d}"
        (repo / "agents" / f"{name}.md").write_text(agent(name, f"Version two of {name}."))
    for index in (count - 1, count - 2):
        (repo / "agents" / f"agent-{index:03d}.md").unlink()
    for name in ("new-one", "new-two"):
        (repo / "agents" / f"{name}.md").write_text(agent(name, f"New in v2: {name}."))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v2")


# -- running agentsync ------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    code: int  # negative: killed by that signal
    out: str
    err: str


class Runner:
    """Runs agentsync in separate processes: forked from this one (fast), or real ones."""

    def __init__(self, real: bool) -> None:
        self.real = real
        # the entry point of the command: the shortcuts of agentsync.fastpath first
        from agentsync.__main__ import entry

        self.main = entry

    def inproc(self, cwd: Path, *args: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = 0
        here = Path.cwd()
        os.chdir(cwd)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                self.main(list(args))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 0
        finally:
            os.chdir(here)
        return Run(code, out.getvalue(), err.getvalue())

    def many(
        self,
        jobs: Sequence[tuple[Path, Sequence[str], int | None]],
        kill_after: Sequence[float | None] | None = None,
    ) -> list[Run]:
        started = [self._start(cwd, args, fault, i) for i, (cwd, args, fault) in enumerate(jobs)]
        if kill_after is not None:
            begin = time.monotonic()
            timed = sorted(
                (d, s[0]) for d, s in zip(kill_after, started, strict=True) if d is not None
            )
            for delay, pid in timed:
                time.sleep(max(0.0, begin + delay - time.monotonic()))
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        runs = []
        for pid, out, err in started:
            _, status = os.waitpid(pid, 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            runs.append(Run(code, out.read_text(), err.read_text()))
            out.unlink()
            err.unlink()
        return runs

    def _start(
        self, cwd: Path, args: Sequence[str], fault: int | None, index: int
    ) -> tuple[int, Path, Path]:
        out = cwd.parent / f".{cwd.name}.{index}.out"
        err = cwd.parent / f".{cwd.name}.{index}.err"
        out.touch()  # before the fork: a child killed at once must still leave both files
        err.touch()
        pid = os.fork()
        if pid:
            return pid, out, err
        code = 70
        try:
            os.chdir(cwd)
            if fault is None:
                os.environ.pop(FAULT_ENV, None)
            else:
                os.environ[FAULT_ENV] = str(fault)
            if self.real:
                with out.open("w") as o, err.open("w") as e:
                    argv = [sys.executable, "-m", "agentsync", *args]
                    os.dup2(o.fileno(), 1)
                    os.dup2(e.fileno(), 2)
                    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter
            sys.stdout, sys.stderr = out.open("w"), err.open("w")
            try:
                self.main(list(args))
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else 0
            except BaseException:
                traceback.print_exc()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# -- states and checks ------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    agents: dict[str, bytes]
    lock: bytes | None

    @classmethod
    def of(cls, project: Path) -> State:
        target = project / TARGET
        agents = {p.name: p.read_bytes() for p in target.iterdir()} if target.is_dir() else {}
        lock = project / "agentsync.lock"
        return cls(agents, lock.read_bytes() if lock.exists() else None)


def torn_problems(state: State, old: State, new: State) -> list[str]:
    problems = []
    if state.lock not in (old.lock, new.lock):
        problems.append("the lock is neither the old nor the new one")
    for name, data in state.agents.items():
        if name.endswith(".agentsync-tmp"):
            continue  # killed between write and rename; never a *.md Claude Code would load
        if data not in {old.agents.get(name), new.agents.get(name)} - {None}:
            problems.append(f"{name}: neither its old nor its new content")
    return problems


def converged_problems(runner: Runner, project: Path, final: State) -> list[str]:
    problems = []
    state = State.of(project)
    if state.lock != final.lock:
        problems.append("lock differs from an uninterrupted run")
    if state.agents != final.agents:
        extra = sorted(set(state.agents) ^ set(final.agents))
        changed = sorted(n for n in state.agents.keys() & final.agents.keys()
                         if state.agents[n] != final.agents[n])  # fmt: skip
        problems.append(f"agent files differ (extra/missing {extra}, changed {changed})")
    status = runner.inproc(project, "--json", "status")
    # `--json status` is one document whose "agents" list holds a row per agent
    document = json.loads(status.out or "{}")
    states = {entry["state"] for entry in document.get("agents", [])}
    # "merged": an agent carrying local edits merged with upstream, as a merge leaves it
    if status.code != 0 or states - {"ok", "merged"}:
        problems.append(f"status says {sorted(states)} (exit {status.code})")
    if (project / ".agentsync" / "journal.json").exists():
        problems.append("journal left behind")
    if list(project.rglob("*.agentsync-tmp")):
        problems.append("temp files left behind")
    return problems


# -- scenarios --------------------------------------------------------------------------------


@dataclass
class Tally:
    points: int = 0
    killed: int = 0
    inconsistent: int = 0
    edit_points: int = 0  # kill points of scenarios with local edits
    edits_checked: int = 0
    edits_lost: int = 0

    def record(self, label: str, run: Run, problems: list[str]) -> None:
        self.points += 1
        self.killed += run.code == -signal.SIGKILL
        if problems:
            self.inconsistent += 1
            print(f"INCONSISTENT {label}: " + "; ".join(problems), file=sys.stderr)


def lost_edits(project: Path, edits: dict[str, str]) -> list[str]:
    """The agent files whose local edit is gone (or the file itself)."""
    lost = []
    for name, text in edits.items():
        path = project / TARGET / name
        if not path.is_file() or text not in path.read_text(errors="replace"):
            lost.append(name)
    return lost


@dataclass(frozen=True)
class Scenario:
    name: str
    base: Path  # the project before the command
    command: tuple[str, ...]
    reruns: tuple[tuple[str, ...], ...]  # alternated across kill points
    old: State
    new: State
    writes: int  # atomic writes an uninterrupted run makes (about)
    edits: dict[str, str] | None = None  # local edits that must survive: file -> text


def copy_project(base: Path, tag: str) -> Path:
    copy = base.parent / f"{base.name}-{tag}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(base, copy, symlinks=True)
    return copy


def run_points(
    runner: Runner,
    scenario: Scenario,
    points: list[tuple[int | None, float | None]],
    tally: Tally,
    workers: int,
    *,
    cold_cache: bool = False,
) -> None:
    """Each point: (fault N, or a kill delay in seconds). Batches of `workers` run at once."""
    for start in range(0, len(points), workers):
        batch = points[start : start + workers]
        if cold_cache:
            shutil.rmtree(os.environ["AGENTSYNC_CACHE_DIR"], ignore_errors=True)
        projects = [
            copy_project(scenario.base, f"{scenario.name}-{start + i}") for i in range(len(batch))
        ]
        jobs = [(p, scenario.command, f) for p, (f, _) in zip(projects, batch, strict=True)]
        delays = [delay for _, delay in batch]
        timing = delays if any(d is not None for d in delays) else None
        killed = runner.many(jobs, kill_after=timing)
        torn = [torn_problems(State.of(p), scenario.old, scenario.new) for p in projects]
        # Rerunning the same `remove` only makes sense while it is unfinished (its lock not
        # yet written): `remove` of an agent already gone is a usage error, by design.
        reruns = [
            scenario.reruns[0]
            if State.of(p).lock == scenario.new.lock
            else scenario.reruns[(start + i) % len(scenario.reruns)]
            for i, p in enumerate(projects)
        ]
        # `remove` edits the manifest first: killed before that (after a cache write, which
        # counts as a write too), nothing changed, and a rerun of `install` rightly keeps
        # the old state, which is then the one to converge to
        manifest = (scenario.base / "agentsync.toml").read_bytes()
        untouched = [
            scenario.command[0] == "remove" and (p / "agentsync.toml").read_bytes() == manifest
            for p in projects
        ]
        lost_after_kill = [lost_edits(p, scenario.edits or {}) for p in projects]
        again = runner.many([(p, r, None) for p, r in zip(projects, reruns, strict=True)])
        lost_after_rerun = [lost_edits(p, scenario.edits or {}) for p in projects]
        # a rerun other than the command itself (`install` after a killed `update`) leaves
        # the edits kept as local edits; running the command then must finish the job
        settle = [i for i, r in enumerate(reruns) if r != scenario.command]
        if scenario.edits and settle:
            settled = runner.many([(projects[i], scenario.command, None) for i in settle])
            for i, run in zip(settle, settled, strict=True):
                if run.code != 0:
                    again[i] = Run(run.code, run.out, "settling: " + run.err)
        for i, project in enumerate(projects):
            fault, delay = batch[i]
            label = f"{scenario.name} fault={fault} delay={delay} rerun={' '.join(reruns[i])}"
            problems = list(torn[i])
            if again[i].code != 0:
                problems.append(f"rerun exit {again[i].code}: {again[i].err.strip()[:300]}")
            elif "local edits" in again[i].err and not scenario.edits:
                problems.append("rerun reported local edits")
            if scenario.edits:
                lost = sorted(set(lost_after_kill[i]) | set(lost_after_rerun[i]))
                lost = sorted(set(lost) | set(lost_edits(project, scenario.edits)))
                tally.edit_points += 1
                tally.edits_checked += len(scenario.edits)
                tally.edits_lost += len(lost)
                if lost:
                    problems.append(f"local edits lost: {', '.join(lost)}")
            final = scenario.old if untouched[i] and reruns[i] != scenario.command else scenario.new
            problems += converged_problems(runner, project, final)
            tally.record(label, killed[i], problems)
            shutil.rmtree(project, ignore_errors=True)


def prepare(root: Path, runner: Runner, count: int) -> list[Scenario]:
    repo = make_source(root, count)
    url = repo.as_uri()
    scenarios = []

    def project(name: str, text: str) -> Path:
        path = root / name
        path.mkdir()
        (path / "agentsync.toml").write_text(text)
        return path

    include = f'[sources.up]\nurl = "{url}"\ninclude = ["*"]\n\n[agents]\n'
    include += 'renamed = { source = "up", agent = "agent-001" }\n'
    fresh = project("install", include)
    names = [f"agent-{i:03d}" for i in range(10)]
    explicit = f'[sources.up]\nurl = "{url}"\n\n[agents]\n' + "".join(
        f'{n} = "up"\n' for n in names
    )
    before_remove = project("remove", explicit)
    assert runner.inproc(before_remove, "install").code == 0
    reference = copy_project(before_remove, "reference")
    assert runner.inproc(reference, "remove", *names[:5]).code == 0
    scenarios.append(
        Scenario(
            "remove",
            before_remove,
            ("remove", *names[:5]),
            (("install",), ("remove", *names[:5])),
            State.of(before_remove),
            State.of(reference),
            10,
        )
    )
    before_update = project("update", include)
    assert runner.inproc(before_update, "install").code == 0
    move_upstream(repo, count)
    reference = copy_project(before_update, "reference")
    assert runner.inproc(reference, "update").code == 0
    scenarios.append(
        Scenario(
            "update",
            before_update,
            ("update",),
            (("update",),),
            State.of(before_update),
            State.of(reference),
            count // 3 + 10,
        )
    )
    edited_repo = make_edited_source(root, count)
    edited = project("merge", f'[sources.up]\nurl = "{edited_repo.as_uri()}"\ninclude = ["*"]\n')
    assert runner.inproc(edited, "install").code == 0
    edits = edit_locally(edited)
    change_edited_upstream(edited_repo)
    reference = copy_project(edited, "reference")
    assert runner.inproc(reference, "update").code == 0
    assert not lost_edits(reference, edits)
    scenarios.append(
        Scenario(
            "merge",
            edited,
            ("update",),
            (("update",), ("install",)),
            State.of(edited),
            State.of(reference),
            count + 3,
            edits,
        )
    )
    # a fresh project installs what upstream holds now (v2)
    reference = copy_project(fresh, "reference-v2")
    assert runner.inproc(reference, "install").code == 0
    v2 = State.of(reference)
    scenarios.append(
        Scenario("install", fresh, ("install",), (("install",),), State({}, None), v2, count + 5)
    )
    return scenarios


def timed(runner: Runner, scenario: Scenario) -> float:
    probe = copy_project(scenario.base, f"{scenario.name}-timing")
    started = time.monotonic()
    runner.many([(probe, scenario.command, None)])
    shutil.rmtree(probe)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--agents", type=int, default=30, help="agents in the source")
    parser.add_argument("--rounds", type=int, default=2, help="repeat every scenario")
    parser.add_argument("--random", type=int, default=80, help="random-time kills per round")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2))
    parser.add_argument("--real", action="store_true", help="exec `python -m agentsync`")
    parser.add_argument("--seed", type=int, default=None)
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else random.randrange(1 << 30)  # noqa: S311
    chance = random.Random(seed)  # noqa: S311 - kill timing, not cryptography
    tally = Tally()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="agentsync-stress-") as folder:
        root = Path(folder)
        hermetic_env(root)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        runner = Runner(options.real)
        scenarios = prepare(root, runner, options.agents)
        by_name = {s.name: s for s in scenarios}
        for _ in range(options.rounds):
            for scenario in scenarios:
                faults = [(n, None) for n in range(1, scenario.writes + 3)]
                run_points(runner, scenario, faults, tally, options.workers)
            for name in ("install", "update", "merge"):
                scenario = by_name[name]
                span = timed(runner, scenario)
                delays: list[tuple[int | None, float | None]] = [
                    (None, chance.uniform(0.0, span * 1.3)) for _ in range(options.random // 2)
                ]
                cold = name == "install"  # kills land in the mirror's creation too
                run_points(runner, scenario, delays, tally, options.workers, cold_cache=cold)
    elapsed = time.monotonic() - started
    print(
        f"kill points: {tally.points}  killed mid-run: {tally.killed}  "
        f"inconsistent states: {tally.inconsistent}  "
        f"({elapsed:.1f}s, seed {seed}, {'real processes' if options.real else 'forked'})"
    )
    print(
        f"merges of edited agents: {tally.edit_points} kill points, "
        f"{tally.edits_checked} local edits checked, {tally.edits_lost} lost"
    )
    return 1 if tally.inconsistent or tally.edits_lost else 0


if __name__ == "__main__":
    sys.exit(main())
