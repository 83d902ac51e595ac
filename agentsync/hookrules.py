"""The client's rules for an agent's hooks: which declarations make it drop the agent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentsync.js import js_truthy

HOOK_EVENTS = frozenset(
    (
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "PostToolBatch",
        "Notification",
        "UserPromptSubmit",
        "UserPromptExpansion",
        "SessionStart",
        "SessionEnd",
        "Stop",
        "StopFailure",
        "SubagentStart",
        "SubagentStop",
        "PreCompact",
        "PostCompact",
        "PreModelSwitch",
        "PostModelSwitch",
        "PermissionRequest",
        "PermissionDenied",
        "Setup",
        "TeammateIdle",
        "TaskCreated",
        "TaskCompleted",
        "Elicitation",
        "ElicitationResult",
        "ConfigChange",
        "WorktreeCreate",
        "WorktreeRemove",
        "InstructionsLoaded",
        "CwdChanged",
        "FileChanged",
        "DirectoryAdded",
        "MessageDisplay",
    )
)
_GUARDED_EVENTS = frozenset({"PreToolUse", "PermissionRequest"})
_UNSCANNED_KEYS = frozenset({"metadata", "mcpServers", "lspServers"})


def _looks_like_matcher(value: Any) -> bool:
    """The client's test for a hook matcher object (`{matcher?, hooks: [...]}`)."""
    if not isinstance(value, dict):
        return False
    if "matcher" not in value and any(k in HOOK_EVENTS for k in value):
        return False
    hooks = value.get("hooks")
    if isinstance(hooks, list):
        return len(hooks) > 0
    return (
        isinstance(hooks, dict)
        and bool(hooks)
        and ("matcher" in value or isinstance(hooks.get("type"), str))
    )


def _has_guarded_event(value: Any) -> bool:
    return isinstance(value, dict) and any(
        k in _GUARDED_EVENTS and v is not None and v != [] for k, v in value.items()
    )


def _holds_guarded_hooks(
    value: Any,
    depth: int,
    matchers_count: bool,
    in_list: bool,
    unscanned: frozenset[str] = _UNSCANNED_KEYS,
) -> bool:
    if _has_guarded_event(value) or (matchers_count and _looks_like_matcher(value)):
        return True
    if depth == 0 or not isinstance(value, dict | list) or not value:
        return False
    if isinstance(value, list):
        return any(
            _holds_guarded_hooks(v, depth - 1, matchers_count, in_list, unscanned) for v in value
        )
    if in_list and isinstance(value.get("type"), str):
        return False
    return any(
        k not in unscanned
        and _holds_guarded_hooks(
            v,
            depth - 1,
            matchers_count and k not in HOOK_EVENTS,
            k == "hooks" and isinstance(v, list),
            unscanned,
        )
        for k, v in value.items()
    )


def _guarded_inside(value: Any) -> bool:
    """Whether PreToolUse/PermissionRequest hooks sit somewhere in an entry of `hooks`
    (where every key is looked into)."""
    return _holds_guarded_hooks(value, 3, False, False, frozenset())


def hooks_problem(fields: Mapping[str, Any]) -> str | None:
    """Why the client refuses this agent's hooks (2.1.330), or None."""
    if _has_guarded_event(fields) or any(
        k != "hooks"
        and k not in _UNSCANNED_KEYS
        and _holds_guarded_hooks(v, 3, k not in HOOK_EVENTS, False)
        for k, v in fields.items()
    ):
        return "PreToolUse/PermissionRequest hooks are declared outside `hooks`"
    hooks = fields.get("hooks")
    if not js_truthy(hooks):
        return None
    if not isinstance(hooks, dict) or _looks_like_matcher(hooks):
        return "`hooks` must be a mapping of hook events to matcher lists"
    for event, matchers in hooks.items():
        if event not in HOOK_EVENTS:
            # An unknown event is skipped with a warning, unless guarding hooks sit in it:
            # those may be what protects the rest, so the client loads none of it.
            if _guarded_inside(matchers):
                return (
                    f"`hooks.{event}` is not a hook event, but it holds "
                    "PreToolUse/PermissionRequest hooks"
                )
            continue
        if event in _GUARDED_EVENTS and matchers is not None and not _valid_matchers(matchers):
            return f"`hooks.{event}` is not a list of valid matchers"
        if isinstance(matchers, list) and any(_guarded_inside(m) for m in matchers):
            return (
                f"`hooks.{event}` holds PreToolUse/PermissionRequest hooks where a matcher "
                "was expected"
            )
    return None


def _valid_matchers(matchers: Any) -> bool:
    if not isinstance(matchers, list):
        return False
    for matcher in matchers:
        if not isinstance(matcher, dict) or not isinstance(matcher.get("hooks"), list):
            return False
        if "matcher" in matcher and not isinstance(matcher["matcher"], str):
            return False
        if not all(_valid_hook(entry) for entry in matcher["hooks"]):
            return False
    return True


# Each hook type and the field it cannot do without (the client's settings schema).
_HOOK_REQUIRES = {
    "command": "command",
    "prompt": "prompt",
    "agent": "prompt",
    "http": "url",
    "mcp_tool": "server",
}


def _valid_hook(entry: Any) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
        return False
    required = _HOOK_REQUIRES.get(entry["type"])
    return required is not None and isinstance(entry.get(required), str)
