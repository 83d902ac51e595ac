"""Where a project lives: manifest, lock, state folder, install target, and the run lock."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agentsync import _fs
from agentsync.errors import ManifestError, UsageError
from agentsync.lockfile import LOCK_NAME
from agentsync.manifest import DEFAULT_TARGET, MANIFEST_NAME, Manifest

STATE_DIR = ".agentsync"
RUN_LOCK = "run.lock"


@dataclass(frozen=True)
class Project:
    """The files of one project (or of the user scope with `--global`)."""

    root: Path
    manifest_path: Path
    lock_path: Path
    state_dir: Path
    global_scope: bool = False

    def target_dir(self, manifest: Manifest | None) -> Path:
        """The folder agents are installed into."""
        if self.global_scope:
            return user_agents_dir()
        target = manifest.target if manifest is not None else DEFAULT_TARGET
        pure = PurePosixPath(target.replace("\\", "/"))
        if pure.is_absolute() or Path(target).is_absolute() or ".." in pure.parts:
            raise ManifestError(
                f"{self.manifest_path.name}: settings.target: {target!r} leaves the project folder",
                hint='use a folder inside the project, such as target = ".claude/agents"',
            )
        return self.root / pure

    @contextmanager
    def run_lock(self, timeout: float) -> Iterator[None]:
        """Hold the project's run lock so two agentsync runs never write it at once."""
        self.ensure_state_dir()
        with _fs.file_lock(self.state_dir / RUN_LOCK, timeout=timeout, what=str(self.root)):
            yield

    def ensure_state_dir(self) -> Path:
        """Create `.agentsync/` with a `.gitignore` that keeps it out of the user's commits."""
        _fs.real_dir(self.state_dir, "agentsync's state folder")
        gitignore = self.state_dir / ".gitignore"
        if not os.path.lexists(gitignore):
            _fs.atomic_write(gitignore, b"*\n")
        return self.state_dir


def user_agents_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where Claude Code reads user-level agents: $CLAUDE_CONFIG_DIR/agents, else
    ~/.claude/agents (`environ`: the variables to read, this process's by default)."""
    environ = os.environ if environ is None else environ
    config = environ.get("CLAUDE_CONFIG_DIR")
    if config is not None:  # set but empty, it is the folder the client starts in
        return Path(config).expanduser() / "agents"
    home = environ.get("HOME")
    return (Path(home) if home else Path.home()) / ".claude" / "agents"


def _project_at(root: Path, *, global_scope: bool = False) -> Project:
    return Project(
        root=root,
        manifest_path=root / MANIFEST_NAME,
        lock_path=root / LOCK_NAME,
        state_dir=root / STATE_DIR,
        global_scope=global_scope,
    )


def find_project(cwd: Path, explicit: Path | None = None, global_scope: bool = False) -> Project:
    """The project for this run: `--global`, else `-C DIR`, else the nearest folder upward
    from `cwd` holding agentsync.toml, else `cwd` itself (where `init` would create one)."""
    if global_scope:
        if explicit is not None:
            raise UsageError("-C/--project and --global cannot be used together")
        import platformdirs  # local import: keeps `--help` fast

        return _project_at(Path(platformdirs.user_config_dir("agentsync")), global_scope=True)
    if explicit is not None:
        root = (cwd / explicit).resolve()
        if not root.is_dir():
            raise UsageError(
                f"-C {explicit}: no such folder", hint="give an existing project folder"
            )
        return _project_at(root)
    start = cwd.resolve()
    for folder in (start, *start.parents):
        if (folder / MANIFEST_NAME).is_file():
            return _project_at(folder)
    return _project_at(start)
