"""Diagnostics for one agent file against Claude Code 2.1.330: how it is read, why it is dropped."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from agentsync.agenttools import ToolView, named_mcp_servers, own_mcp_servers, tool_view
from agentsync.diagnostics import CODES, Diagnostic, by_severity, diag, short, yaml_type
from agentsync.fieldchecks import field_checks
from agentsync.frontmatter import (
    CLIENT_VERSION,
    MAX_FILE_BYTES,
    MAX_NAME_UTF16,
    AgentFile,
    DropReason,
    DropRule,
    parse_agent,
)
from agentsync.js import utf16_len
from agentsync.plugins import PluginAgent, read_plugin_agent
from agentsync.textscan import conflict_marker_line, hidden_characters

__all__ = [
    "CODES",
    "MAX_HIDDEN_LINES",
    "Diagnostic",
    "ToolView",
    "agent_view",
    "diagnose",
    "diagnose_plugin",
    "diagnose_with_view",
]

MAX_HIDDEN_LINES = 20  # AS120 findings listed one by one; the rest are summed up in one
FIX_HINT = "run `agentsync check --fix` to rewrite the frontmatter as strict YAML"


def diagnose(
    data: bytes,
    display_path: str,
    *,
    mcp_servers: frozenset[str] | None = None,
    auto_memory: bool = True,
) -> tuple[AgentFile, list[Diagnostic]]:
    """Parse `data` as the client does and list every finding, most severe first.

    `mcp_servers`: the servers the project configures (None: unknown, taken as all);
    `auto_memory`: whether the client's auto-memory is on where the agent runs.
    """
    agent, found, _view = diagnose_with_view(
        data, display_path, mcp_servers=mcp_servers, auto_memory=auto_memory
    )
    return agent, found


def diagnose_with_view(
    data: bytes,
    display_path: str,
    *,
    mcp_servers: frozenset[str] | None = None,
    auto_memory: bool = True,
) -> tuple[AgentFile, list[Diagnostic], ToolView]:
    """`diagnose`, and the agent's tools as listed and launched (worked out once for both)."""
    agent = parse_agent(data)
    view = agent_view(agent.fields, mcp_servers, auto_memory)
    found = _findings(agent, data, display_path, mcp_servers, view, agent.frontmatter is not None)
    return agent, sorted(found, key=by_severity), view


def _findings(
    agent: AgentFile,
    data: bytes,
    display_path: str,
    mcp_servers: frozenset[str] | None,
    view: ToolView,
    values: bool,
) -> list[Diagnostic]:
    """Every check of one read of the file, unsorted; `values`: check the frontmatter's."""
    found = list(_file_checks(agent, display_path))
    found += [_describe_drop(agent, reason, data) for reason in agent.drop_reasons]
    if not agent.too_large:
        found += _content_checks(agent, data)
    if values:
        found += _parse_checks(agent, data)
        found += field_checks(agent, mcp_servers, view)
    return found


def diagnose_plugin(
    data: bytes,
    display_path: str,
    relative: str,
    plugin: str,
    *,
    mcp_servers: frozenset[str] | None = None,
    auto_memory: bool = True,
) -> tuple[AgentFile, list[Diagnostic], ToolView]:
    """`diagnose` for a file the plugin loader reads (`relative`: its path below the plugin's
    agents folder). That loader takes what the project loader drops: no frontmatter, YAML
    that does not parse, a bad name or description, any `hooks`; only the size limit holds.
    The agent comes back under its namespaced name, without the keys plugins ignore."""
    parsed = parse_agent(data)
    loaded = read_plugin_agent(data, relative, plugin, Path(display_path))
    kept = {k: v for k, v in loaded.fields.items() if k not in loaded.ignored}
    agent = replace(
        parsed,
        name=loaded.name,
        description=loaded.description,
        tools=loaded.tools,
        drop_reasons=tuple(r for r in parsed.drop_reasons if r.rule == "size"),
        fields=kept,
    )
    view = agent_view(kept, mcp_servers, auto_memory)
    values = parsed.frontmatter is not None and parsed.parse != "failed"
    found = [
        d
        for d in _findings(agent, data, display_path, mcp_servers, view, values)
        if d.code != "AS001" or not display_path.lower().endswith(".md")  # `.MD` loads here
    ]
    if not agent.too_large:
        found += _plugin_notes(parsed, loaded, plugin)
    return agent, sorted(found, key=by_severity), view


