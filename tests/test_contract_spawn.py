"""Contract: the tools `check --json` predicts are the tools the real client gives a subagent.

For each project below, the real client (env CLAUDE_BIN, else `claude` on PATH) runs once,
offline, against a loopback stand-in of the Messages API that answers the main conversation
by launching every agent of the project at once; each subagent's own first request shows the
tools it really got, and the client's refusals show which launches it refused. Compared with
`agentsync --json check` in the same project and environment:
  tools (with disallowed)  - the client's agent listing,
  effective_tools          - the launched subagent's tools,
  launch                   - whether the client launched it at all.
Skipped without a client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agentsync.agenttools import split_tools
from agentsync.frontmatter import parse_agent
from tests.contract_claude import ALL_TOOLS, ClientRun, find_client, launch_all

CLIENT = find_client()
pytestmark = [
    pytest.mark.contract,
    pytest.mark.slow,  # runs the real client once per project
    pytest.mark.skipif(CLIENT is None, reason="Claude Code client not found (set CLAUDE_BIN)"),
]

STUB_SERVER = "srv"  # the MCP server some projects configure, with these tools
STUB_TOOLS = ("echo", "ping")
MCP_STUB = Path(__file__).with_name("mcp_stdio_stub.py")
INHERIT = "inherit"  # every project has this agent: its launch shows the default tool set

# (agent name, frontmatter lines after name and description)
DISALLOWED = (
    ("dis-only", "disallowedTools: Edit, Write"),
    ("dis-with-tools", "tools: Read, Edit, Bash\ndisallowedTools: Edit"),
    ("dis-everything", "tools: Read\ndisallowedTools: Read"),
    ("dis-star", "tools: Read, Edit\ndisallowedTools: Edit, *"),
    ("dis-retired", "tools: Edit, Read\ndisallowedTools: MultiEdit"),
    ("dis-unknown", "disallowedTools: Foo"),
    ("dis-lowercase", "tools: Read, Edit\ndisallowedTools: edit"),
    ("dis-empty-tools", "tools: []\ndisallowedTools: Read"),
    ("empty-tools", "tools: []"),
)
SPECIFIERS = (
    ("spec-tools", "tools: Bash(git *), Read"),
    ("spec-dis", "disallowedTools: Bash(rm *)"),
    ("spec-dis-tools", "tools: Bash, Read, Monitor\ndisallowedTools: Bash(git *)"),
    ("spec-both", "tools: Bash(git *), Read\ndisallowedTools: Bash(rm *)"),
)
BASH = (
    ("bash-glob-grep", "tools: Bash, Glob, Grep"),
    ("bash-dis-glob-grep", "tools: Bash, Glob, Grep\ndisallowedTools: Bash"),
    ("bash-dis-monitor", "tools: Bash, Monitor, Read\ndisallowedTools: Bash"),
    ("glob-grep", "tools: Glob, Grep"),
)
ALIASES = (
    ("alias-task", "tools: Task, Read"),
    ("alias-dis-task", "tools: Agent, Read\ndisallowedTools: Task"),
    ("alias-dis-agent", "tools: Task, Read\ndisallowedTools: Agent"),
    ("alias-dis-task-all", "disallowedTools: Task"),
    ("alias-killshell", "tools: KillShell, Read"),
    ("alias-killbash", "tools: KillBash, Read"),
    ("alias-dis-killshell", "tools: TaskStop, Read\ndisallowedTools: KillShell"),
    ("alias-dis-taskstop", "tools: KillBash, Read\ndisallowedTools: TaskStop"),
    ("alias-bashoutput", "tools: BashOutput, Read"),
)
# Left with no tool: launched with none when `disallowedTools` took every piece on purpose,
# refused when a rule with a specifier (or an alias it does not map) left a piece unresolved.
EMPTIED = (
    ("empty-exact", "tools: Read, Edit\ndisallowedTools: Read, Edit"),
    ("empty-alias", "tools: Agent\ndisallowedTools: Task"),
    ("empty-alias-back", "tools: KillShell\ndisallowedTools: TaskStop"),
    ("empty-aliases", "tools: TaskStop\ndisallowedTools: KillBash"),
    ("empty-spec-piece", "tools: Read(x)\ndisallowedTools: Read"),
    ("empty-monitor", "tools: Monitor\ndisallowedTools: Bash(rm *)"),
    ("empty-unknown", "tools: Foo\ndisallowedTools: Foo"),
    ("empty-spec-rule", "tools: Read\ndisallowedTools: Read(x)"),
    ("empty-spec-both", "tools: Bash(git *)\ndisallowedTools: Bash(git *)"),
    ("empty-task", "tools: Task\ndisallowedTools: Task"),
    ("empty-agent-types", "tools: Agent(Explore)\ndisallowedTools: Agent"),
    ("empty-bashoutput", "tools: BashOutput\ndisallowedTools: TaskOutput"),
    ("empty-memory", "memory: project\ntools: Read\ndisallowedTools: Read, Write, Edit"),
)
REFUSED = (
    ("refuse-lowercase", "tools: read, grep"),
    ("refuse-retired", "tools: MultiEdit, LS"),
    ("refuse-session-only", "tools: TodoWrite"),
    ("refuse-pipe", "tools: Read|Grep"),
    ("refuse-mcp-unconfigured", "tools: mcp__nosrv__x, mcp__nosrv__*, mcp__nosrv"),
)
MEMORY = (
    ("memory-tools", "memory: project\ntools: Glob"),
    ("memory-empty", "memory: user\ntools: []"),
    ("memory-inherit", "memory: local"),
    ("memory-dis", "memory: project\ntools: Grep\ndisallowedTools: Write"),
    ("memory-has-read", "memory: project\ntools: Read, Bash"),
    ("memory-invalid", "memory: global\ntools: Glob"),
    ("memory-refused", "memory: project\ntools: read"),
)
MCP_UNCONFIGURED = (
    ("mcp-star-nosrv", f"tools: Read, mcp__{STUB_SERVER}__*"),
    ("mcp-dis-nosrv", f"disallowedTools: mcp__{STUB_SERVER}"),
    ("mcp-only-nosrv", f"tools: mcp__{STUB_SERVER}__echo"),
    # A bare name in `mcpServers` configures nothing.
    ("mcp-named-nosrv", f"mcpServers: [{STUB_SERVER}]\ntools: Read, mcp__{STUB_SERVER}__echo"),
    ("mcp-named-dis-nosrv", f"mcpServers: [{STUB_SERVER}]\ndisallowedTools: Edit"),
)
MCP_CONFIGURED = (
    ("mcp-star", f"tools: mcp__{STUB_SERVER}__*, Read"),
    ("mcp-bare", f"tools: mcp__{STUB_SERVER}"),
    ("mcp-one", f"tools: mcp__{STUB_SERVER}__echo"),
    ("mcp-dis-star", f"disallowedTools: mcp__{STUB_SERVER}__*"),
    ("mcp-dis-bare", f"disallowedTools: mcp__{STUB_SERVER}"),
    ("mcp-dis-every", "disallowedTools: mcp__*"),
    ("mcp-tools-dis", f"tools: mcp__{STUB_SERVER}__*, Read\ndisallowedTools: mcp__{STUB_SERVER}"),
    ("mcp-other-server", "tools: mcp__other__x"),
    ("mcp-spec-dis", f"tools: Bash, mcp__{STUB_SERVER}\ndisallowedTools: Bash(ls *)"),
    ("mcp-emptied", f"tools: mcp__{STUB_SERVER}__echo\ndisallowedTools: mcp__{STUB_SERVER}"),
    ("mcp-emptied-every", f"tools: mcp__{STUB_SERVER}__*\ndisallowedTools: mcp__*"),
    ("mcp-emptied-other", "tools: mcp__other__x\ndisallowedTools: mcp__other"),
    # A configured server named in `mcpServers` comes with all its tools, whatever `tools` says.
    ("mcp-named", f"mcpServers: [{STUB_SERVER}]\ntools: Read, mcp__{STUB_SERVER}__echo"),
    ("mcp-named-empty", f"mcpServers: [{STUB_SERVER}]\ntools: []"),
    (
        "mcp-named-dis",
        f"mcpServers: [{STUB_SERVER}]\ntools: Read\ndisallowedTools: mcp__{STUB_SERVER}",
    ),
)


@dataclass(frozen=True)
class Project:
    """One client run: its agents, and the settings and environment both sides see."""

    agents: tuple[tuple[str, str], ...]
    mcp: bool = False  # configure the stub MCP server in .mcp.json
    settings: dict[str, Any] = field(default_factory=dict)  # .claude/settings.json
    user_settings: dict[str, Any] = field(default_factory=dict)  # HOME/.claude/settings.json
    env: dict[str, str] = field(default_factory=dict)
    auto_memory: bool = True  # whether the client's auto-memory is on there


PROJECTS = {
    "tools": Project(
        DISALLOWED + SPECIFIERS + BASH + ALIASES + EMPTIED + REFUSED + MCP_UNCONFIGURED
    ),
    "memory-on": Project(MEMORY),
    "memory-off-env": Project(
        MEMORY, env={"CLAUDE_CODE_DISABLE_AUTO_MEMORY": "1"}, auto_memory=False
    ),
    "memory-off-settings": Project(
        MEMORY, settings={"autoMemoryEnabled": False}, auto_memory=False
    ),
    "memory-off-user": Project(
        MEMORY, user_settings={"autoMemoryEnabled": False}, auto_memory=False
    ),
    "memory-on-again": Project(  # the project's settings override the user's
        MEMORY, settings={"autoMemoryEnabled": True}, user_settings={"autoMemoryEnabled": False}
    ),
    "mcp": Project(MCP_CONFIGURED + REFUSED[:2] + MCP_UNCONFIGURED[:1] + DISALLOWED[:1], mcp=True),
}


def _write(root: Path, project: Project) -> None:
    agents = root / ".claude" / "agents"
    agents.mkdir(parents=True)
    for name, rest in ((INHERIT, ""), *project.agents):
        lines = f"{rest}\n" if rest else ""
        text = (
            f"---\nname: {name}\ndescription: Contract agent {name}.\n{lines}---\nYou are {name}.\n"
        )
        (agents / f"{name}.md").write_text(text)
    if project.settings:
        (root / ".claude" / "settings.json").write_text(json.dumps(project.settings))
    if project.mcp:
        server = {"command": sys.executable, "args": [str(MCP_STUB), *STUB_TOOLS]}
        (root / ".mcp.json").write_text(json.dumps({"mcpServers": {STUB_SERVER: server}}))
    subprocess.run(["git", "init", "-q", str(root)], check=True)


def _check_json(root: Path, home: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """`agentsync --json check .claude/agents` run in the project, as a user would."""
    environ = {k: v for k, v in os.environ.items() if k != "CLAUDE_CODE_DISABLE_AUTO_MEMORY"}
    environ.pop("CLAUDE_CONFIG_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "agentsync", "--json", "check", ".claude/agents"],
        cwd=root,
        env={**environ, "HOME": str(home), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(done.stdout)
    assert isinstance(report, list), done.stderr
    return report


@pytest.fixture(scope="module", params=sorted(PROJECTS))
def both(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Project, ClientRun, dict[str, dict[str, Any]], Path]:
    """(project, the client's run, agentsync's entries by name, project folder)."""
    assert CLIENT is not None
    project: Project = PROJECTS[request.param]
    root = tmp_path_factory.mktemp(f"spawn-{request.param}")
    home = tmp_path_factory.mktemp(f"spawn-{request.param}-home")
    _write(root, project)
    if project.user_settings:
        (home / ".claude").mkdir()
        (home / ".claude" / "settings.json").write_text(json.dumps(project.user_settings))
    names = [INHERIT, *(name for name, _ in project.agents)]
    run = launch_all(CLIENT, root, names, 90, home=home, env=project.env)
    report = _check_json(root, home, project.env)
    entries = {str(e["name"]): e for e in report if e["loads"]}
    assert set(entries) == set(names)
    return project, run, entries, root


def _names(project: Project) -> Iterator[str]:
    yield INHERIT
    for name, _ in project.agents:
        yield name


def _listing(entry: dict[str, Any], root: Path) -> str:
    """How the client's agent list would show the entry's `tools` and `disallowed`."""
    tools, disallowed = entry["tools"], entry["disallowed"]
    if tools is None or (tools == [] and disallowed):
        return f"{ALL_TOOLS} except {', '.join(disallowed)}" if disallowed else ALL_TOOLS
    if tools:
        return ", ".join(tools)
    # An empty list: an empty `tools` value reads "All tools"; everything disallowed, "None".
    fields = parse_agent((root / str(entry["path"])).read_bytes()).fields
    return ALL_TOOLS if split_tools(fields.get("tools")) == () else "None"


def _expanded(effective: list[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """agentsync's `effective_tools` as tool names: None is the default set, `mcp__s__*` every
    tool of server `s` (the stub's, known here)."""
    if effective is None:
        return default
    names: set[str] = set()
    for tool in effective:
        if tool == f"mcp__{STUB_SERVER}__*":
            names.update(f"mcp__{STUB_SERVER}__{t}" for t in STUB_TOOLS)
        else:
            names.add(tool)
    return tuple(sorted(names))


def test_listing_matches_tools(
    both: tuple[Project, ClientRun, dict[str, dict[str, Any]], Path],
) -> None:
    project, run, entries, root = both
    predicted = {name: _listing(entries[name], root) for name in _names(project)}
    listed = {name: run.listed[name].tools for name in _names(project)}
    assert predicted == listed
    if "memory-tools" in listed:  # the settings and environment really turned memory on or off
        assert listed["memory-tools"] == (
            "Glob, Write, Edit, Read" if project.auto_memory else "Glob"
        )


def test_launch_matches(
    both: tuple[Project, ClientRun, dict[str, dict[str, Any]], Path],
) -> None:
    project, run, entries, _ = both
    predicted = {name: entries[name]["launch"] for name in _names(project)}
    launched = {}
    for name in _names(project):
        launch = run.launches[name]
        assert launch.tools is not None or launch.refusal, f"{name}: neither launched nor refused"
        launched[name] = launch.tools is not None
    assert predicted == launched
    for name in _names(project):
        refusal = run.launches[name].refusal
        assert refusal is None or "zero tools" in refusal, (name, refusal)


def test_effective_tools_match_the_launch(
    both: tuple[Project, ClientRun, dict[str, dict[str, Any]], Path],
) -> None:
    project, run, entries, _ = both
    default = run.launches[INHERIT].tools
    assert default is not None and "Bash" in default
    predicted = {
        name: _expanded(entries[name]["effective_tools"], default)
        for name in _names(project)
        if run.launches[name].tools is not None
    }
    got = {name: launch.tools for name, launch in run.launches.items() if name in predicted}
    assert predicted == got
    if project.mcp:  # the stub server really connected
        assert f"mcp__{STUB_SERVER}__echo" in default
