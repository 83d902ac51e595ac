"""Shared test helpers: real git repositories driven with plain git, agent files, a manifest for
a source, the lock and `status` as a test reads them, the cache's mirrors, project copies.

Plain functions and classes, imported by the tests that use them; the pytest fixtures that
build on them (the hermetic git environment, `make_repo`, `cli`) live in conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

TARGET = Path(".claude") / "agents"


def run_git(cwd: Path, *args: str) -> str:
    """Run plain git (never agentsync's own vcs module) and return stdout."""
    result = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return result.stdout.strip()


def git_at(git_dir: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """Run plain git on the repository at `git_dir` (a mirror, or a work tree's .git)."""
    done = subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], input=stdin, capture_output=True, check=True
    )
    return done.stdout


class GitRepo:
    """A real git repository in a temp folder, driven with plain git."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        run_git(path, "init", "-q", "-b", branch)

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def write(self, relpath: str, content: str | bytes) -> Path:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        target.write_bytes(content)
        return target

    def remove(self, relpath: str) -> None:
        run_git(self.path, "rm", "-q", relpath)

    def commit(self, message: str = "change") -> str:
        run_git(self.path, "add", "-A")
        run_git(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return run_git(self.path, "rev-parse", "HEAD")

    def tag(self, name: str, ref: str = "HEAD", *, force: bool = False) -> None:
        run_git(self.path, "tag", *(["-f"] if force else []), name, ref)

    def git(self, *args: str) -> str:
        return run_git(self.path, *args)

    def blob(self, oid: str) -> bytes:
        """The exact bytes of one blob, as git stores them."""
        return git_at(self.path / ".git", "cat-file", "blob", oid)


MakeRepo = Callable[..., GitRepo]


def agent_md(
    name: str,
    description: str = "Does things.",
    tools: str | None = None,
    body: str = "You are a helpful agent.",
    extra: str = "",
) -> str:
    """A well-formed agent file."""
    lines = ["---", f"name: {name}", f"description: {description}"]
    if tools is not None:
        lines.append(f"tools: {tools}")
    if extra:
        lines.append(extra.rstrip("\n"))
    lines += ["---", "", body, ""]
    return "\n".join(lines)


def write_agents(
    repo: GitRepo,
    names: Iterable[str],
    *,
    folder: str = "agents",
    description: str = "The {name} agent.",
    body: str = "You are a helpful agent.",
) -> None:
    """One agent file per name in `folder` (`description` may use `{name}`); not committed."""
    for name in names:
        repo.write(f"{folder}/{name}.md", agent_md(name, description.format(name=name), body=body))


def agents_repo(make_repo: MakeRepo, repo_name: str, names: Iterable[str], **files: str) -> GitRepo:
    """A source repository holding one committed agent file per name (`files`: the keyword
    arguments of write_agents)."""
    repo = make_repo(repo_name)
    write_agents(repo, names, **files)
    repo.commit(f"{repo_name} agents")
    return repo


def manifest_text(
    url: str, agents: str | None = "", *, source: str = "team", extra: str = ""
) -> str:
    """A manifest naming one source (`extra`: more of its keys, one per line) and, unless
    `agents` is None, an `[agents]` table holding `agents`."""
    text = f'[sources.{source}]\nurl = "{url}"\n{extra}'
    if agents is not None:
        text += f"\n[agents]\n{agents}"
    return text


def write_manifest(
    project: Path, url: str, agents: str | None = "", *, source: str = "team", extra: str = ""
) -> bytes:
    """Write `manifest_text(...)` as the project's agentsync.toml; returns its bytes."""
    data = manifest_text(url, agents, source=source, extra=extra).encode()
    (project / "agentsync.toml").write_bytes(data)
    return data


def installed(project: Path, name: str) -> Path:
    """Where agent `name` is installed in a project with the default target."""
    return project / TARGET / f"{name}.md"


def read_lock(project: Path) -> dict[str, Any]:
    """The project's agentsync.lock, read with the standard library (not agentsync)."""
    return tomllib.loads((project / "agentsync.lock").read_text())


def lock_entry(project: Path, name: str) -> dict[str, Any]:
    """One agent's table in the project's agentsync.lock."""
    entry: dict[str, Any] = read_lock(project)["agents"][name]
    return entry


