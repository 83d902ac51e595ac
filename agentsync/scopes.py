"""Which file Claude Code runs for an agent name, across its scopes.

The client reads agents from `.claude/agents` in the current folder and each ancestor up to
the git root (the nearest folder wins a name), then the user's folder (`$CLAUDE_CONFIG_DIR/
agents`, else `~/.claude/agents`), then the built-ins: a project agent replaces a user one
of the same name, and either replaces a built-in. Only files that load compete: a project
file that fails to load lets the user's file win. Within one folder tree the path that sorts
last wins. Plugin agents carry their plugin's name (`plugin:name`), so they never collide
with the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentsync.frontmatter import parse_agent, read_agent_file, walk_agent_files
from agentsync.plugins import plugin_agents
from agentsync.project import user_agents_dir

BUILT_INS = ("general-purpose", "Explore", "Plan", "claude", "statusline-setup")
Scope = Literal["project", "user", "plugin", "built-in"]


@dataclass(frozen=True)
class Candidate:
    """One definition of the name: where it is, and whether and why it runs or not."""

    scope: Scope
    path: Path | None  # None for a built-in
    loads: bool
    active: bool = False
    why: str = ""  # what makes it lose (or, for the winner, "")


@dataclass(frozen=True)
class Which:
    name: str
    candidates: tuple[Candidate, ...]  # winner first, then the others in precedence order

    @property
    def active(self) -> Candidate | None:
        return next((c for c in self.candidates if c.active), None)


def project_folders(cwd: Path) -> list[Path]:
    """The `.claude/agents` folders the client reads for `cwd`, nearest first."""
    found = []
    for folder in (cwd, *cwd.parents):
        agents = folder / ".claude" / "agents"
        if agents.is_dir():
            found.append(agents)
        if (folder / ".git").exists():
            break  # the git root ends the search
    return found


def which(
    name: str, cwd: Path, *, user_dir: Path | None = None, plugin_dirs: Sequence[Path] = ()
) -> Which:
    """Every definition of `name` Claude Code would see from `cwd`, the one it runs first."""
    user = user_dir if user_dir is not None else user_agents_dir()
    found: list[Candidate] = []
    for folder in project_folders(cwd.resolve()):
        found += _in_tree(folder, name, "project")
    if user.is_dir() and user.resolve() not in {f.resolve() for f in project_folders(cwd)}:
        found += _in_tree(user, name, "user")
    for root in plugin_dirs:
        listed = plugin_agents(root)
        if listed is not None:
            found += [
                Candidate("plugin", agent.path, loads=True)
                for agent in listed[1]
                if agent.name == name
            ]
    if name in BUILT_INS:
        found.append(Candidate("built-in", None, loads=True))
    return Which(name, tuple(_rank(found)))


def loading_names(folder: Path) -> dict[str, Path]:
    """{name: the file the client runs for it} of the files that load below `folder`."""
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for _relative, path in sorted(walk_agent_files(folder), key=lambda item: str(item[1])):
        name = loading_name(path)
        if name is not None:
            found[name] = path  # the path that sorts last wins
    return found


def loading_name(path: Path) -> str | None:
    """The name the client loads from `path`, or None when it loads nothing."""
    data = read_agent_file(path)
    agent = parse_agent(data) if data is not None else None
    return agent.name if agent is not None and agent.loads else None


def _in_tree(folder: Path, name: str, scope: Scope) -> list[Candidate]:
    """The files of one folder tree that carry `name`, the one that sorts last first."""
    found = []
    for _relative, path in walk_agent_files(folder):
        data = read_agent_file(path)
        if data is None:
            continue
        agent = parse_agent(data)
        if agent.loads and agent.name == name:
            found.append(Candidate(scope, path, loads=True))
        elif not agent.loads and agent.evident_name == name:
            found.append(Candidate(scope, path, loads=False, why=agent.drop_reason or ""))
    # the client keeps the last of several same-name files by plain path order
    return sorted(found, key=lambda c: str(c.path), reverse=True)


def _rank(found: list[Candidate]) -> Iterator[Candidate]:
    winner = next((c for c in found if c.loads), None)
    if winner is not None:
        yield Candidate(winner.scope, winner.path, True, active=True)
    for candidate in found:
        if candidate is winner:
            continue
        if not candidate.loads:
            yield Candidate(candidate.scope, candidate.path, False, why=candidate.why)
        elif winner is not None and candidate.scope == winner.scope:
            why = (
                "a nearer folder defines it"
                if candidate.path is not None
                and winner.path is not None
                and not _same_tree(candidate.path, winner.path)
                else "another file of that folder, whose path sorts later, wins"
            )
            yield Candidate(candidate.scope, candidate.path, True, why=why)
        else:
            assert winner is not None  # noqa: S101 - a loading candidate exists
            yield Candidate(
                candidate.scope, candidate.path, True, why=f"the {winner.scope} agent replaces it"
            )


def _same_tree(one: Path, other: Path) -> bool:
    """Whether two agent files lie below the same `.claude/agents` folder."""

    def base(path: Path) -> Path | None:
        for parent in path.parents:
            if parent.name == "agents" and parent.parent.name == ".claude":
                return parent
        return None

    return base(one) == base(other)
