"""Compatibility rules: diagnostics for one agent file against Claude Code 2.1.330."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from agentsync.agenttools import (
    BUILTIN_TOOLS,
    FOREIGN_TOOLS,
    MEMORY_SCOPES,
    RETIRED_TOOLS,
    SESSION_ONLY_TOOLS,
    STILL_ALIASED,
    split_tools,
)
from agentsync.frontmatter import (
    CLIENT_VERSION,
    KNOWN_KEYS,
    MAX_FILE_BYTES,
    MAX_NAME_UTF16,
    AgentFile,
    DropReason,
    DropRule,
    parse_agent,
)
from agentsync.js import js_truthy, utf16_len
from agentsync.textsafe import inline
from agentsync.textscan import conflict_marker_line, hidden_characters

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Diagnostic:
    """One finding about one file: a stable code, where, what, and how to fix it."""

    code: str
    severity: Severity
    line: int
    message: str
    fix: str

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "line": self.line,
            "message": self.message,
            "fix": self.fix,
        }


# code -> (severity, title); the README's table and the tests are built from this.
CODES: dict[str, tuple[Severity, str]] = {
    "AS001": ("error", "not a .md file: Claude Code ignores it"),
    "AS002": ("error", "file over 1 MiB: Claude Code skips it"),
    "AS003": ("error", "no frontmatter"),
    "AS004": ("error", "blank line or space before the opening ---"),
    "AS005": ("error", "no closing --- fence"),
    "AS006": ("error", "frontmatter is not YAML, even after the client's fallback"),
    "AS007": ("error", "name missing, empty or not a string"),
    "AS008": ("error", "description missing, empty or not a string"),
    "AS009": ("error", "name starts with '-'"),
    "AS010": ("error", "name contains ':'"),
    "AS011": ("error", "name longer than 256 characters"),
    "AS012": ("error", "hooks not a valid mapping"),
    "AS013": ("error", "CR-only line endings"),
    "AS014": ("error", "file cannot be read"),
    "AS015": ("error", "unresolved merge conflict markers"),
    "AS101": ("warning", "loads only through the client's quoting fallback"),
    "AS102": ("warning", "--- inside a value ends the frontmatter early"),
    "AS103": ("warning", "# comment becomes part of a value (fallback path)"),
    "AS104": ("warning", "# starts a YAML comment: the rest of the value is dropped"),
    "AS105": ("warning", "empty tools means no tools at all"),
    "AS106": ("warning", "unknown tool name"),
    "AS107": ("warning", "tool name in the wrong case"),
    "AS108": ("warning", "retired tool name"),
    "AS109": ("warning", "separator that does not split tools"),
    "AS110": ("warning", "Bash(...) specifier restricts nothing"),
    "AS111": ("warning", "Glob/Grep next to Bash are not granted"),
    "AS112": ("warning", "unknown model"),
    "AS113": ("warning", "invalid field value (ignored by the client)"),
    "AS114": ("warning", "mcpServers is not a list"),
    "AS115": ("warning", "unknown key close to a known one"),
    "AS116": ("warning", "duplicate agent name in one folder tree"),
    "AS117": ("warning", "TodoWrite is not given to subagents"),
    "AS118": ("warning", "invalid UTF-8"),
    "AS119": ("warning", "memory adds Write, Edit and Read to the listed tools"),
    "AS120": ("warning", "invisible or direction-changing characters"),
    "AS201": ("info", "name outside the lowercase-hyphen convention"),
    "AS202": ("info", "MCP server not configured in the project"),
    "AS203": ("info", "agent declares hooks"),
    "AS204": ("info", "agent declares MCP servers"),
    "AS205": ("info", "agent bypasses permission prompts"),
    "AS206": ("info", "UTF-8 byte order mark"),
}

MAX_HIDDEN_LINES = 20  # AS120 findings listed one by one; the rest are summed up in one
FIX_HINT = "run `agentsync check --fix` to rewrite the frontmatter as strict YAML"

_TOOLS_BY_FOLDED = {t.casefold(): t for t in BUILTIN_TOOLS | set(RETIRED_TOOLS)}
# Keys the client reads that the summary page does not list: never "did you mean".
OTHER_CLIENT_KEYS = frozenset(
    {
        "autoCompactWindow",
        "omitClaudeMd",
        "observer",
        "observerMessage",
        "observeSubagents",
        "observeToolResults",
        "experimental",
    }
)
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
EFFORTS = ("low", "medium", "high", "xhigh", "max")
ISOLATIONS = ("worktree", "remote")
MODEL_ALIASES = frozenset({"inherit", "sonnet", "opus", "haiku"})
_MODEL_ID = re.compile(r"^(?:[\w.-]*[./:])?claude-[a-z0-9][a-z0-9.\-@:\[\]]*$", re.IGNORECASE)
_NAME_CONVENTION = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SPECIFIER = re.compile(r"^([A-Za-z_][\w-]*)\((.*)\)$", re.DOTALL)
_BAD_SEPARATORS = (";", "|", "\t", "\n", "\r")
_POSITIVE_INT = re.compile(r"^\s*\+?0*[1-9][0-9]*\s*$")


def diagnose(
    data: bytes, display_path: str, *, mcp_servers: frozenset[str] | None = None
) -> tuple[AgentFile, list[Diagnostic]]:
    """Parse `data` as the client does and list every finding, most severe first."""
    agent = parse_agent(data)
    found = list(_file_checks(agent, display_path))
    found += [_DESCRIBE_DROP[reason.rule](agent, reason, data) for reason in agent.drop_reasons]
    if not agent.too_large:
        found += _content_checks(agent, data)
    if agent.frontmatter is not None:
        found += _parse_checks(agent, data)
        found += _name_convention(agent)
        found += _field_checks(agent, mcp_servers)
    found.sort(key=lambda d: (SEVERITY_ORDER[d.severity], d.line, d.code))
    return agent, found


def _diag(code: str, line: int, message: str, fix: str) -> Diagnostic:
    # Messages quote the file's own values (tool names, keys, models): each stays one
    # printable line wherever it is shown, also by tools that read `check --json`.
    return Diagnostic(code, CODES[code][0], line, inline(message), inline(fix))


# --- the file as a whole --------------------------------------------------------------


def _file_checks(agent: AgentFile, display_path: str) -> Iterator[Diagnostic]:
    if not display_path.endswith(".md"):
        yield _diag(
            "AS001",
            1,
            "Claude Code only reads files whose name ends in exactly `.md`",
            "rename the file to end in `.md`, or move it out of the agents folder",
        )
    if agent.invalid_utf8:
        yield _diag(
            "AS118",
            1,
            "the file is not valid UTF-8; Claude Code reads the bad bytes as U+FFFD",
            "re-save the file as UTF-8",
        )
    if agent.has_bom:
        yield _diag(
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
        return _diag(
            "AS004",
            1,
            "the file does not start with `---` (a blank line or space comes first), "
            "so Claude Code finds no frontmatter and skips it silently",
            "delete everything before the opening `---`",
        )
    if not text.startswith("---"):
        return _diag(
            "AS003",
            1,
            "no frontmatter: the file must start with a `---` line",
            "add `---`, `name:`, `description:` and a closing `---` at the top",
        )
    first_line = re.split(r"\r\n|\n|\r", text, maxsplit=1)[0]
    if "\r" in text and "\n" not in text:
        return _diag(
            "AS013",
            1,
            "the file uses CR-only line endings, which Claude Code does not read as lines",
            "convert the line endings to LF",
        )
    if first_line.strip(" \t") != "---":
        return _diag(
            "AS003",
            1,
            f"the opening line must be `---` alone, not `{first_line[:40]}`",
            "make the first line exactly `---`",
        )
    return _diag(
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
        yield _diag(
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
        yield _diag(
            "AS120",
            hidden.line,
            f"{count} invisible or direction-changing character{'s' if count > 1 else ''}: "
            f"{hidden.describe()}; an editor or a review does not show {them}, "
            f"the model reads {them}",
            f"delete {them}, or write what {them} should say as visible text",
        )
    if len(lines) > MAX_HIDDEN_LINES:
        left = len(lines) - MAX_HIDDEN_LINES
        yield _diag(
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
        yield _diag(
            "AS101",
            _error_line(agent),
            "the frontmatter is not valid YAML "
            f"({_short(agent.strict_error)}); Claude Code loads it only through its quoting "
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


def _short(text: str | None, limit: int = 120) -> str:
    text = text or "parse error"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _early_close(agent: AgentFile) -> Iterator[Diagnostic]:
    """The block ends at the first `---` anywhere, even mid-line or as `----`."""
    text, fence_at = agent.text, agent.closing_fence_at
    line = 1 + text.count("\n", 0, fence_at)
    if fence_at > 0 and text[fence_at - 1] != "\n":
        yield _diag(
            "AS102",
            line,
            "`---` inside a value ends the frontmatter there; the rest of that line and "
            "every later key fall into the body",
            "reword the value without `---` (or run `agentsync check --fix`)",
        )
        return
    after = text[fence_at + 3 :].split("\n", 1)[0].rstrip("\r")
    if after.strip():
        yield _diag(
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
        else f"{_short(agent.strict_error)}; the client's quoting fallback fails too"
    )
    fixable = agent.evident_name is not None and agent.evident_description is not None
    return _diag(
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
            yield _diag(
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
            yield _diag(
                "AS104",
                agent.line_of(key),
                f"`{raw[comment.start() :].strip()[:40]}` is a YAML comment: "
                f"`{key}` reads `{_short(value, 60)}`",
                f"quote the whole value if the `#` belongs to it: {key}: {_quoted(raw)}",
            )


def _quoted(raw: str) -> str:
    return '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- why the client drops the file (the rules live in frontmatter) ---------------------


def _too_large(agent: AgentFile, reason: DropReason, data: bytes) -> Diagnostic:
    return _diag(
        "AS002",
        1,
        f"the file is larger than {MAX_FILE_BYTES:,} bytes, so Claude Code skips it",
        "shorten the system prompt below 1 MiB",
    )


def _no_fence(agent: AgentFile, reason: DropReason, data: bytes) -> Diagnostic:
    return _fence_problem(agent)  # an unreadable file shows no frontmatter either


def _not_yaml(agent: AgentFile, reason: DropReason, data: bytes) -> Diagnostic:
    return _yaml_failure(agent, data)


def _no_name(agent: AgentFile, reason: DropReason, data: bytes) -> Diagnostic:
    return _diag(
        "AS007",
        agent.line_of("name"),
        f"`name` is {_describe(agent.fields, 'name')}, so Claude Code drops the agent",
        "add `name: your-agent-name` (lowercase letters, digits, hyphens)",
    )


def _no_description(agent: AgentFile, reason: DropReason, data: bytes) -> Diagnostic:
    return _diag(
        "AS008",
        agent.line_of("description"),
        f"`description` is {_describe(agent.fields, 'description')}, "
        "so Claude Code drops the agent",
        "add a one-line `description:` saying when to use the agent (quote it)",
    )


def _name_dash(agent: AgentFile, reason: DropReason, data: bytes) -> Diagnostic:
    return _diag(
        "AS009",
        agent.line_of("name"),
        "`name` starts with '-', so Claude Code drops the agent",
        "drop the '-'",
    )


def _name_colon(agent: AgentFile, reason: DropReason, data: bytes) -> Diagnostic:
    return _diag(
        "AS010",
        agent.line_of("name"),
        f"`name` contains ':' (reserved for plugin namespaces); {CLIENT_VERSION} drops it",
        "replace ':' by '-'",
    )


def _name_length(agent: AgentFile, reason: DropReason, data: bytes) -> Diagnostic:
    length = utf16_len(agent.fields["name"])
    return _diag(
        "AS011",
        agent.line_of("name"),
        f"`name` is {length} UTF-16 code units long; the limit is {MAX_NAME_UTF16}",
        "shorten the name",
    )


def _bad_hooks(agent: AgentFile, reason: DropReason, data: bytes) -> Diagnostic:
    return _diag(
        "AS012",
        agent.line_of("hooks"),
        f"{reason.text}; Claude Code {CLIENT_VERSION} drops the agent",
        "make `hooks` a mapping of events to lists of {matcher, hooks: [...]}, or remove it",
    )


_DESCRIBE_DROP: dict[DropRule, Callable[[AgentFile, DropReason, bytes], Diagnostic]] = {
    "unreadable": _no_fence,
    "size": _too_large,
    "fence": _no_fence,
    "yaml": _not_yaml,
    "name": _no_name,
    "name-dash": _name_dash,
    "name-length": _name_length,
    "name-colon": _name_colon,
    "description": _no_description,
    "hooks": _bad_hooks,
}


def _describe(fields: Mapping[str, Any], key: str) -> str:
    if key not in fields:
        return "missing"
    value = fields[key]
    if value is None or value == "":
        return "empty"
    return f"not a string (YAML reads a {_yaml_type(value)})"


def _yaml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _name_convention(agent: AgentFile) -> Iterator[Diagnostic]:
    name = agent.fields.get("name")
    if isinstance(name, str) and name and not _NAME_CONVENTION.match(name):
        yield _diag(
            "AS201",
            agent.line_of("name"),
            f"`{_short(name, 60)}` is outside the documented convention "
            "(lowercase letters, digits and hyphens)",
            f"consider `{_conventional(name)}`",
        )


def _conventional(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    return slug or "my-agent"


# --- other fields ----------------------------------------------------------------------


def _field_checks(agent: AgentFile, mcp_servers: frozenset[str] | None) -> Iterator[Diagnostic]:
    fields = agent.fields
    if "tools" in fields:
        yield from _tools_checks(agent, "tools", mcp_servers)
    if "disallowedTools" in fields:
        yield from _tools_checks(agent, "disallowedTools", mcp_servers)
    yield from _memory_tools_check(agent)
    yield from _model_check(agent)
    yield from _enum_checks(agent)
    yield from _mcp_servers_check(agent)
    yield from _key_checks(agent)
    yield from _review_notes(agent)


def _tools_checks(
    agent: AgentFile, key: str, mcp_servers: frozenset[str] | None
) -> Iterator[Diagnostic]:
    pieces = split_tools(agent.fields[key])
    line = agent.line_of(key)
    if pieces == () and key == "tools":
        yield _diag(
            "AS105",
            line,
            "`tools` is empty, which gives the agent only Write, Edit and Read (added for "
            "its `memory`)"
            if agent.tools
            else "`tools` is empty, which gives the agent no tools at all "
            "(the client's agent list still shows 'All tools')",
            "list the tools the agent needs, or delete the `tools` line to inherit all tools",
        )
        return
    own_servers = _own_mcp_servers(agent.fields)
    for piece in pieces or ():
        yield from _piece_checks(piece, key, line, mcp_servers, own_servers)
    if key == "tools" and pieces and "Bash" in {_base(p) for p in pieces}:
        shadowed = sorted({_base(p) for p in pieces} & {"Glob", "Grep"})
        if shadowed:
            yield _diag(
                "AS111",
                line,
                f"{' and '.join(shadowed)} next to Bash: the client does not grant them as "
                "separate tools when Bash is granted",
                "expect searches to run through Bash; drop them from `tools` to say so",
            )


def _memory_tools_check(agent: AgentFile) -> Iterator[Diagnostic]:
    listed = split_tools(agent.fields["tools"]) if "tools" in agent.fields else None
    if not listed or agent.tools is None:
        return  # inherits all tools, or empty (AS105 says what it gets)
    added = [tool for tool in agent.tools if tool not in listed]
    if added:
        yield _diag(
            "AS119",
            agent.line_of("memory"),
            f"`memory` also gives this agent {', '.join(added)} (Claude Code adds them so the "
            "agent can keep its memory files), beyond the `tools` it lists",
            "drop `memory` if the agent must stay read-only, or list the tools to say so",
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
        yield _diag(
            "AS109",
            line,
            f"`{_short(piece, 40)}` is one tool name to Claude Code: {shown} does not split "
            "tools (only commas and spaces do)",
            "separate tool names with commas",
        )
        return
    specifier = _SPECIFIER.match(piece)
    if specifier:
        yield _diag(
            "AS110",
            line,
            f"`{_short(piece, 40)}`: a subagent's `{key}` ignore the part in parentheses, "
            f"so it grants all of {specifier.group(1)}",
            "restrict commands with permission rules in settings, not in `tools`",
        )
        piece = specifier.group(1)
    yield from _name_check(piece, key, line)


def _name_check(piece: str, key: str, line: int) -> Iterator[Diagnostic]:
    if piece in BUILTIN_TOOLS:
        return
    if piece in SESSION_ONLY_TOOLS:
        yield _diag(
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
        yield _diag(
            "AS108",
            line,
            f"`{piece}` is a retired tool name ({effect}); its successor is `{successor}`",
            f"replace `{piece}` by `{successor}` (`agentsync check --fix --fix-tools`)",
        )
        return
    proper = _TOOLS_BY_FOLDED.get(piece.casefold())
    if proper is not None:
        yield _diag(
            "AS107",
            line,
            f"`{piece}` is not a tool: names are case-sensitive, the client ignores it",
            f"write `{proper}`",
        )
        return
    instead = FOREIGN_TOOLS.get(piece.casefold())
    hint = f"use `{instead}`" if instead else "remove it or use a Claude Code tool name"
    yield _diag(
        "AS106",
        line,
        f"`{_short(piece, 40)}` is not a Claude Code tool; the client ignores it silently",
        hint,
    )


def _mcp_tool_check(
    piece: str, line: int, mcp_servers: frozenset[str] | None, own_servers: frozenset[str]
) -> Iterator[Diagnostic]:
    server = piece[len("mcp__") :].split("__", 1)[0]
    if mcp_servers is None or server in mcp_servers or server in own_servers:
        return
    yield _diag(
        "AS202",
        line,
        f"`{piece}` needs an MCP server `{server}`, which the project's .mcp.json does not "
        "configure; without it the tool is dropped",
        f"configure `{server}` in .mcp.json or your settings (ignore if configured there)",
    )


def _own_mcp_servers(fields: Mapping[str, Any]) -> frozenset[str]:
    servers = fields.get("mcpServers")
    if not isinstance(servers, list):
        return frozenset()
    names: set[str] = set()
    for item in servers:
        if isinstance(item, str):
            names.add(item)
        elif isinstance(item, dict):
            names.update(str(k) for k in item)
    return frozenset(names)


def _model_check(agent: AgentFile) -> Iterator[Diagnostic]:
    if "model" not in agent.fields:
        return
    model = agent.fields["model"]
    line = agent.line_of("model")
    if not isinstance(model, str) or not model.strip():
        if model is not None:
            yield _diag(
                "AS112",
                line,
                f"`model` is not a string (YAML reads a {_yaml_type(model)}); "
                "the agent inherits the session's model",
                "use `inherit`, `sonnet`, `opus`, `haiku` or a full model id",
            )
        return
    value = model.strip()
    if value.casefold() in MODEL_ALIASES or _MODEL_ID.match(value):
        return
    yield _diag(
        "AS112",
        line,
        f"unknown model `{_short(value, 40)}`: Claude Code sends it to the API verbatim, "
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
        checks.append(("permissionMode", mode in PERMISSION_MODES, ", ".join(PERMISSION_MODES)))
    if "effort" in fields:
        effort = fields["effort"]
        ok = effort in EFFORTS or (isinstance(effort, int) and not isinstance(effort, bool))
        checks.append(("effort", ok, ", ".join(EFFORTS) + " or an integer"))
    if "memory" in fields:
        checks.append(("memory", fields["memory"] in MEMORY_SCOPES, ", ".join(MEMORY_SCOPES)))
    if "isolation" in fields:
        checks.append(("isolation", fields["isolation"] in ISOLATIONS, ", ".join(ISOLATIONS)))
    if "maxTurns" in fields:
        checks.append(("maxTurns", _positive_int(fields["maxTurns"]), "a positive integer"))
    if "background" in fields:
        ok = fields["background"] in (True, False, "true", "false")
        checks.append(("background", ok, "true or false"))
    for key, ok, valid in checks:
        if ok or fields[key] is None:
            continue
        yield _diag(
            "AS113",
            agent.line_of(key),
            f"`{key}: {_short(str(fields[key]), 40)}` is not valid; Claude Code ignores it",
            f"valid values: {valid}",
        )


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
    yield _diag(
        "AS114",
        agent.line_of("mcpServers"),
        "`mcpServers` must be a list (server names or one-key maps); "
        f"Claude Code ignores a {_yaml_type(servers)}",
        "write it as a list: `mcpServers: [github]` or `- name: {config}` items",
    )


def _key_checks(agent: AgentFile) -> Iterator[Diagnostic]:
    for key in agent.fields:
        if key in KNOWN_KEYS or key in OTHER_CLIENT_KEYS:
            continue
        meant = _did_you_mean(key)
        if meant is None:
            continue
        yield _diag(
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
        yield _diag(
            "AS203",
            agent.line_of("hooks"),
            "the agent declares hooks: it can run commands of its own",
            "read the hooks before installing",
        )
    if js_truthy(fields.get("mcpServers")):
        yield _diag(
            "AS204",
            agent.line_of("mcpServers"),
            "the agent declares MCP servers: it can start programs or reach services",
            "read the server definitions before installing",
        )
    if fields.get("permissionMode") == "bypassPermissions":
        yield _diag(
            "AS205",
            agent.line_of("permissionMode"),
            "`permissionMode: bypassPermissions` lets the agent act without permission prompts",
            "make sure you trust it, or use `default`",
        )
