"""Diagnostics for the values of a parsed agent's fields: name, tools, model, enums and keys."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from agentsync.agenttools import (
    BUILTIN_TOOLS,
    FOREIGN_TOOLS,
    MEMORY_SCOPES,
    RETIRED_TOOLS,
    SESSION_ONLY_TOOLS,
    STILL_ALIASED,
    ToolView,
    own_mcp_servers,
    split_tools,
    tool_view,
)
from agentsync.diagnostics import Diagnostic, diag, short, yaml_type
from agentsync.frontmatter import KNOWN_KEYS, AgentFile
from agentsync.js import js_truthy

_TOOLS_BY_FOLDED = {t.casefold(): t for t in BUILTIN_TOOLS | set(RETIRED_TOOLS)}
_KEY_ALIASES = {
    "allowedtools": "tools",
    "allowed-tools": "tools",
    "allowed_tools": "tools",
    "tool": "tools",
    "disallowed-tools": "disallowedTools",
    "disallowed_tools": "disallowedTools",
    "prompt": "initialPrompt",
}
_FOLDED_KEYS = {k.casefold().replace("-", "").replace("_", ""): k for k in KNOWN_KEYS}

COLORS = ("red", "blue", "green", "yellow", "purple", "orange", "pink", "cyan")
PERMISSION_MODES = ("default", "acceptEdits", "auto", "dontAsk", "bypassPermissions", "plan")
_OTHER_MODES = frozenset({"manual"})  # the client reads it as `default`
EFFORTS = ("low", "medium", "high", "xhigh", "max")  # in any case: the client lower-cases it
MIN_COMPACT_WINDOW = 100_000  # a smaller `autoCompactWindow` is ignored with a warning
ISOLATIONS = ("worktree", "remote")
MODEL_ALIASES = frozenset({"inherit", "sonnet", "opus", "haiku"})
_MODEL_ID = re.compile(r"^(?:[\w.-]*[./:])?claude-[a-z0-9][a-z0-9.\-@:\[\]]*$", re.IGNORECASE)
_NAME_CONVENTION = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SPECIFIER = re.compile(r"^([A-Za-z_][\w-]*)\((.*)\)$", re.DOTALL)
_BAD_SEPARATORS = (";", "|", "\t", "\n", "\r")
_POSITIVE_INT = re.compile(r"^\s*\+?0*[1-9][0-9]*\s*$")


def field_checks(
    agent: AgentFile, mcp_servers: frozenset[str] | None, view: ToolView
) -> Iterator[Diagnostic]:
    """What the values of a parsed frontmatter mean; `mcp_servers`: those the project has;
    `view`: the agent's tools as the client lists them and launches it."""
    fields = agent.fields
    yield from _name_convention(agent)
    if "tools" in fields:
        yield from _tools_checks(agent, "tools", mcp_servers, view)
    if "disallowedTools" in fields:
        yield from _tools_checks(agent, "disallowedTools", mcp_servers, view)
    yield from _memory_tools_check(agent, view)
    yield from _launch_check(agent, view)
    yield from _model_check(agent)
    yield from _enum_checks(agent)
    yield from _mcp_servers_check(agent)
    yield from _key_checks(agent)
    yield from _review_notes(agent)


def _name_convention(agent: AgentFile) -> Iterator[Diagnostic]:
    name = agent.fields.get("name")
    if isinstance(name, str) and name and not _NAME_CONVENTION.match(name):
        yield diag(
            "AS201",
            agent.line_of("name"),
            f"`{short(name, 60)}` is outside the documented convention "
            "(lowercase letters, digits and hyphens)",
            f"consider `{_conventional(name)}`",
        )


