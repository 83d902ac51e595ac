"""The client's tools: the names it knows or retired, and how it reads an agent's `tools`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agentsync.js import js_trim, js_truthy

BUILTIN_TOOLS = frozenset(
    {
        "Agent",
        "AskUserQuestion",
        "Bash",
        "CronCreate",
        "CronDelete",
        "CronList",
        "Edit",
        "EnterPlanMode",
        "EnterWorktree",
        "ExitPlanMode",
        "ExitWorktree",
        "Glob",
        "Grep",
        "ListMcpResourcesTool",
        "LSP",
        "Monitor",
        "NotebookEdit",
        "PowerShell",
        "Read",
        "ReadMcpResourceTool",
        "SendMessage",
        "Skill",
        "TaskCreate",
        "TaskGet",
        "TaskList",
        "TaskOutput",
        "TaskStop",
        "TaskUpdate",
        "ToolSearch",
        "WebFetch",
        "WebSearch",
        "Write",
    }
)
# Retired name -> successor. Aliases the client still maps at run time are marked.
RETIRED_TOOLS: dict[str, str] = {
    "MultiEdit": "Edit",
    "Task": "Agent",
    "LS": "Glob",
    "NotebookRead": "Read",
    "TodoRead": "TodoWrite",
    "BashOutput": "TaskOutput",
    "KillShell": "TaskStop",
    "KillBash": "TaskStop",
    "SlashCommand": "Skill",
    "MCPSearch": "ToolSearch",
}
STILL_ALIASED = frozenset({"Task", "BashOutput", "KillShell", "KillBash"})
SESSION_ONLY_TOOLS = frozenset({"TodoWrite"})
# Names from other agent runtimes, with the Claude Code tool that does that job.
FOREIGN_TOOLS: dict[str, str] = {
    "edit/editfiles": "Edit",
    "editfiles": "Edit",
    "runcommands": "Bash",
    "runterminal": "Bash",
    "run": "Bash",
    "terminal": "Bash",
    "codebase": "Grep",
    "search": "Grep",
    "fetch": "WebFetch",
    "websearch": "WebSearch",
    "readfile": "Read",
    "writefile": "Write",
}

MEMORY_SCOPES = ("user", "project", "local")  # the `memory` values the client accepts
# Observed (2.1.330): an agent with a valid `memory` and an explicit `tools` list also gets
# these, appended in this order when missing, so that it can keep its memory files.
MEMORY_TOOLS = ("Write", "Edit", "Read")


def split_tools(value: Any) -> tuple[str, ...] | None:
    """Normalise `tools` as the client does: None = all tools, () = none, else the pieces."""
    if value is None:
        return ()
    if not js_truthy(value):
        return ()
    items = (
        [value]
        if isinstance(value, str)
        else [v for v in value if isinstance(v, str)]
        if (isinstance(value, list))
        else []
    )
    pieces = [piece for item in items if item for piece in _split_item(item)]
    if "*" in pieces:
        return None
    return tuple(pieces)


@lru_cache(maxsize=4096)  # a check reads the same few tool lines in thousands of files
def _split_item(item: str) -> tuple[str, ...]:
    """Split on `,` and the space only, except inside `(...)` (an on/off flag)."""
    pieces: list[str] = []
    current = ""
    in_parens = False
    for char in item:
        if char == "(":
            in_parens = True
            current += char
        elif char == ")":
            in_parens = False
            current += char
        elif char in ", " and not in_parens:
            if js_trim(current):
                pieces.append(js_trim(current))
            current = ""
        elif current or js_trim(char):
            current += char
    if js_trim(current):
        pieces.append(js_trim(current))
    return tuple(pieces)


# --- what the client lists, and what a launched subagent really gets -------------------

# The tools a launched subagent can hold (observed on 2.1.330–2.1.332): every other built-in
# is for the main session only, and a `tools` naming nothing but those is refused at launch.
SUBAGENT_TOOLS = frozenset(
    {
        "Agent",
        "Bash",
        "Edit",
        "EnterWorktree",
        "ExitWorktree",
        "Glob",
        "Grep",
        "Monitor",
        "NotebookEdit",
        "Read",
        "SendMessage",
        "Skill",
        "TaskStop",
        "WebFetch",
        "WebSearch",
        "Write",
    }
)
# A subagent that inherits all tools gets these (the client's own search runs through Bash,
# so Glob and Grep are not among them), plus the tools of every connected MCP server.
DEFAULT_SUBAGENT_TOOLS = tuple(sorted(SUBAGENT_TOOLS - {"Glob", "Grep"}))
# ToolSearch resolves (an agent listing it is launched) but only loads deferred tools, so it
# is never reported as a tool the agent has.
LOADER_TOOLS = frozenset({"ToolSearch"})
# The names the client maps at run time, in `tools` and `disallowedTools` alike.
RUNTIME_ALIASES = {"Task": "Agent", "KillShell": "TaskStop", "KillBash": "TaskStop"}
RUNTIME_ALIASES["BashOutput"] = "TaskOutput"  # which a subagent never gets
_SPECIFIER = re.compile(r"^([A-Za-z_][\w-]*)\((.*)\)$", re.DOTALL)


@dataclass(frozen=True)
class ToolView:
    """One agent's tools three ways: the client's agent list, and what a launch really gets."""

    listed: tuple[str, ...] | None  # the list's pieces; None for "All tools"
    disallowed: tuple[str, ...] | None  # shown as "All tools except …"; else None
    effective: tuple[str, ...] | None  # a launched subagent's tools; None for the default set
    launch: bool  # False when the client refuses every launch
    shown: str  # the tools part of the client's agent list, as it prints it
    unresolved: tuple[str, ...] = ()  # listed pieces that give no tool at all


def tool_name(piece: str) -> str:
    """The tool a piece names at run time: `Bash(git *)` is all of Bash, aliases mapped."""
    found = _SPECIFIER.match(piece)
    name = found.group(1) if found else piece
    return RUNTIME_ALIASES.get(name, name)


def listed_tools(fields: Mapping[str, Any], *, auto_memory: bool = True) -> tuple[str, ...] | None:
    """`tools` as the client reads it: split, plus what a valid `memory` appends while
    auto-memory is on (to a defined list only, an empty one included)."""
    if "tools" not in fields:
        return None
    pieces = split_tools(fields["tools"])
    if pieces is None or not auto_memory or fields.get("memory") not in MEMORY_SCOPES:
        return pieces
    return pieces + tuple(tool for tool in MEMORY_TOOLS if tool not in pieces)


def disallowed_tools(fields: Mapping[str, Any]) -> tuple[str, ...]:
    """`disallowedTools` split as `tools` is; a `*` anywhere makes the client ignore all of it."""
    if "disallowedTools" not in fields:
        return ()
    return split_tools(fields["disallowedTools"]) or ()


def tool_view(
    fields: Mapping[str, Any],
    *,
    auto_memory: bool = True,
    mcp_servers: frozenset[str] | None = None,
    joined: frozenset[str] = frozenset(),
) -> ToolView:
    """The listing and the launch of one agent; `mcp_servers`: the servers it can reach
    (None when unknown: its MCP tools are then taken as reachable); `joined`: servers whose
    every tool the launch gets whatever `tools` says (see `named_mcp_servers`)."""
    pieces = listed_tools(fields, auto_memory=auto_memory)
    denied = disallowed_tools(fields)
    extra = tuple(f"mcp__{s}__*" for s in sorted(joined))
    if not pieces:  # the list shows "All tools" (an empty value too), less what is disallowed
        shown = f"All tools except {', '.join(denied)}" if denied else "All tools"
        if pieces == ():
            return ToolView((), denied or None, _sorted(_without(extra, denied)), True, shown)
        if not denied:
            return ToolView(None, None, None, launch=True, shown=shown)
        servers = tuple(f"mcp__{s}__*" for s in sorted((mcp_servers or frozenset()) | joined))
        kept = _without(DEFAULT_SUBAGENT_TOOLS + servers, denied)
        return ToolView(None, denied, _sorted(kept), launch=True, shown=shown)
    listed = tuple(p for p in pieces if p not in denied)  # exact, case-sensitive
    # A launch starts again from every piece, not from that list.
    granted = {piece: _resolve(piece, mcp_servers) for piece in pieces}
    kept = _without(tuple(t for t in granted.values() if t is not None), denied)
    if "Bash" in kept:  # searches run through Bash: no separate Glob or Grep
        kept = tuple(t for t in kept if t not in ("Glob", "Grep"))
    # Left with no tool, the client refuses the launch unless `disallowedTools` took away
    # every piece on purpose; then the subagent starts with none.
    launch = bool(kept) or all(_denied_outright(piece, denied) for piece in pieces)
    if joined:  # a whole server stands for its single tools
        kept = tuple(t for t in kept if t.partition("__")[2].partition("__")[0] not in joined)
        kept += _without(extra, denied)
    if not listed:  # nothing left to list
        return ToolView((), None, _sorted(_without(extra, denied)), launch, shown="None")
    unresolved = tuple(piece for piece in listed if granted[piece] is None)
    return ToolView(listed, None, _sorted(kept), launch, ", ".join(listed), unresolved=unresolved)


def own_mcp_servers(fields: Mapping[str, Any]) -> frozenset[str]:
    """The MCP servers an agent's own `mcpServers` list defines (its one-key maps)."""
    servers = fields.get("mcpServers")
    if not isinstance(servers, list):
        return frozenset()
    return frozenset(str(k) for item in servers if isinstance(item, dict) for k in item)