def _plugin_notes(parsed: AgentFile, loaded: PluginAgent, plugin: str) -> Iterator[Diagnostic]:
    """What the plugin loader makes of the file that its author may not expect."""
    for key in loaded.ignored:
        yield diag(
            "AS121",
            parsed.line_of(key),
            f"Claude Code ignores `{short(key, 40)}` in plugin agents: this agent runs without it",
            "remove it, or install the agent into .claude/agents (`agentsync install` keeps "
            "it there)",
        )
    if loaded.stem_name:
        if parsed.frontmatter is None:
            why = "the file has no frontmatter"
        elif parsed.parse == "failed":
            why = f"its frontmatter does not parse ({short(parsed.strict_error)})"
        elif loaded.long_name:
            why = "`name` is longer than 256 characters"
        else:
            why = "`name` is missing or empty"
        yield diag(
            "AS122",
            parsed.line_of("name"),
            f"{why}, so the plugin loader names the agent after its file: "
            f"`{short(loaded.name, 80)}`",
            "set `name:` in the frontmatter",
        )
    if loaded.generic_description:
        yield diag(
            "AS123",
            parsed.line_of("description"),
            f"no description: Claude Code lists the agent as `Agent from {short(plugin, 60)} "
            "plugin`, which does not tell the model when to use it",
            "add `description:` saying when to use the agent",
        )


def agent_view(
    fields: Mapping[str, Any], mcp_servers: frozenset[str] | None, auto_memory: bool = True
) -> ToolView:
    """The agent's tools as the client lists them and as a launch gets them; servers its
    own `mcpServers` defines are reachable besides the project's, and the configured ones
    it names come with all their tools."""
    named = named_mcp_servers(fields)
    reachable = None if mcp_servers is None else mcp_servers | own_mcp_servers(fields)
    joined = named if mcp_servers is None else named & mcp_servers
    return tool_view(fields, auto_memory=auto_memory, mcp_servers=reachable, joined=joined)


# --- the file as a whole --------------------------------------------------------------


def _file_checks(agent: AgentFile, display_path: str) -> Iterator[Diagnostic]:
    if not display_path.endswith(".md"):
        yield diag(
            "AS001",
            1,
            "Claude Code only reads files whose name ends in exactly `.md`",
            "rename the file to end in `.md`, or move it out of the agents folder",
        )
    if agent.invalid_utf8:
        yield diag(
            "AS118",
            1,
            "the file is not valid UTF-8; Claude Code reads the bad bytes as U+FFFD",
            "re-save the file as UTF-8",
        )
    if agent.has_bom:
        yield diag(
            "AS206",
            1,
            f"the file starts with a UTF-8 byte order mark; {CLIENT_VERSION} strips it, "
            "Claude Code 2.1.197 and older ignore the whole file",
            "save the file without a byte order mark",
        )


def _fence_problem(agent: AgentFile) -> Diagnostic:
    text = agent.text
    stripped = text.lstrip(" \t\r\n")
    if stripped.startswith("---") and stripped != text:
        return diag(
            "AS004",
            1,
            "the file does not start with `---` (a blank line or space comes first), "
            "so Claude Code finds no frontmatter and skips it silently",
            "delete everything before the opening `---`",
        )
    if not text.startswith("---"):
        return diag(
            "AS003",
            1,
            "no frontmatter: the file must start with a `---` line",
            "add `---`, `name:`, `description:` and a closing `---` at the top",
        )
    first_line = re.split(r"\r\n|\n|\r", text, maxsplit=1)[0]
    if "\r" in text and "\n" not in text:
        return diag(
            "AS013",
            1,
            "the file uses CR-only line endings, which Claude Code does not read as lines",
            "convert the line endings to LF",
        )
    if first_line.strip(" \t") != "---":
        return diag(
            "AS003",
            1,
            f"the opening line must be `---` alone, not `{first_line[:40]}`",
            "make the first line exactly `---`",
        )
    return diag(
        "AS005",
        1,
        "no closing `---`: without it Claude Code finds no frontmatter",
        "add a line `---` after the last frontmatter key",
    )


# --- what a reader of the file does not see -------------------------------------------