def _conventional(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    return slug or "my-agent"


def _tools_checks(
    agent: AgentFile, key: str, mcp_servers: frozenset[str] | None, view: ToolView
) -> Iterator[Diagnostic]:
    pieces = split_tools(agent.fields[key])
    line = agent.line_of(key)
    if pieces == () and key == "tools":
        yield diag(
            "AS105",
            line,
            f"`tools` is empty, which gives the agent only {', '.join(view.effective)} "
            "(added for its `memory`)"
            if view.effective
            else "`tools` is empty, which gives the agent no tools at all "
            f"(the client's agent list shows '{short(view.shown, 80)}')",
            "list the tools the agent needs, or delete the `tools` line to inherit all tools",
        )
        return
    own_servers = own_mcp_servers(agent.fields)
    for piece in pieces or ():
        yield from _piece_checks(piece, key, line, mcp_servers, own_servers)
    if key == "tools" and "Bash" in (view.effective or ()):
        shadowed = sorted({_base(p) for p in pieces or ()} & {"Glob", "Grep"})
        if shadowed:
            yield diag(
                "AS111",
                line,
                f"{' and '.join(shadowed)} next to Bash: the client does not grant them as "
                "separate tools when Bash is granted",
                "expect searches to run through Bash; drop them from `tools` to say so",
            )


def _memory_tools_check(agent: AgentFile, view: ToolView) -> Iterator[Diagnostic]:
    listed = split_tools(agent.fields["tools"]) if "tools" in agent.fields else None
    if not listed or view.listed is None:
        return  # inherits all tools, or empty (AS105 says what it gets)
    gets = set(view.effective or ())
    added = [tool for tool in view.listed if tool not in listed and tool in gets]
    if added:
        yield diag(
            "AS119",
            agent.line_of("memory"),
            f"`memory` also gives this agent {', '.join(added)} (Claude Code adds them so the "
            "agent can keep its memory files), beyond the `tools` it lists",
            "drop `memory` if the agent must stay read-only, or list the tools to say so",
        )


def _launch_check(agent: AgentFile, view: ToolView) -> Iterator[Diagnostic]:
    """A `tools` that resolves to nothing: the client lists the agent, then refuses it."""
    if view.launch:
        return
    if view.unresolved:
        why = (
            f"{', '.join(f'`{short(p, 40)}`' for p in view.unresolved[:8])} "
            f"{'names' if len(view.unresolved) == 1 else 'name'} no tool a subagent can have"
        )
        if len(view.unresolved) < len(view.listed or ()):
            why += ", and `disallowedTools` removes the rest"
    else:
        why = "`disallowedTools` removes every tool it lists"
    yield diag(
        "AS016",
        agent.line_of("tools"),
        f"Claude Code lists this agent but refuses every launch ('would be spawned with zero "
        f"tools'): {why}",
        _launch_fix(agent, view),
    )


def _launch_fix(agent: AgentFile, view: ToolView) -> str:
    renamed = {p: RETIRED_TOOLS[p] for p in view.listed or () if p in RETIRED_TOOLS}
    if renamed:
        fixed = [RETIRED_TOOLS.get(p, p) for p in split_tools(agent.fields["tools"]) or ()]
        if tool_view({**agent.fields, "tools": fixed}).launch:
            names = ", ".join(f"{old} -> {new}" for old, new in renamed.items())
            return f"run `agentsync check --fix --fix-tools` ({names})"
    return (
        "list tools a subagent can have, spelled as Claude Code spells them (Read, Grep, "
        "Bash, ...), or delete the `tools` line to inherit all tools"
    )


def _base(piece: str) -> str:
    found = _SPECIFIER.match(piece)
    return found.group(1) if found else piece


def _piece_checks(
    piece: str,
    key: str,
    line: int,
    mcp_servers: frozenset[str] | None,
    own_servers: frozenset[str],
) -> Iterator[Diagnostic]:
    if piece.startswith("mcp__"):
        yield from _mcp_tool_check(piece, line, mcp_servers, own_servers)
        return
    separators = [s for s in _BAD_SEPARATORS if s in piece]
    if separators:
        shown = ", ".join(repr(s) for s in separators)
        yield diag(
            "AS109",
            line,
            f"`{short(piece, 40)}` is one tool name to Claude Code: {shown} does not split "
            "tools (only commas and spaces do)",
            "separate tool names with commas",
        )
        return
    specifier = _SPECIFIER.match(piece)
    if specifier:
        tool = specifier.group(1)
        yield (
            diag(
                "AS110",
                line,
                f"`{short(piece, 40)}`: a subagent's `tools` ignore the part in parentheses, "
                f"so it grants all of {tool}",
                "restrict commands with permission rules in settings, not in `tools`",
            )
            if key == "tools"
            else diag(
                "AS110",
                line,
                f"`{short(piece, 40)}`: `disallowedTools` ignores the part in parentheses, "
                f"so it removes all of {tool}"
                + (" (and Monitor with it)" if tool == "Bash" else ""),
                f"write `{tool}` to say so; to forbid only some uses, write permission rules "
                "in settings",
            )
        )
        piece = specifier.group(1)
    yield from _name_check(piece, key, line)


def _name_check(piece: str, key: str, line: int) -> Iterator[Diagnostic]:
    if piece in BUILTIN_TOOLS:
        return
    if piece in SESSION_ONLY_TOOLS:
        yield diag(
            "AS117",
            line,
            f"`{piece}` exists for the main session only; a subagent does not get it",
            f"remove `{piece}` from `{key}`",
        )
        return
    if piece in RETIRED_TOOLS:
        successor = RETIRED_TOOLS[piece]
        effect = (
            "still accepted as an alias"
            if piece in STILL_ALIASED
            else "the client ignores it without a message"
        )
        yield diag(
            "AS108",
            line,
            f"`{piece}` is a retired tool name ({effect}); its successor is `{successor}`",
            f"replace `{piece}` by `{successor}` (`agentsync check --fix --fix-tools`)",
        )
        return
    proper = _TOOLS_BY_FOLDED.get(piece.casefold())
    if proper is not None:
        yield diag(
            "AS107",
            line,
            f"`{piece}` is not a tool: names are case-sensitive, the client ignores it",
            f"write `{proper}`",
        )
        return
    instead = FOREIGN_TOOLS.get(piece.casefold())
    hint = f"use `{instead}`" if instead else "remove it or use a Claude Code tool name"
    yield diag(
        "AS106",
        line,
        f"`{short(piece, 40)}` is not a Claude Code tool; the client ignores it silently",
        hint,
    )


def _mcp_tool_check(
    piece: str, line: int, mcp_servers: frozenset[str] | None, own_servers: frozenset[str]
) -> Iterator[Diagnostic]:
    server = piece[len("mcp__") :].split("__", 1)[0]
    if mcp_servers is None or server in mcp_servers or server in own_servers:
        return
    yield diag(
        "AS202",
        line,
        f"`{piece}` needs an MCP server `{server}`, which the project's .mcp.json does not "
        "configure; without it the tool is dropped",
        f"configure `{server}` in .mcp.json or your settings (ignore if configured there)",
    )


def _model_check(agent: AgentFile) -> Iterator[Diagnostic]:
    if "model" not in agent.fields:
        return
    model = agent.fields["model"]
    line = agent.line_of("model")
    if not isinstance(model, str) or not model.strip():
        if model is not None:
            yield diag(
                "AS112",
                line,
                f"`model` is not a string (YAML reads a {yaml_type(model)}); "
                "the agent inherits the session's model",
                "use `inherit`, `sonnet`, `opus`, `haiku` or a full model id",
            )
        return
    value = model.strip()
    if value.casefold() in MODEL_ALIASES or _MODEL_ID.match(value):
        return
    yield diag(
        "AS112",
        line,
        f"unknown model `{short(value, 40)}`: Claude Code sends it to the API verbatim, "
        "and the agent fails when it runs",
        "use `inherit`, `sonnet`, `opus`, `haiku` or a full model id",
    )


def _enum_checks(agent: AgentFile) -> Iterator[Diagnostic]:
    fields = agent.fields
    checks: list[tuple[str, bool, str]] = []
    if "color" in fields:
        color = fields["color"]
        checks.append(("color", isinstance(color, str) and color in COLORS, ", ".join(COLORS)))
    if "permissionMode" in fields:
        mode = fields["permissionMode"]
        ok = mode in PERMISSION_MODES or mode in _OTHER_MODES
        checks.append(("permissionMode", ok, ", ".join(PERMISSION_MODES)))
    if "effort" in fields:
        checks.append(
            ("effort", _valid_effort(fields["effort"]), ", ".join(EFFORTS) + " or an integer")
        )
    if "memory" in fields:
        checks.append(("memory", fields["memory"] in MEMORY_SCOPES, ", ".join(MEMORY_SCOPES)))
    if "isolation" in fields:
        checks.append(("isolation", fields["isolation"] in ISOLATIONS, ", ".join(ISOLATIONS)))
    if "maxTurns" in fields:
        checks.append(("maxTurns", _positive_int(fields["maxTurns"]), "a positive integer"))
    if "background" in fields:
        ok = fields["background"] in (True, False, "true", "false")
        checks.append(("background", ok, "true or false"))
    if "autoCompactWindow" in fields:
        window = fields["autoCompactWindow"]
        ok = _integer(window) and window >= MIN_COMPACT_WINDOW
        checks.append(("autoCompactWindow", ok, f"an integer of at least {MIN_COMPACT_WINDOW}"))
    for key, ok, valid in checks:
        if ok or fields[key] is None:
            continue
        yield diag(
            "AS113",
            agent.line_of(key),
            f"`{key}: {short(str(fields[key]), 40)}` is not valid; Claude Code ignores it",
            f"valid values: {valid}",
        )


def _valid_effort(value: Any) -> bool:
    """A level in any case, an integer, or a string of digits (read as that integer)."""
    if isinstance(value, str):
        return value.lower() in EFFORTS or bool(re.fullmatch(r"[0-9]+", value))
    return _integer(value)


def _integer(value: Any) -> bool:
    """A whole number as JavaScript sees one (`1e5` is one; `true` is not)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _positive_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    if isinstance(value, float):
        return value.is_integer() and value > 0
    return isinstance(value, str) and bool(_POSITIVE_INT.match(value))


def _mcp_servers_check(agent: AgentFile) -> Iterator[Diagnostic]:
    servers = agent.fields.get("mcpServers")
    if servers is None or isinstance(servers, list):
        return
    yield diag(
        "AS114",
        agent.line_of("mcpServers"),
        "`mcpServers` must be a list (server names or one-key maps); "
        f"Claude Code ignores a {yaml_type(servers)}",
        "write it as a list: `mcpServers: [github]` or `- name: {config}` items",
    )


def _key_checks(agent: AgentFile) -> Iterator[Diagnostic]:
    for key in agent.fields:
        if key in KNOWN_KEYS:
            continue
        meant = _did_you_mean(key)
        if meant is None:
            continue
        yield diag(
            "AS115",
            agent.line_of(key),
            f"unknown key `{key}` (keys are exact and case-sensitive), Claude Code ignores "
            f"it: did you mean `{meant}`?",
            f"rename `{key}` to `{meant}`",
        )


def _did_you_mean(key: str) -> str | None:
    folded = key.casefold()
    if folded in _KEY_ALIASES:
        return _KEY_ALIASES[folded]
    squashed = folded.replace("-", "").replace("_", "")
    if squashed in _FOLDED_KEYS:
        return _FOLDED_KEYS[squashed]
    close = difflib.get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.85)
    return close[0] if close else None


def _review_notes(agent: AgentFile) -> Iterator[Diagnostic]:
    fields = agent.fields
    if js_truthy(fields.get("hooks")):
        yield diag(
            "AS203",
            agent.line_of("hooks"),
            "the agent declares hooks: it can run commands of its own",
            "read the hooks before installing",
        )
    if js_truthy(fields.get("mcpServers")):
        yield diag(
            "AS204",
            agent.line_of("mcpServers"),
            "the agent declares MCP servers: it can start programs or reach services",
            "read the server definitions before installing",
        )
    if fields.get("permissionMode") == "bypassPermissions":
        yield diag(
            "AS205",
            agent.line_of("permissionMode"),
            "`permissionMode: bypassPermissions` lets the agent act without permission prompts",
            "make sure you trust it, or use `default`",
        )