def named_mcp_servers(fields: Mapping[str, Any]) -> frozenset[str]:
    """The servers an agent's `mcpServers` list only names (its strings). A name reaches
    nothing by itself: it refers to a server the project or the user configures. When that
    server is configured, a launch gets every tool of it, on top of `tools` (even an empty
    one) and less `disallowedTools` (observed 2.1.330 and 2.1.332)."""
    servers = fields.get("mcpServers")
    if not isinstance(servers, list):
        return frozenset()
    return frozenset(item for item in servers if isinstance(item, str))


def _resolve(piece: str, mcp_servers: frozenset[str] | None) -> str | None:
    """The tool one listed piece gives a subagent, or None; `mcp__s__*` stands for all the
    tools of server `s`."""
    if piece.startswith("mcp__"):
        server, _, tool = piece[len("mcp__") :].partition("__")
        if not server or (mcp_servers is not None and server not in mcp_servers):
            return None
        if tool in ("", "*"):
            return f"mcp__{server}__*"
        # no tool name holds `*` or `(`: a pattern part-way through a name matches nothing
        return None if "*" in tool or "(" in tool else piece
    name = tool_name(piece)
    return name if name in SUBAGENT_TOOLS or name in LOADER_TOOLS else None


# The names matched as one tool when `disallowedTools` is held against a piece of `tools`;
# not BashOutput, whose TaskOutput no subagent has.
_DENIAL_ALIASES = {"Task": "Agent", "KillShell": "TaskStop", "KillBash": "TaskStop"}