def _content_checks(agent: AgentFile, data: bytes) -> Iterator[Diagnostic]:
    """Checks of the whole text, frontmatter and body: the client loads all of it."""
    line = conflict_marker_line(data)
    if line is not None:
        yield diag(
            "AS015",
            line,
            "an unresolved merge conflict starts here (`<<<<<<<`, `=======`, `>>>>>>>` lines)"
            + (
                ": Claude Code loads the marker lines and both versions into the agent's prompt"
                if agent.loads
                else ""
            ),
            "keep the text you want and delete the marker lines",
        )
    text = "\ufeff" + agent.text if agent.has_bom else agent.text
    lines = hidden_characters(text)
    for hidden in lines[:MAX_HIDDEN_LINES]:
        count = len(hidden.code_points)
        them = "them" if count > 1 else "it"
        yield diag(
            "AS120",
            hidden.line,
            f"{count} invisible or direction-changing character{'s' if count > 1 else ''}: "
            f"{hidden.describe()}; an editor or a review does not show {them}, "
            f"the model reads {them}",
            f"delete {them}, or write what {'they' if count > 1 else 'it'} should say as "
            "visible text",
        )
    if len(lines) > MAX_HIDDEN_LINES:
        left = len(lines) - MAX_HIDDEN_LINES
        yield diag(
            "AS120",
            lines[MAX_HIDDEN_LINES].line,
            f"this line and {left - 1} more below have invisible or direction-changing "
            "characters too (not listed one by one)",
            "delete them, or write what they should say as visible text",
        )


# --- how the YAML was read --------------------------------------------------------------


def _parse_checks(agent: AgentFile, data: bytes) -> Iterator[Diagnostic]:
    yield from _early_close(agent)
    if agent.parse == "fallback":
        yield diag(
            "AS101",
            _error_line(agent),
            "the frontmatter is not valid YAML "
            f"({short(agent.strict_error)}); Claude Code loads it only through its quoting "
            "fallback, and strict YAML tools and other agent runtimes reject it",
            _fix_hint(data),
        )
        yield from _leaked_comments(agent)
    else:
        yield from _stripped_comments(agent)


def _fix_hint(data: bytes) -> str:
    if conflict_marker_line(data) is not None:  # `check --fix` leaves such a file alone
        return "resolve the merge conflict first, then " + FIX_HINT
    return FIX_HINT


def _early_close(agent: AgentFile) -> Iterator[Diagnostic]:
    """The block ends at the first `---` anywhere, even mid-line or as `----`."""
    text, fence_at = agent.text, agent.closing_fence_at
    line = 1 + text.count("\n", 0, fence_at)
    if fence_at > 0 and text[fence_at - 1] != "\n":
        yield diag(
            "AS102",
            line,
            "`---` inside a value ends the frontmatter there; the rest of that line and "
            "every later key fall into the body",
            "reword the value without `---` (or run `agentsync check --fix`)",
        )
        return
    after = text[fence_at + 3 :].split("\n", 1)[0].rstrip("\r")
    if after.strip():
        yield diag(
            "AS102",
            line,
            f"the closing fence is followed by `{after[:20]}`, which becomes part of the body",
            "make the closing line exactly `---`",
        )


def _yaml_failure(agent: AgentFile, data: bytes) -> Diagnostic:
    """AS006, saying why the frontmatter does not parse when the line endings are to blame."""
    crlf = b"\r\n" in data and parse_agent(data.replace(b"\r\n", b"\n")).loads
    why = (
        "the file has CRLF line endings, which defeat the client's quoting fallback"
        if crlf
        else f"{short(agent.strict_error)}; the client's quoting fallback fails too"
    )
    fixable = agent.evident_name is not None and agent.evident_description is not None
    return diag(
        "AS006",
        _error_line(agent),
        f"Claude Code cannot parse the frontmatter ({why}), so the agent is dropped",
        _fix_hint(data) if fixable else "rewrite the frontmatter as valid YAML",
    )


def _error_line(agent: AgentFile) -> int:
    found = re.search(r"line (\d+)", agent.strict_error or "")
    if found is None:
        return agent.frontmatter_line
    return agent.frontmatter_line + int(found.group(1)) - 1


def _raw_lines(agent: AgentFile) -> dict[str, str]:
    """The raw value text after `key:` for each top-level key (the last occurrence)."""
    values = {}
    for line in (agent.frontmatter or "").split("\n"):
        found = re.match(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]+(.*?)[ \t\r]*$", line)
        if found:
            values[found.group(1)] = found.group(2)
    return values


