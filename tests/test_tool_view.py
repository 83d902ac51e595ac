"""The tools of an agent three ways: the client's agent list, and what a launched subagent
really gets (each expectation below was observed on the real client, 2.1.330)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentsync.agenttools import DEFAULT_SUBAGENT_TOOLS, ToolView, tool_view
from agentsync.checker import auto_memory_on, check_paths, project_of, render_json
from agentsync.frontmatter import parse_agent

DEFAULT = list(DEFAULT_SUBAGENT_TOOLS)
MEM = ["Write", "Edit", "Read"]


def view(rest: str, **kwargs: Any) -> ToolView:
    data = f"---\nname: a\ndescription: d\n{rest}---\nbody\n".encode()
    agent = parse_agent(data)
    assert agent.loads
    return tool_view(agent.fields, **kwargs)


def without(*tools: str) -> list[str]:
    return [t for t in DEFAULT if t not in tools]


# (frontmatter, JSON tools, disallowed, effective_tools, launch, the listing's tools text)
LISTINGS: list[tuple[str, Any, Any, Any, bool, str]] = [
    ("", None, None, None, True, "All tools"),
    ("tools: []\n", [], None, [], True, "All tools"),
    ("tools: '*'\ndisallowedTools: Write\n", None, ["Write"], without("Write"), True, ""),
    ("tools: []\ndisallowedTools: Edit\n", [], ["Edit"], [], True, "All tools except Edit"),
    ("tools: Read, *\n", None, None, None, True, "All tools"),
    ("tools: Bash, Glob, Grep\n", ["Bash", "Glob", "Grep"], None, ["Bash"], True, ""),
    (
        "tools: Bash, Glob, Grep\ndisallowedTools: Bash\n",
        ["Glob", "Grep"],
        None,
        ["Glob", "Grep"],
        True,
        "",
    ),
    ("tools: Bash, Glob\ndisallowedTools: Bash(x)\n", ["Bash", "Glob"], None, ["Glob"], True, ""),
    ("disallowedTools: Bash(rm *)\n", None, ["Bash(rm *)"], without("Bash", "Monitor"), True, ""),
    (
        "disallowedTools: Monitor, Agent\n",
        None,
        ["Monitor", "Agent"],
        without("Monitor", "Agent"),
        True,
        "",
    ),
    ("disallowedTools: '*'\n", None, None, None, True, "All tools"),
    ("disallowedTools: MultiEdit, bash\n", None, ["MultiEdit", "bash"], DEFAULT, True, ""),
    ("tools: Read, Edit\ndisallowedTools: Read, Edit\n", [], None, [], True, "None"),
    ("tools: Read, Edit\ndisallowedTools: Edit\n", ["Read"], None, ["Read"], True, "Read"),
    ("tools: read, Grep\n", ["read", "Grep"], None, ["Grep"], True, ""),
    ("tools: Bash\n", ["Bash"], None, ["Bash"], True, ""),
    ("tools: Monitor\n", ["Monitor"], None, ["Monitor"], True, ""),
    ("tools: Bash(git *), Read\n", ["Bash(git *)", "Read"], None, ["Bash", "Read"], True, ""),
    (
        "tools: Task, KillShell, BashOutput, KillBash\n",
        ["Task", "KillShell", "BashOutput", "KillBash"],
        None,
        ["Agent", "TaskStop"],
        True,
        "",
    ),
    (
        "tools: Agent, Read, TaskStop\ndisallowedTools: Task, KillShell\n",
        ["Agent", "Read", "TaskStop"],
        None,
        ["Read"],
        True,
        "",
    ),
    ("tools: ToolSearch\n", ["ToolSearch"], None, [], True, ""),
    ("tools: TaskOutput, ToolSearch\n", ["TaskOutput", "ToolSearch"], None, [], True, ""),
    # every launch refused
    ("tools: read, grep\n", ["read", "grep"], None, [], False, ""),
    ("tools: MultiEdit, LS\n", ["MultiEdit", "LS"], None, [], False, ""),
    ("tools: TodoWrite\n", ["TodoWrite"], None, [], False, ""),
    ("tools: Read|Grep\n", ["Read|Grep"], None, [], False, ""),
    ("tools: AskUserQuestion\n", ["AskUserQuestion"], None, [], False, ""),
    ("tools: TaskOutput\n", ["TaskOutput"], None, [], False, ""),
    ("tools: read, Edit\ndisallowedTools: Edit\n", ["read"], None, [], False, "read"),
    ("tools: Bash(git *)\ndisallowedTools: Bash(rm *)\n", ["Bash(git *)"], None, [], False, ""),
    ("tools: Task\ndisallowedTools: Agent\n", ["Task"], None, [], False, ""),
    # left with no tool: a launch starts with none only if `disallowedTools` took away every
    # piece on purpose (a rule without a specifier, aliases either way); else it is refused
    ("tools: Agent\ndisallowedTools: Task\n", ["Agent"], None, [], True, ""),
    ("tools: KillShell\ndisallowedTools: TaskStop\n", ["KillShell"], None, [], True, ""),
    ("tools: TaskStop\ndisallowedTools: KillBash\n", ["TaskStop"], None, [], True, ""),
    ("tools: Read(x)\ndisallowedTools: Read\n", ["Read(x)"], None, [], True, ""),
    ("tools: Monitor\ndisallowedTools: Bash(rm *)\n", ["Monitor"], None, [], True, ""),
    ("tools: Foo\ndisallowedTools: Foo\n", [], None, [], True, "None"),
    ("tools: Read\ndisallowedTools: Read(x)\n", ["Read"], None, [], False, ""),
    ("tools: Task\ndisallowedTools: Task\n", [], None, [], False, "None"),
    ("tools: Agent(Explore)\ndisallowedTools: Agent\n", ["Agent(Explore)"], None, [], False, ""),
    ("tools: Bash(git *)\ndisallowedTools: Bash(git *)\n", [], None, [], False, "None"),
    ("tools: BashOutput\ndisallowedTools: TaskOutput\n", ["BashOutput"], None, [], False, ""),
    # memory: Write, Edit, Read appended to a defined list, an empty one too
    (
        "tools: Glob\nmemory: project\n",
        ["Glob", "Write", "Edit", "Read"],
        None,
        [*MEM, "Glob"],
        True,
        "",
    ),
    (
        "tools: Glob\nmemory: project\ndisallowedTools: Write\n",
        ["Glob", "Edit", "Read"],
        None,
        ["Edit", "Glob", "Read"],
        True,
        "",
    ),
    ("tools: read\nmemory: project\n", ["read", "Write", "Edit", "Read"], None, MEM, True, ""),
    ("tools: []\nmemory: user\n", ["Write", "Edit", "Read"], None, MEM, True, ""),
    ("memory: user\n", None, None, None, True, "All tools"),
    ("tools: Glob\nmemory: global\n", ["Glob"], None, ["Glob"], True, "Glob"),
]


@pytest.mark.parametrize(
    ("rest", "tools", "disallowed", "effective", "launch", "shown"),
    LISTINGS,
    ids=[row[0].strip().replace("\n", " | ") or "no-tools" for row in LISTINGS],
)
def test_the_listing_and_the_launch(
    rest: str, tools: Any, disallowed: Any, effective: Any, launch: bool, shown: str
) -> None:
    got = view(rest)
    assert (got.listed, got.disallowed, got.launch) == (
        None if tools is None else tuple(tools),
        None if disallowed is None else tuple(disallowed),
        launch,
    )
    assert got.effective == (None if effective is None else tuple(sorted(effective)))
    expected_shown = shown or (
        ", ".join(tools)
        if tools
        else f"All tools except {', '.join(disallowed)}"
        if disallowed
        else "All tools"
    )
    assert got.shown == expected_shown


def test_mcp_tools_resolve_only_for_a_reachable_server() -> None:
    servers = frozenset({"srv", "other"})
    assert view("tools: mcp__srv__ping\n", mcp_servers=servers).effective == ("mcp__srv__ping",)
    assert view("tools: mcp__srv\n", mcp_servers=servers).effective == ("mcp__srv__*",)
    assert view("tools: mcp__srv__*\n", mcp_servers=servers).effective == ("mcp__srv__*",)
    read = view("tools: Read, mcp__nope__x\n", mcp_servers=servers)
    assert (read.effective, read.launch, read.unresolved) == (("Read",), True, ("mcp__nope__x",))
    nope = view("tools: mcp__nope__x\n", mcp_servers=servers)
    assert (nope.effective, nope.launch) == ((), False)
    for denied in ("mcp__srv", "mcp__srv__*", "mcp__*"):  # taken away on purpose: no refusal
        gone = view(f"tools: mcp__srv__ping\ndisallowedTools: {denied}\n", mcp_servers=servers)
        assert (gone.effective, gone.launch) == ((), True)
    gone = view("tools: mcp__nope__x\ndisallowedTools: mcp__nope\n", mcp_servers=servers)
    assert (gone.effective, gone.launch) == ((), True)
    unknown = view("tools: mcp__nope__x\n")  # no knowledge of the servers: taken as reachable
    assert (unknown.effective, unknown.launch) == (("mcp__nope__x",), True)
    partial = view("tools: mcp__srv__p*\n", mcp_servers=servers)  # no wildcard part-way
    assert (partial.effective, partial.launch) == ((), False)


def test_an_mcp_json_entry_that_is_not_an_object_configures_no_server(tmp_path: Path) -> None:
    from agentsync.checker import load_mcp_servers

    (tmp_path / ".mcp.json").write_text('{"mcpServers": {"srv": 5, "ok": {"command": "x"}}}')
    assert load_mcp_servers(tmp_path) == frozenset({"ok"})


@pytest.mark.parametrize(
    ("denied", "left"),
    [
        ("mcp__srv", ["mcp__other__*"]),
        ("mcp__srv__*", ["mcp__other__*"]),
        ("mcp__*", []),
        ("mcp__srv__ping", ["mcp__other__*", "mcp__srv__*"]),  # one tool of a whole server
    ],
)
def test_disallowed_mcp_patterns_remove_a_server_or_all(denied: str, left: list[str]) -> None:
    got = view(f"disallowedTools: {denied}\n", mcp_servers=frozenset({"srv", "other"}))
    assert got.effective == (*DEFAULT, *left)
    assert got.disallowed == (denied,)


def test_auto_memory_off_adds_nothing() -> None:
    got = view("tools: Glob\nmemory: project\n", auto_memory=False)
    assert (got.listed, got.effective) == (("Glob",), ("Glob",))
    empty = view("tools: []\nmemory: project\n", auto_memory=False)
    assert (empty.listed, empty.effective, empty.launch) == ((), (), True)


# --- auto-memory: the environment, then the settings files -----------------------------


def write_settings(path: Path, enabled: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"autoMemoryEnabled": enabled}), encoding="utf-8")


@pytest.mark.parametrize(
    ("flag", "on"),
    [("1", False), ("true", False), ("YES", False), ("on", False), ("0", True), ("2", True)],
)
def test_the_environment_turns_auto_memory_off(flag: str, on: bool, tmp_path: Path) -> None:
    assert (
        auto_memory_on(None, {"CLAUDE_CODE_DISABLE_AUTO_MEMORY": flag, "HOME": str(tmp_path)}) is on
    )


def test_settings_turn_auto_memory_off_later_files_winning(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    env = {"HOME": str(home)}
    assert auto_memory_on(project, env)
    write_settings(home / ".claude" / "settings.json", False)
    assert not auto_memory_on(project, env)
    write_settings(project / ".claude" / "settings.json", True)  # the project's wins
    assert auto_memory_on(project, env)
    write_settings(project / ".claude" / "settings.local.json", False)  # and the local one
    assert not auto_memory_on(project, env)
    # the environment saying no (not disabled) wins over every file
    assert auto_memory_on(project, {**env, "CLAUDE_CODE_DISABLE_AUTO_MEMORY": "0"})


def test_the_config_dir_replaces_the_users_folder(tmp_path: Path) -> None:
    write_settings(tmp_path / "config" / "settings.json", False)
    write_settings(tmp_path / "home" / ".claude" / "settings.json", True)
    env = {"HOME": str(tmp_path / "home"), "CLAUDE_CONFIG_DIR": str(tmp_path / "config")}
    assert not auto_memory_on(None, env)


@pytest.mark.parametrize("content", ["not json", "[1]", '{"autoMemoryEnabled": "false"}'])
def test_unreadable_or_odd_settings_leave_auto_memory_on(content: str, tmp_path: Path) -> None:
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(content, encoding="utf-8")
    assert auto_memory_on(tmp_path, {"HOME": str(tmp_path / "nohome")})


def test_the_project_of_a_path(tmp_path: Path) -> None:
    agents = tmp_path / "p" / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "a.md").write_text("x", encoding="utf-8")
    assert project_of(str(agents)) == tmp_path / "p"
    assert project_of(str(agents / "a.md")) == tmp_path / "p"
    (tmp_path / "q" / "sub").mkdir(parents=True)
    (tmp_path / "q" / "agentsync.toml").write_text("", encoding="utf-8")
    assert project_of(str(tmp_path / "q" / "sub")) == tmp_path / "q"
    assert project_of(str(agents), within=tmp_path) == tmp_path
    assert project_of(str(tmp_path / "q"), within=tmp_path / "p") == tmp_path / "q"


def test_check_reads_the_projects_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_CODE_DISABLE_AUTO_MEMORY", raising=False)
    agents = tmp_path / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "mem.md").write_text(
        "---\nname: mem\ndescription: d\nmemory: project\ntools: Glob\n---\nbody\n",
        encoding="utf-8",
    )

    def entry() -> dict[str, object]:
        return render_json(check_paths([str(agents)]))[0]

    on = entry()
    assert (on["tools"], on["effective_tools"]) == (
        ["Glob", "Write", "Edit", "Read"],
        ["Edit", "Glob", "Read", "Write"],
    )
    assert "AS119" in {d["code"] for d in on["diagnostics"]}  # type: ignore[attr-defined]
    write_settings(tmp_path / ".claude" / "settings.json", False)
    off = entry()
    assert (off["tools"], off["effective_tools"]) == (["Glob"], ["Glob"])
    assert "AS119" not in {d["code"] for d in off["diagnostics"]}  # type: ignore[attr-defined]
    monkeypatch.setenv("CLAUDE_CODE_DISABLE_AUTO_MEMORY", "0")
    assert entry()["tools"] == ["Glob", "Write", "Edit", "Read"]
