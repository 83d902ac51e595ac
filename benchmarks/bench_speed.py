"""Time agentsync side by side with its baselines in one run, and write the tables down.

    python benchmarks/bench_speed.py [--agentsync PATH] [--sizes 20x50,200x50] [--repeat 5]
        [--gitman PATH] [--write BENCHMARKS.md] [--quick]

For each size SxA (S sources of A agents each) it generates S local git repositories, a
manifest that includes every agent of every source, and then times (median of --repeat runs,
wall and CPU of the child, peak memory of the largest process in the child's tree):

  cold      `install -q` with an empty cache in a project holding only agentsync.toml
  warm      `install --frozen --offline -q` in a new project with the lock, cache full
  no-op     `install -q` in an installed project
  status    `status`; outdated: `outdated` (nothing moved upstream; repeated, and first
            after a change, its record deleted); search: `search`
  update    `update -q` after one upstream commit (a fresh commit before each run)
  check     `check DIR` of a folder of 2,000 agent files
  --help    `agentsync --help`

against baselines measured in the same run: `python -c pass`, a stat of every installed
file, parallel `git clone --bare --depth 1`, the same clones plus a durable write of every
agent file (the floor of a cold install), parallel `git ls-remote`, parallel no-op
`git fetch` into warm mirrors, and `gitman install` when a gitman executable is given or on
PATH (install it into its own venv: `python -m venv /tmp/gitman-venv &&
/tmp/gitman-venv/bin/pip install gitman`, then pass `--gitman /tmp/gitman-venv/bin/gitman`).

The Markdown section goes to stdout (progress goes to stderr); with --write FILE it replaces
the text between the bench_speed markers in FILE, or is appended with the markers.
`--quick` runs only 20x50 with 3 repetitions, as a fast sanity run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

START_MARK = "<!-- bench_speed:start -->"
END_MARK = "<!-- bench_speed:end -->"
BODY_LINES = 30
CHECK_FILES = 2000
WORKERS = os.cpu_count() or 1
MEMORY_TARGET_AGENTS = 10_000


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float = 0.0


@dataclass
class Figure:
    """The samples of one scenario: median wall and CPU time, the largest peak memory."""

    samples: list[Sample] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss_mb(self) -> float:
        return max(s.rss_mb for s in self.samples)


@dataclass
class SizeResult:
    sources: int
    agents: int
    ours: dict[str, Figure]
    base: dict[str, Figure]
    gitman_note: str

    @property
    def total(self) -> int:
        return self.sources * self.agents


# ---------------------------------------------------------------- processes and timing


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def clean_env(home: Path) -> dict[str, str]:
    """A minimal environment, so that no setting of the user's reaches git or agentsync."""
    env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
    env.update(
        HOME=str(home),
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME="Bench",
        GIT_AUTHOR_EMAIL="bench@example.invalid",
        GIT_COMMITTER_NAME="Bench",
        GIT_COMMITTER_EMAIL="bench@example.invalid",
    )
    return env


