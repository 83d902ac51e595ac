"""Time agentsync against raw git doing the same work, in the same run, and print ratios.

    python benchmarks/bench_install.py [--agents 400] [--repeat 3]

Scenarios (each the median of --repeat runs, on a generated local source reached by file://):
  cold install   `agentsync install 'bench/*'` with an empty cache, against raw git creating
                 a bare mirror, fetching it, listing the tree and reading every agent blob,
                 and against a plain `git clone` (which also writes the files out)
  no-op install  a second `agentsync install`, against `git fetch` into the warm mirror
  update         `agentsync update` after one upstream commit, against raw `git fetch`
  --help         `agentsync --help`, against `git --version` (process start-up floor)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

AGENTSYNC = [sys.executable, "-m", "agentsync"]


def sh(args: list[str], cwd: Path, env: dict[str, str], stdin: bytes | None = None) -> bytes:
    result = subprocess.run(args, cwd=cwd, env=env, input=stdin, capture_output=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr.decode()}")
    return result.stdout


def make_source(root: Path, count: int, env: dict[str, str]) -> Path:
    source = root / "source"
    (source / "agents").mkdir(parents=True)
    (source / "docs").mkdir()
    for i in range(count):
        name = f"agent-{i:04d}"
        (source / "agents" / f"{name}.md").write_text(
            f"---\nname: {name}\ndescription: Benchmark agent number {i}.\n"
            f"tools: Read, Grep, Edit\n---\n\nYou are benchmark agent {i}.\n" + "Detail.\n" * 40
        )
        (source / "docs" / f"{name}.txt").write_text("not an agent\n" * 20)
    sh(["git", "init", "-q", "-b", "main"], source, env)
    sh(["git", "add", "-A"], source, env)
    sh(["git", "commit", "-q", "-m", "agents"], source, env)
    return source


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def raw_git_cold(source: Path, work: Path, env: dict[str, str]) -> None:
    """What a careful script would do: bare mirror, fetch, list the tree, read every agent."""
    mirror = work / "raw.git"
    shutil.rmtree(mirror, ignore_errors=True)
    sh(["git", "init", "-q", "--bare", str(mirror)], work, env)
    git = ["git", f"--git-dir={mirror}"]
    sh([*git, "fetch", "-q", source.as_uri(), "+refs/heads/*:refs/heads/*"], work, env)
    tree = sh([*git, "ls-tree", "-r", "main"], work, env).decode().splitlines()
    blobs = [line.split()[2] for line in tree if line.endswith(".md")]
    sh([*git, "cat-file", "--batch"], work, env, stdin="\n".join(blobs).encode() + b"\n")


def raw_git_fetch(source: Path, work: Path, env: dict[str, str]) -> None:
    mirror = work / "raw.git"
    sh(
        [
            "git",
            f"--git-dir={mirror}",
            "fetch",
            "-q",
            source.as_uri(),
            "+refs/heads/*:refs/heads/*",
        ],
        work,
        env,
    )


def median(
    action: Callable[[], object], repeat: int, before: Callable[[], object] | None = None
) -> float:
    samples = []
    for _ in range(repeat):
        if before is not None:
            before()
        samples.append(timed(action))
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            HOME=str(root),
            GIT_AUTHOR_NAME="b",
            GIT_AUTHOR_EMAIL="b@example.invalid",
            GIT_COMMITTER_NAME="b",
            GIT_COMMITTER_EMAIL="b@example.invalid",
            AGENTSYNC_CACHE_DIR=str(root / "cache"),
        )
        source = make_source(root, args.agents, env)
        project = root / "project"
        project.mkdir()
        manifest = f'[sources.bench]\nurl = "{source.as_uri()}"\n'
        work = root / "work"
        work.mkdir()

        def reset_project() -> None:
            shutil.rmtree(root / "cache", ignore_errors=True)
            for item in project.iterdir():
                if item.is_dir():
                    shutil.rmtree(item)
                else:
                    item.unlink()
            (project / "agentsync.toml").write_text(manifest)

        rows = []
        git_cold = median(lambda: raw_git_cold(source, work, env), args.repeat)
        ours_cold = median(
            lambda: sh([*AGENTSYNC, "install", "bench/*"], project, env),
            args.repeat,
            before=reset_project,
        )
        rows.append(("cold install", ours_cold, git_cold))

        def git_clone() -> None:
            shutil.rmtree(work / "clone", ignore_errors=True)
            sh(["git", "clone", "-q", source.as_uri(), str(work / "clone")], work, env)

        rows.append(
            (
                "cold install vs `git clone` (writes files too)",
                ours_cold,
                median(git_clone, args.repeat),
            )
        )
        git_fetch = median(lambda: raw_git_fetch(source, work, env), args.repeat)
        ours_noop = median(lambda: sh([*AGENTSYNC, "install"], project, env), args.repeat)
        rows.append(("no-op install", ours_noop, git_fetch))

        def new_commit() -> None:
            (source / "agents" / "agent-0000.md").write_text(
                f"---\nname: agent-0000\ndescription: changed {time.time_ns()}\n---\nNew.\n"
            )
            sh(["git", "commit", "-qam", "change"], source, env)

        def git_update() -> None:
            raw_git_fetch(source, work, env)

        git_upd = median(git_update, args.repeat, before=new_commit)
        ours_upd = median(
            lambda: sh([*AGENTSYNC, "update"], project, env), args.repeat, before=new_commit
        )
        rows.append(("update (1 agent changed)", ours_upd, git_upd))
        git_ver = median(lambda: sh(["git", "--version"], work, env), args.repeat)
        ours_help = median(lambda: sh([*AGENTSYNC, "--help"], work, env), args.repeat)
        rows.append(("--help", ours_help, git_ver))

    print(
        f"{args.agents} agents, median of {args.repeat} runs, git {git_version()}, "
        f"Python {sys.version.split()[0]}"
    )
    print("| scenario | agentsync (s) | raw git (s) | ratio |\n|---|---:|---:|---:|")
    for label, ours, theirs in rows:
        print(f"| {label} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.1f}x |")


def git_version() -> str:
    return subprocess.run(
        ["git", "--version"], capture_output=True, text=True, check=False
    ).stdout.split()[-1]


if __name__ == "__main__":
    main()
