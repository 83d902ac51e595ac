"""The diagnostics vocabulary: every code with its severity and title, and one finding's shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from agentsync.textsafe import inline

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
    "AS016": ("error", "listed, but every launch is refused: no tool resolves"),
    "AS017": ("error", "plugin agent the plugin loader skips (a link, or an unnamed plugin)"),
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
    "AS121": ("warning", "key Claude Code ignores in plugin agents"),
    "AS122": ("warning", "plugin agent named after its file"),
    "AS123": ("warning", "plugin agent without a description"),
    "AS201": ("info", "name outside the lowercase-hyphen convention"),
    "AS202": ("info", "MCP server not configured in the project"),
    "AS203": ("info", "agent declares hooks"),
    "AS204": ("info", "agent declares MCP servers"),
    "AS205": ("info", "agent bypasses permission prompts"),
    "AS206": ("info", "UTF-8 byte order mark"),
    "AS207": ("info", "project agent hiding a user or built-in agent, or hidden by one"),
}


def diag(code: str, line: int, message: str, fix: str) -> Diagnostic:
    """The finding `code` (its severity from CODES), with message and fix made one line each."""
    # Messages quote the file's own values (tool names, keys, models): each stays one
    # printable line wherever it is shown, also by tools that read `check --json`.
    return Diagnostic(code, CODES[code][0], line, inline(message), inline(fix))


def by_severity(finding: Diagnostic) -> tuple[int, int, str]:
    """Sort key of findings: most severe first, then by line, then by code."""
    return SEVERITY_ORDER[finding.severity], finding.line, finding.code


def short(text: str | None, limit: int = 120) -> str:
    """`text` cut to `limit` characters for quoting in a message."""
    text = text or "parse error"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def yaml_type(value: Any) -> str:
    """What YAML made of `value`, in the words a message uses."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def known_codes() -> frozenset[str]:
    """Every code a diagnostic can carry."""
    return frozenset(CODES)