def _denied_outright(piece: str, denied: tuple[str, ...]) -> bool:
    """Whether a `disallowedTools` rule takes `piece` away on purpose (observed 2.1.330–2.1.332):
    a rule without a specifier naming its tool (aliases either way, any spelling, known or not),
    a server's MCP pattern, or any Bash rule for Monitor. A piece whose tool only a rule with a
    specifier removes (`Read` under `Read(x)`) is not: the client then refuses the launch."""
    found = _SPECIFIER.match(piece)
    name = found.group(1) if found else piece
    if name == "Task" or (found and name == "Agent"):
        return False  # read as a choice of agent types, which no rule takes away outright
    if piece.startswith("mcp__"):
        server = piece[len("mcp__") :].partition("__")[0]
        return any(d in (piece, "mcp__*", f"mcp__{server}", f"mcp__{server}__*") for d in denied)
    if name == "Monitor" and any(tool_name(d) == "Bash" for d in denied):
        return True  # it watches Bash's background commands and goes with it
    name = _DENIAL_ALIASES.get(name, name)
    return any(not _SPECIFIER.match(d) and _DENIAL_ALIASES.get(d, d) == name for d in denied)


def _without(tools: tuple[str, ...], denied: tuple[str, ...]) -> tuple[str, ...]:
    """`tools` minus what `denied` takes away at run time: whole tools, by name."""
    names: set[str] = set()
    servers: set[str] = set()
    every_server = False
    for piece in denied:
        if piece.startswith("mcp__"):
            server, _, tool = piece[len("mcp__") :].partition("__")
            if server == "*":
                every_server = True
            elif tool in ("", "*"):
                servers.add(server)
            else:
                names.add(piece)
            continue
        names.add(tool_name(piece))
        if tool_name(piece) == "Bash":
            names.add("Monitor")  # it watches Bash's background commands
    return tuple(
        tool
        for tool in tools
        if tool not in names
        and not (
            tool.startswith("mcp__")
            and (every_server or tool[len("mcp__") :].partition("__")[0] in servers)
        )
    )


def _sorted(tools: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(tools) - LOADER_TOOLS))