def sh(args: Sequence[str], cwd: Path, env: dict[str, str]) -> str:
    """Run a setup or baseline command; any failure stops the benchmark with its stderr."""
    result = subprocess.run(
        args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(
            f"{shlex.join(args)} (in {cwd}) exited {result.returncode}:\n"
            f"{result.stderr.decode(errors='replace')}"
        )
    return result.stdout.decode(errors="replace")


def maxrss_mb(value: int) -> float:
    # Linux reports kilobytes, macOS bytes.
    return value / (1024 * 1024) if sys.platform == "darwin" else value / 1024


# A forked child's peak memory starts at its parent's: the kernel keeps the high-water mark
# across exec. So each timed command is started by this small launcher, whose own size
# (about 10 MB) is the floor of every peak figure, instead of by the benchmark itself, which
# holds the generated files in memory. It reports exit code, wall, CPU and peak on the pipe
# whose fd is its first argument.
LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - start
cpu = usage.ru_utime + usage.ru_stime
code = os.waitstatus_to_exitcode(status)
os.write(int(sys.argv[1]), f"{code} {wall} {cpu} {usage.ru_maxrss}".encode())
"""


def run_child(
    args: Sequence[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)
) -> tuple[Sample, str]:
    """Run one timed child with no terminal; wait4 gives the CPU and peak memory of its tree.

    Output goes to files rather than pipes so that a long listing cannot block the child.
    """
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", LAUNCHER, str(write_end), *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            pass_fds=(write_end,),
        )
        os.close(write_end)
        with os.fdopen(read_end, "rb") as report:
            fields = report.read().decode().split()
        proc.wait()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        code = int(fields[0]) if fields else proc.returncode
        if proc.returncode != 0 or code not in ok:
            raise SystemExit(
                f"{shlex.join(args)} (in {cwd}) exited {code}, expected {ok}:\n"
                f"{err.read().decode(errors='replace')}{stdout[-2000:]}"
            )
    wall, cpu, rss = float(fields[1]), float(fields[2]), int(fields[3])
    return Sample(wall, cpu, maxrss_mb(rss)), stdout


def timed_here(action: Callable[[], object]) -> Sample:
    """Time work done in this process (threads running git, file writes): wall, and CPU of
    this process plus of every child it reaped meanwhile."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    action()
    wall = time.perf_counter() - start
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (
        children_after.ru_utime
        - children.ru_utime
        + children_after.ru_stime
        - children.ru_stime
        + own_after.ru_utime
        - own.ru_utime
        + own_after.ru_stime
        - own.ru_stime
    )
    return Sample(wall, cpu)


def parallel(commands: list[list[str]], cwd: Path, env: dict[str, str]) -> None:
    """Run git commands the way a parallel fetcher would: one worker per CPU."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(lambda command: sh(command, cwd, env), commands))


def fresh_dir(parent: Path) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=parent))


# ---------------------------------------------------------------- generated data


WRITE_FLOOR = """
import os
src, dest = {source!r}, {dest!r}
names = sorted(os.listdir(src))
datas = []
for name in names:
    with open(os.path.join(src, name), "rb") as f:
        datas.append(f.read())
os.makedirs(dest + "/agents")
os.makedirs(dest + "/tmp")
for name, data in zip(names, datas):
    fd = os.open(f"{{dest}}/tmp/.{{name}}.tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data)
    os.close(fd)
os.sync()
for name in names:
    os.rename(f"{{dest}}/tmp/.{{name}}.tmp", f"{{dest}}/agents/{{name}}")
fd = os.open(dest + "/agents", os.O_RDONLY)
os.fsync(fd)
os.close(fd)
"""


def agent_name(source: int, agent: int) -> str:
    return f"s{source:03d}-agent-{agent:03d}"


def agent_text(source: int, agent: int) -> str:
    body = "".join(
        f"Step {line}: read the files you are given, then report what you found.\n"
        for line in range(BODY_LINES)
    )
    return (
        f"---\nname: {agent_name(source, agent)}\n"
        f"description: Agent {agent} of source {source}.\ntools: Read, Grep\n---\n\n"
        f"You are agent {agent}.\n\n{body}"
    )


def make_source(root: Path, source: int, agents: int, env: dict[str, str]) -> Path:
    """One repository, one commit: the files are written first, then one add and one commit,
    which keeps generating 200 sources well under a minute."""
    repo = root / f"s{source:03d}"
    (repo / "agents").mkdir(parents=True)
    (repo / "docs").mkdir()
    for agent in range(agents):
        (repo / "agents" / f"{agent_name(source, agent)}.md").write_text(agent_text(source, agent))
    (repo / "docs" / "readme.txt").write_text("The agents live in agents/.\n" * 5)
    (repo / "docs" / "notes.txt").write_text("Not an agent.\n" * 20)
    (repo / "LICENSE").write_text("MIT\n")
    sh(["git", "init", "-q", "-b", "main"], repo, env)
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-q", "-m", "agents"], repo, env)
    return repo


def make_sources(root: Path, count: int, agents: int, env: dict[str, str]) -> list[Path]:
    root.mkdir(parents=True)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda i: make_source(root, i, agents, env), range(count)))


def manifest_text(sources: list[Path]) -> str:
    lines = ["[settings]", 'target = ".claude/agents"', ""]
    for repo in sources:
        lines += [f"[sources.{repo.name}]", f'url = "{repo.as_uri()}"', 'include = ["*"]', ""]
    lines.append("[agents]")
    return "\n".join(lines) + "\n"


def gitman_config(sources: list[Path]) -> str:
    lines = ["location: gitman_sources", "sources:"]
    for repo in sources:
        lines += [
            f"  - repo: {repo.as_uri()}",
            f"    name: {repo.name}",
            "    rev: main",
            "    type: git",
        ]
    return "\n".join(lines) + "\n"


def make_check_folder(folder: Path) -> None:
    folder.mkdir(parents=True)
    for i in range(CHECK_FILES):
        (folder / f"{agent_name(i // 100, i % 100)}.md").write_text(agent_text(i // 100, i % 100))


def installed_files(project: Path) -> list[Path]:
    return sorted(p for p in (project / ".claude" / "agents").rglob("*.md") if p.is_file())


# ---------------------------------------------------------------- one size


class Bench:
    """The generated data of one size and the runs against it."""

    def __init__(self, root: Path, agentsync: list[str], repeat: int) -> None:
        self.root = root
        self.agentsync = agentsync
        self.repeat = repeat
        self.neutral = fresh_dir(root / "neutral")

    def ours(
        self, args: list[str], project: Path, cache: Path, ok: tuple[int, ...] = (0,)
    ) -> tuple[Sample, str]:
        """One agentsync run with its own HOME and the given cache."""
        env = clean_env(fresh_dir(self.root / "homes"))
        env["AGENTSYNC_CACHE_DIR"] = str(cache)
        return run_child([*self.agentsync, *args], project, env, ok)

    def repeat_ours(
        self,
        args: list[str],
        project: Path,
        cache: Path,
        ok: tuple[int, ...] = (0,),
        before: Callable[[], object] | None = None,
    ) -> Figure:
        figure = Figure()
        for _ in range(self.repeat):
            if before is not None:
                before()
            figure.samples.append(self.ours(args, project, cache, ok)[0])
        return figure

    def repeat_here(
        self, action: Callable[[], object], before: Callable[[], object] | None = None
    ) -> Figure:
        figure = Figure()
        for _ in range(self.repeat):
            if before is not None:
                before()
            figure.samples.append(timed_here(action))
        return figure

    def repeat_child(self, args: list[str], cwd: Path, env: dict[str, str]) -> Figure:
        return Figure([run_child(args, cwd, env)[0] for _ in range(self.repeat)])


def bench_size(
    sources_n: int,
    agents_n: int,
    agentsync: list[str],
    repeat: int,
    gitman: str | None,
    roots: list[Path],
) -> SizeResult:
    # Nothing is deleted until the whole run ends: ext4 skips inodes freed in the last few
    # minutes while their inode-table block is still cached, so files created right after
    # thousands were deleted cost several times more to create (ours and the baselines').
    root = Path(tempfile.mkdtemp(prefix=f"bench_speed-{sources_n}x{agents_n}-"))
    roots.append(root)
    return measure_size(root, sources_n, agents_n, agentsync, repeat, gitman)


def measure_size(
    root: Path,
    sources_n: int,
    agents_n: int,
    agentsync: list[str],
    repeat: int,
    gitman: str | None,
) -> SizeResult:
    bench = Bench(root, agentsync, repeat)
    git_env = clean_env(fresh_dir(root / "homes"))
    total = sources_n * agents_n
    started = time.perf_counter()
    sources = make_sources(root / "sources", sources_n, agents_n, git_env)
    make_check_folder(root / "check")
    log(f"{sources_n}x{agents_n}: generated in {time.perf_counter() - started:.1f} s")
    manifest = manifest_text(sources)
    urls = [repo.as_uri() for repo in sources]
    ours: dict[str, Figure] = {}
    base: dict[str, Figure] = {}

    def new_project(lock: Path | None = None) -> Path:
        project = fresh_dir(root / "projects")
        (project / "agentsync.toml").write_text(manifest)
        if lock is not None:
            shutil.copy(lock, project / "agentsync.lock")
        return project

    def expect_installed(project: Path, what: str) -> None:
        found = len(installed_files(project))
        if found != total:
            raise SystemExit(f"{what}: {found} agent files installed, expected {total}")

    log("  cold install")
    ours["cold"] = Figure()
    installed = cache = root
    for _ in range(repeat):
        installed, cache = new_project(), fresh_dir(root / "caches")
        ours["cold"].samples.append(bench.ours(["install", "-q"], installed, cache)[0])
    expect_installed(installed, "cold install")
    lock = installed / "agentsync.lock"
    if not lock.is_file():
        raise SystemExit("cold install wrote no agentsync.lock")

    log("  warm install")
    warm_projects: list[Path] = []
    ours["warm"] = Figure()
    for _ in range(repeat):
        warm_projects.append(new_project(lock))
        args = ["install", "--frozen", "--offline", "-q"]
        ours["warm"].samples.append(bench.ours(args, warm_projects[-1], cache)[0])
    expect_installed(warm_projects[-1], "warm install")

    # The same files written durably by a bare script in a child Python (its start-up
    # included, as in ours), read from an installed project as ours reads the cache: temps in
    # a staging folder, one sync, the renames, one folder sync. On a file system mounted with
    # `discard`, file creation alone swings several-fold from run to run: this row says how
    # much of warm is the machine.
    source_agents = installed / ".claude" / "agents"
    base["durable write of the same files"] = Figure()
    for _ in range(repeat):
        dest = fresh_dir(root / "floors")
        script = WRITE_FLOOR.format(source=str(source_agents), dest=str(dest))
        sample = run_child([sys.executable, "-c", script], bench.neutral, git_env)[0]
        base["durable write of the same files"].samples.append(sample)

    log("  no-op, status, outdated, search")
    ours["no-op"] = bench.repeat_ours(["install", "-q"], installed, cache)
    # The first `outdated` after a change runs in full and records the refs it found; the
    # repeats are answered from the refs alone. Both are timed: the first with the record
    # deleted before each run.
    ours["outdated"] = bench.repeat_ours(["outdated"], installed, cache)
    record = installed / ".agentsync" / "outdated.json"
    ours["outdated, first"] = bench.repeat_ours(
        ["outdated"], installed, cache, before=lambda: record.unlink(missing_ok=True)
    )
    ours["search"] = bench.repeat_ours(["search"], installed, cache)
    # status of a project that settled: files written within 2 s are looked at in full
    ours["status"] = bench.repeat_ours(["status"], installed, cache)
    search_out = bench.ours(["search"], installed, cache)[1]
    if agent_name(sources_n - 1, agents_n - 1) not in search_out:
        raise SystemExit("search did not list the last generated agent")

    log("  baselines: python, stat, clones, floor, ls-remote, fetch")
    base["python -c pass"] = bench.repeat_child(
        [sys.executable, "-c", "pass"], bench.neutral, git_env
    )
    base["python -I -S -c pass"] = bench.repeat_child(
        [sys.executable, "-I", "-S", "-c", "pass"], bench.neutral, git_env
    )
    files = installed_files(installed)
    base["stat of installed files"] = bench.repeat_here(lambda: [p.stat() for p in files])

    clone_dest = [root]

    def new_clone_dest() -> None:
        clone_dest[0] = fresh_dir(root / "clones")

    def shallow_clones() -> None:
        commands = [
            ["git", "clone", "-q", "--bare", "--depth", "1", url, str(clone_dest[0] / f"{i}.git")]
            for i, url in enumerate(urls)
        ]
        parallel(commands, root, git_env)

    base["parallel shallow clone"] = bench.repeat_here(shallow_clones, before=new_clone_dest)

    texts = {
        f"{agent_name(s, a)}.md": agent_text(s, a)
        for s in range(sources_n)
        for a in range(agents_n)
    }

    def floor() -> None:
        shallow_clones()
        target = clone_dest[0] / "agents"
        target.mkdir()
        for name, text in texts.items():
            (target / name).write_text(text)
        # One sync for the whole batch: the cheapest way to make every file durable.
        os.sync()

    base["floor (shallow clone + durable write)"] = bench.repeat_here(floor, before=new_clone_dest)
    ls_remote = [["git", "ls-remote", url] for url in urls]
    base["parallel ls-remote"] = bench.repeat_here(lambda: parallel(ls_remote, root, git_env))

    mirrors = root / "mirrors"
    mirrors.mkdir()
    parallel(
        [
            ["git", "clone", "-q", "--mirror", url, str(mirrors / f"{i}.git")]
            for i, url in enumerate(urls)
        ],
        root,
        git_env,
    )
    fetches = [["git", "-C", str(mirrors / f"{i}.git"), "fetch", "-q"] for i in range(len(urls))]
    base["parallel no-op fetch"] = bench.repeat_here(lambda: parallel(fetches, root, git_env))

    log("  update after one upstream commit")
    changed = sources[0] / "agents" / f"{agent_name(0, 0)}.md"
    revision = [0]

    def upstream_commit() -> None:
        revision[0] += 1
        with changed.open("a") as handle:
            handle.write(f"Revision {revision[0]}.\n")
        sh(["git", "commit", "-q", "-am", f"revision {revision[0]}"], sources[0], git_env)

    ours["update"] = bench.repeat_ours(["update", "-q"], installed, cache, before=upstream_commit)
    mine = installed / ".claude" / "agents" / changed.name
    if f"Revision {revision[0]}." not in mine.read_text():
        raise SystemExit("update did not install the last upstream commit")

    log("  check, --help")
    # The documented codes: 0 clean, 1 errors found; the generated files should give 0.
    ours["check 2000"] = bench.repeat_ours(
        ["check", str(root / "check")], bench.neutral, cache, ok=(0, 1)
    )
    ours["--help"] = bench.repeat_ours(["--help"], bench.neutral, cache)

    gitman_note = ""
    if gitman is None:
        gitman_note = "gitman not found (pass --gitman PATH): its rows are skipped."
    else:
        log("  gitman install")
        config = gitman_config(sources)
        base["gitman install"] = Figure()
        for _ in range(repeat):
            project = fresh_dir(root / "gitman")
            (project / "gitman.yml").write_text(config)
            env = clean_env(fresh_dir(root / "homes"))
            # Its reference cache starts empty, like agentsync's in the cold runs.
            env["GITMAN_CACHE"] = str(fresh_dir(root / "gitman-caches"))
            sample, _ = run_child([gitman, "install", "--quiet"], project, env)
            base["gitman install"].samples.append(sample)
        if not (project / "gitman_sources" / sources[-1].name / "agents").is_dir():
            raise SystemExit("gitman install did not check out the last source")
    return SizeResult(sources_n, agents_n, ours, base, gitman_note)


# ---------------------------------------------------------------- the report


def seconds(value: float) -> str:
    return f"{value:.3f}"


def met(ok: bool | None) -> str:
    if ok is None:
        return "—"
    return "yes" if ok else "**no**"


def rows_for(result: SizeResult) -> list[list[str]]:
    ours, base = result.ours, result.base
    rows: list[list[str]] = []

    def row(
        scenario: str,
        baseline: str,
        baseline_s: float | None,
        ratio: float | None,
        target: str,
        ok: bool | None,
        memory_of: Figure | None = None,
    ) -> None:
        # The memory row shows only the peak of the scenario that used the most.
        memory_only = memory_of is not None
        figure = memory_of or ours[scenario]
        rows.append(
            [
                scenario,
                "" if memory_only else seconds(figure.wall),
                "" if memory_only else seconds(figure.cpu),
                f"{figure.rss_mb:.1f}",
                baseline,
                "" if baseline_s is None else seconds(baseline_s),
                "" if ratio is None else f"{ratio:.2f}x",
                target,
                met(ok),
            ]
        )

    def against(scenario: str, baseline: str, limit: float, label: str = "") -> None:
        ratio = ours[scenario].wall / base[baseline].wall
        row(scenario, label or baseline, base[baseline].wall, ratio, f"≤{limit:g}×", ratio <= limit)

    def budget(scenario: str, limit: float, target: str) -> None:
        wall = ours[scenario].wall
        row(scenario, "fixed budget", limit, wall / limit, target, wall <= limit)

    pass_s = base["python -c pass"].wall
    floor_s = pass_s + base["stat of installed files"].wall
    noop = ours["no-op"].wall
    row(
        "no-op",
        "`python -c pass` + stat of files",
        floor_s,
        noop / floor_s,
        "≤0.2 s and ≤2×",
        noop <= 0.2 and noop / floor_s <= 2,
    )
    helped = ours["--help"].wall
    row(
        "--help",
        "`python -c pass`",
        pass_s,
        helped / pass_s,
        "≤0.1 s and ≤3×",
        helped <= 0.1 and helped / pass_s <= 3,
    )
    budget("status", 0.1, "≤0.1 s")
    budget("warm", 0.5, "≤0.5 s")
    written = base["durable write of the same files"].wall
    row(
        "warm",
        "durable write of the same files",
        written,
        ours["warm"].wall / written,
        "—",
        None,
    )
    against("cold", "parallel shallow clone", 1.5)
    against("cold", "floor (shallow clone + durable write)", 1.2)
    if "gitman install" in base:
        gitman = base["gitman install"]
        ratio = ours["cold"].wall / gitman.wall
        row("cold", "gitman install (wall)", gitman.wall, ratio, "< gitman", ratio < 1)
        ratio = ours["cold"].cpu / gitman.cpu
        row("cold", "gitman install (CPU)", gitman.cpu, ratio, "< gitman CPU", ratio < 1)
    against("outdated", "parallel ls-remote", 1.5)
    ratio = ours["outdated, first"].wall / base["parallel ls-remote"].wall
    row("outdated, first", "parallel ls-remote", base["parallel ls-remote"].wall, ratio, "—", None)
    ratio = ours["update"].wall / base["parallel no-op fetch"].wall
    row("update", "parallel no-op fetch", base["parallel no-op fetch"].wall, ratio, "—", None)
    budget("check 2000", 1.0, "≤1 s")
    budget("search", 0.3, "≤0.3 s")
    peak = max(ours.values(), key=lambda f: f.rss_mb)
    peak_name = next(name for name, f in ours.items() if f is peak)
    ok = peak.rss_mb <= 150 if result.total >= MEMORY_TARGET_AGENTS else None
    row(
        f"peak memory (largest: {peak_name})",
        "",
        None,
        None,
        "≤150 MB at 10,000 agents",
        ok,
        memory_of=peak,
    )
    return rows


def table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def size_section(result: SizeResult, repeat: int) -> list[str]:
    lines = [
        f"### {result.sources}x{result.agents}: {result.sources} sources × {result.agents}"
        f" agents = {result.total:,} agents (median of {repeat})",
        "",
    ]
    header = [
        "scenario",
        "agentsync median s",
        "CPU s",
        "peak MB",
        "baseline",
        "baseline s",
        "ratio",
        "target",
        "met?",
    ]
    lines += table(header, rows_for(result), {1, 2, 3, 5, 6})
    lines += ["", "Baselines:", ""]
    base_rows = [[name, seconds(f.wall), seconds(f.cpu)] for name, f in result.base.items()]
    lines += table(["baseline", "median s", "CPU s"], base_rows, {1, 2})
    if result.gitman_note:
        lines += ["", result.gitman_note]
    return [*lines, ""]


def growth_section(small: SizeResult, large: SizeResult) -> list[str]:
    agents_ratio = large.total / small.total
    lines = [
        f"### Growth from {small.sources}x{small.agents} to {large.sources}x{large.agents}"
        f" ({agents_ratio:g}× the agents)",
        "",
    ]
    rows = []
    for name, figure in small.ours.items():
        other = large.ours[name]
        rows.append(
            [
                name,
                seconds(figure.wall),
                seconds(other.wall),
                f"{other.wall / figure.wall:.2f}x",
                f"{figure.rss_mb:.1f}",
                f"{other.rss_mb:.1f}",
                f"{other.rss_mb / figure.rss_mb:.2f}x",
            ]
        )
    header = [
        "scenario",
        f"{small.sources}x{small.agents} s",
        f"{large.sources}x{large.agents} s",
        "time ratio",
        "peak MB small",
        "peak MB large",
        "memory ratio",
    ]
    lines += table(header, rows, {1, 2, 3, 4, 5, 6})
    return [*lines, ""]


def agentsync_version(agentsync: list[str]) -> str:
    """`agentsync --version` when it exists, else the package metadata of its interpreter,
    with the commit of the source tree when it is a git checkout."""
    result = subprocess.run(
        [*agentsync, "--version"], capture_output=True, stdin=subprocess.DEVNULL, check=False
    )
    if result.returncode == 0:
        return result.stdout.decode().strip().removeprefix("agentsync ")
    python = agentsync[0]
    if python != sys.executable:
        first = Path(python).read_bytes()[:200].split(b"\n", 1)[0]
        if not first.startswith(b"#!"):
            return "unknown"
        python = first[2:].decode().strip()
    probe = (
        "import importlib.metadata as m, os, agentsync;"
        "print(m.version('agentsync')); print(os.path.dirname(agentsync.__file__))"
    )
    # -I keeps the current folder off sys.path, so the probe sees what the executable imports.
    result = subprocess.run([python, "-I", "-c", probe], capture_output=True, check=False)
    if result.returncode != 0:
        return "unknown"
    version, folder = result.stdout.decode().split("\n")[:2]
    head = subprocess.run(
        ["git", "-C", folder, "rev-parse", "--short", "HEAD"], capture_output=True, check=False
    )
    if head.returncode != 0:
        return f"{version} (package metadata)"
    dirty = subprocess.run(
        ["git", "-C", folder, "status", "--porcelain", "--", "."], capture_output=True, check=False
    )
    state = ", uncommitted changes" if dirty.stdout.strip() else ""
    return f"{version} (package metadata; source at {head.stdout.decode().strip()}{state})"


def machine_lines(agentsync: list[str]) -> list[str]:
    uname = os.uname()
    git = subprocess.run(["git", "--version"], capture_output=True, check=False)
    return [
        f"- machine: {uname.sysname} {uname.release} {uname.machine}, {os.cpu_count()} CPUs",
        f"- Python {sys.version.split()[0]}, {git.stdout.decode().strip()}",
        f"- agentsync {agentsync_version(agentsync)}",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
    ]


def report(results: list[SizeResult], agentsync: list[str], repeat: int) -> str:
    command = shlex.join(["python", "benchmarks/bench_speed.py", *sys.argv[1:]])
    lines = [
        "## Speed side by side (`benchmarks/bench_speed.py`)",
        "",
        *machine_lines(agentsync),
        f"- command: `{command}`",
        "",
        "Wall time is the median of the runs; CPU is user + system of the child and its"
        " children; peak MB is the largest resident set of any one process in the child's"
        " tree. Sources are local repositories reached through `file://`, so the network is"
        " not part of any number. Parallel baselines use one worker per CPU. The floor's"
        " `os.sync()` flushes the whole machine, so other work on it shows up there.",
        "",
    ]
    for result in results:
        lines += size_section(result, repeat)
    if len(results) > 1:
        by_size = sorted(results, key=lambda r: r.total)
        lines += growth_section(by_size[0], by_size[-1])
    return "\n".join(lines).rstrip() + "\n"


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else ""
    block = f"{START_MARK}\n{section.rstrip()}\n{END_MARK}"
    if START_MARK in text and END_MARK in text:
        head, rest = text.split(START_MARK, 1)
        text = head + block + rest.split(END_MARK, 1)[1]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block + "\n"
    path.write_text(text)


# ---------------------------------------------------------------- command line


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        sources, _, agents = part.strip().partition("x")
        if not (sources.isdigit() and agents.isdigit()) or min(int(sources), int(agents)) < 1:
            raise argparse.ArgumentTypeError(f"size {part!r} is not SOURCESxAGENTS, e.g. 20x50")
        sizes.append((int(sources), int(agents)))
    return sizes


def default_agentsync() -> list[str]:
    beside = Path(sys.executable).parent / "agentsync"
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "agentsync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--agentsync", help="agentsync executable (default: beside python)")
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("20x50,200x50"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gitman", help="gitman executable (default: gitman on PATH)")
    parser.add_argument("--write", type=Path, help="Markdown file to write the section into")
    parser.add_argument("--quick", action="store_true", help="only 20x50, 3 repetitions")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeat = [(20, 50)], 3
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    agentsync = [str(Path(args.agentsync).absolute())] if args.agentsync else default_agentsync()
    gitman = args.gitman or shutil.which("gitman")
    if gitman is not None:
        gitman = str(Path(gitman).absolute())

    roots: list[Path] = []
    try:
        results = [
            bench_size(sources, agents, agentsync, args.repeat, gitman, roots)
            for sources, agents in args.sizes
        ]
    finally:
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)
    section = report(results, agentsync, args.repeat)
    print(section)
    if args.write:
        write_section(args.write, section)
        log(f"wrote the section into {args.write}")


if __name__ == "__main__":
    main()