def edit(path: Path, old: str, new: str) -> bytes:
    """Replace `old` by `new` in a file, as a person editing it would; returns the new bytes."""
    data = path.read_bytes()
    assert old.encode() in data, f"{old!r} is not in {path}"
    data = data.replace(old.encode(), new.encode())
    path.write_bytes(data)
    return data


def states(project: Path) -> tuple[int, dict[str, str]]:
    """`status --json` of a project: its exit code and the state of each agent."""
    from tests.procs import inproc

    result = inproc(project, "--json", "status")
    return result.code, {row["agent"]: row["state"] for row in json.loads(result.out)["agents"]}


def cache_dir() -> Path:
    """The test's own agentsync cache (set per test by conftest's hermetic environment)."""
    return Path(os.environ["AGENTSYNC_CACHE_DIR"])


def only_mirror() -> Path:
    """The one mirror in the cache (the test used a single source)."""
    mirrors = list((cache_dir() / "mirrors").glob("*.git"))
    assert len(mirrors) == 1, mirrors
    return mirrors[0]


def loose_object(git_dir: Path, oid: str) -> Path:
    """The loose file of object `oid`, made writable; packs are unpacked first if need be."""
    loose = git_dir / "objects" / oid[:2] / oid[2:]
    if not loose.exists():
        for pack in list((git_dir / "objects" / "pack").glob("*.pack")):
            moved = git_dir / pack.name
            pack.rename(moved)
            git_at(git_dir, "unpack-objects", "-q", stdin=moved.read_bytes())
            moved.unlink()
            pack.with_suffix(".idx").unlink()
    assert loose.exists(), oid
    loose.chmod(0o644)
    return loose


def tree_bomb(repo: GitRepo, levels: int = 7) -> str:
    """Make main a commit holding agents/helper.md beside bomb/: 10**levels copies of f.md in
    a dozen objects (each tree names the one below it ten times). Returns the commit."""
    git_dir = repo.path / ".git"

    def write(kind: str, data: str) -> str:
        args = ["hash-object", "-w", "--stdin"] if kind == "blob" else ["mktree"]
        return git_at(git_dir, *args, stdin=data.encode()).decode().strip()

    leaf = write("blob", "x\n")
    tree = write("tree", f"100644 blob {leaf}\tf.md\n")
    for _ in range(levels):
        tree = write("tree", "".join(f"040000 tree {tree}\td{i}\n" for i in range(10)))
    agent = write("blob", agent_md("helper", "Helps."))
    agents = write("tree", f"100644 blob {agent}\thelper.md\n")
    root = write("tree", f"040000 tree {agents}\tagents\n040000 tree {tree}\tbomb\n")
    commit = git_at(git_dir, "commit-tree", "-m", "bomb", root).decode().strip()
    repo.git("update-ref", "refs/heads/main", commit)
    return commit


def copies(base: Path, count: int, tag: str = "") -> list[Path]:
    """`count` copies of a project folder beside it (symlinks kept as links)."""
    made = []
    for index in range(count):
        copy = base.parent / f"{base.name}-{tag}{index}"
        shutil.copytree(base, copy, symlinks=True)
        made.append(copy)
    return made


class CliResult:
    """Exit code and captured output of one in-process `agentsync` run."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out!r}, err={self.err!r})"


Cli = Callable[..., CliResult]


def one_source_installed(
    cli: Cli,
    project: Path,
    make_repo: MakeRepo,
    source: str,
    files: dict[str, str],
    install: Iterable[str] | None = None,
) -> GitRepo:
    """A source `source` holding `files` (agent name -> file text, committed) and a project
    that uses it with the agents named in `install` installed (default: all of them)."""
    repo = make_repo(source)
    for name, body in files.items():
        repo.write(f"agents/{name}.md", body)
    repo.commit("agents")
    cli("init", cwd=project)
    cli("source", "add", source, repo.url, cwd=project)
    names = files if install is None else install
    assert cli("install", *(f"{source}/{name}" for name in names), cwd=project).code == 0
    return repo


def run_bounded(
    project: Path, *args: str, memory: int = 1 << 30
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`python -m agentsync ARGS` in its own process, under a memory limit (address space)
    and a 60 s wall clock; returns the result and the seconds it took."""
    import resource
    import sys
    import time

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "agentsync", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limits,
        check=False,
    )
    return result, time.monotonic() - started
