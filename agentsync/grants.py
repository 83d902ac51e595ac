"""What a new version of an agent lets it do that the old one could not, and how much of
its text changed."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from agentsync.agenttools import split_tools
from agentsync.frontmatter import parse_agent

# Tools that let an agent change files, run commands or reach the network.
RISKY_TOOLS = frozenset({"Bash", "Write", "Edit", "MultiEdit", "NotebookEdit", "WebFetch"})
_CALM_MODES = frozenset({None, "default", "plan"})


@dataclass(frozen=True)
class Grant:
    """One way a new version lets an agent do more than before."""

    what: str  # "tools", "disallowedTools", "permissionMode", "hooks", "mcpServers", "model"
    detail: str
    risky: bool

    @property
    def text(self) -> str:
        return f"{self.what}: {self.detail}"


def widened(before: bytes, after: bytes) -> tuple[Grant, ...]:
    """Changes from `before` to `after` that let the agent do more, as Claude Code reads them."""
    old, new = parse_agent(before), parse_agent(after)
    if not new.loads:
        return ()  # Claude Code will not load it at all: nothing is granted
    old_fields: dict[str, Any] = dict(old.fields) if old.loads else {}
    grants = _tool_grants(old.tools if old.loads else (), new.tools)
    grants += _disallowed_grants(old_fields, dict(new.fields))
    grants += _setting_grants(old_fields, dict(new.fields))
    return tuple(grants)


def _tool_grants(old: tuple[str, ...] | None, new: tuple[str, ...] | None) -> list[Grant]:
    if new is None:
        if old is None:
            return []
        return [Grant("tools", "all tools (the tools line was removed)", risky=True)]
    if old is None:
        return []  # it had every tool already
    return [Grant("tools", f"+{tool}", _risky(tool)) for tool in new if tool not in old]


def _disallowed_grants(old: dict[str, Any], new: dict[str, Any]) -> list[Grant]:
    before = split_tools(old.get("disallowedTools")) or ()
    after = split_tools(new.get("disallowedTools")) or ()
    return [
        Grant("disallowedTools", f"no longer disallows {tool}", _risky(tool))
        for tool in before
        if tool not in after
    ]


def _setting_grants(old: dict[str, Any], new: dict[str, Any]) -> list[Grant]:
    grants = []
    mode_before, mode_after = old.get("permissionMode"), new.get("permissionMode")
    if mode_before != mode_after:
        risky = mode_after not in _CALM_MODES or mode_before == "plan"
        detail = f"{mode_before or 'default'} -> {mode_after or 'default'}"
        grants.append(Grant("permissionMode", detail, risky))
    for key in ("hooks", "mcpServers"):
        if new.get(key) and new.get(key) != old.get(key):
            grants.append(Grant(key, "added" if not old.get(key) else "changed", risky=True))
    if old.get("model") != new.get("model"):
        detail = f"{old.get('model') or 'inherit'} -> {new.get('model') or 'inherit'}"
        grants.append(Grant("model", detail, risky=False))
    return grants


def _risky(tool: str) -> bool:
    return tool.split("(", 1)[0].strip() in RISKY_TOOLS or tool.strip() == "*"


def line_counts(before: bytes, after: bytes) -> tuple[int, int]:
    """(lines added, lines removed) going from `before` to `after`."""
    old = before.decode("utf-8", errors="replace").splitlines()
    new = after.decode("utf-8", errors="replace").splitlines()
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed += i2 - i1
        if tag in ("replace", "insert"):
            added += j2 - j1
    return added, removed