def _leaked_comments(agent: AgentFile) -> Iterator[Diagnostic]:
    for key, raw in _raw_lines(agent).items():
        if re.search(r"(^|\s)#", raw) and _mentions_hash(agent.fields.get(key)):
            yield diag(
                "AS103",
                agent.line_of(key),
                f"on the fallback path the `#` comment becomes part of `{key}`",
                "move the comment to its own line (or run `agentsync check --fix`)",
            )


def _mentions_hash(value: Any) -> bool:
    if isinstance(value, str):
        return "#" in value
    return isinstance(value, list) and any(isinstance(v, str) and "#" in v for v in value)


def _stripped_comments(agent: AgentFile) -> Iterator[Diagnostic]:
    for key, raw in _raw_lines(agent).items():
        value = agent.fields.get(key)
        if raw[:1] in ("'", '"', "|", ">", "[", "{") or not isinstance(value, str):
            continue
        comment = re.search(r"\s#", raw)
        if comment and value and raw.startswith(value.rstrip()):
            yield diag(
                "AS104",
                agent.line_of(key),
                f"`{raw[comment.start() :].strip()[:40]}` is a YAML comment: "
                f"`{key}` reads `{short(value, 60)}`",
                f"quote the whole value if the `#` belongs to it: {key}: {_quoted(raw)}",
            )


def _quoted(raw: str) -> str:
    return '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- why the client drops the file (the rules live in frontmatter) ---------------------


def _describe_drop(agent: AgentFile, reason: DropReason, data: bytes) -> Diagnostic:
    """The diagnostic for one rule the file breaks (frontmatter found it; this only words it)."""
    if reason.rule == "size":
        return diag(
            "AS002",
            1,
            f"the file is larger than {MAX_FILE_BYTES:,} bytes, so Claude Code skips it",
            "shorten the system prompt below 1 MiB",
        )
    if reason.rule in ("fence", "unreadable"):  # an unreadable file shows no frontmatter
        return _fence_problem(agent)
    if reason.rule == "yaml":
        return _yaml_failure(agent, data)
    code, key, what, fix = _FIELD_DROPS[reason.rule]
    return diag(code, agent.line_of(key), what(agent, reason), fix)


_Words = Callable[[AgentFile, DropReason], str]
# rule -> (code, the key whose line it names, what is wrong, how to fix it)
_FIELD_DROPS: dict[DropRule, tuple[str, str, _Words, str]] = {
    "name": (
        "AS007",
        "name",
        lambda agent, _: (
            f"`name` is {_describe(agent.fields, 'name')}, so Claude Code drops the agent"
        ),
        "add `name: your-agent-name` (lowercase letters, digits, hyphens)",
    ),
    "name-dash": (
        "AS009",
        "name",
        lambda agent, _: "`name` starts with '-', so Claude Code drops the agent",
        "drop the '-'",
    ),
    "name-colon": (
        "AS010",
        "name",
        lambda agent, _: (
            f"`name` contains ':' (reserved for plugin namespaces); {CLIENT_VERSION} drops it"
        ),
        "replace ':' by '-'",
    ),
    "name-length": (
        "AS011",
        "name",
        lambda agent, _: (
            f"`name` is {utf16_len(agent.fields['name'])} UTF-16 code units long; "
            f"the limit is {MAX_NAME_UTF16}"
        ),
        "shorten the name",
    ),
    "description": (
        "AS008",
        "description",
        lambda agent, _: (
            f"`description` is {_describe(agent.fields, 'description')}, "
            "so Claude Code drops the agent"
        ),
        "add a one-line `description:` saying when to use the agent (quote it)",
    ),
    "hooks": (
        "AS012",
        "hooks",
        lambda _, reason: f"{reason.text}; Claude Code {CLIENT_VERSION} drops the agent",
        "make `hooks` a mapping of events to lists of {matcher, hooks: [...]}, or remove it",
    ),
}


def _describe(fields: Mapping[str, Any], key: str) -> str:
    if key not in fields:
        return "missing"
    value = fields[key]
    if value is None or value == "":
        return "empty"
    return f"not a string (YAML reads a {yaml_type(value)})"
