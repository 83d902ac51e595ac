"""Offline demo: build a git source from examples/team-agents, then install from it.

Run from the repository root after installing the package:
    python examples/demo.py [DEMO_DIR]     (default: ./demo, recreated each run)
Everything happens below DEMO_DIR: the source repository, the project, and the cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(args: list[str], cwd: Path, env: dict[str, str], *, show: bool = True) -> int:
    if show:
        print(f"\n$ {' '.join(args)}", flush=True)
    return subprocess.run(args, cwd=cwd, env=env, check=False).returncode


def git_env(base: dict[str, str]) -> dict[str, str]:
    env = dict(base)
    env.update(
        GIT_AUTHOR_NAME="agentsync demo",
        GIT_AUTHOR_EMAIL="demo@example.invalid",
        GIT_COMMITTER_NAME="agentsync demo",
        GIT_COMMITTER_EMAIL="demo@example.invalid",
    )
    return env


def build_source(source: Path, env: dict[str, str]) -> None:
    """Copy the example agents into a fresh git repository (a nested .git cannot be committed)."""
    shutil.copytree(HERE / "team-agents", source)
    for args in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "Example agents"],
        ["git", "tag", "v1.0.0"],
    ):
        subprocess.run(args, cwd=source, env=env, check=True)


def main() -> int:
    demo = Path(sys.argv[1] if len(sys.argv) > 1 else "demo").resolve()
    if demo.exists():
        shutil.rmtree(demo)
    demo.mkdir(parents=True)
    env = git_env(dict(os.environ))
    env["AGENTSYNC_CACHE_DIR"] = str(demo / "cache")
    env.pop("GIT_DIR", None)
    build_source(demo / "team-agents", env)
    project = demo / "project"
    project.mkdir()
    (project / "agentsync.toml").write_text(
        "# Demo manifest: one local git source.\n"
        "[sources.team]\n"
        'url = "../team-agents"   # a local path works like any git URL\n'
        'path = "agents"\n\n'
        "[agents]\n",
        encoding="utf-8",
    )
    agentsync = [sys.executable, "-m", "agentsync"]
    steps = [
        [*agentsync, "search"],
        [*agentsync, "install", "backend-developer"],
        [*agentsync, "status"],
        [*agentsync, "check"],
    ]
    for step in steps:
        code = run(step, project, env)
        if code != 0:
            print(f"demo step failed with exit code {code}", file=sys.stderr)
            return code
    print("\n$ cat agentsync.lock")
    print((project / "agentsync.lock").read_text(encoding="utf-8"))
    print(f"$ head -5 {Path('.claude/agents/backend-developer.md')}")
    lines = (project / ".claude/agents/backend-developer.md").read_text(encoding="utf-8")
    print("\n".join(lines.splitlines()[:5]))
    cli = Path(sys.executable).with_name("agentsync")
    print(f"\nDemo project: {project}  (try: cd {project} && {cli} status)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
