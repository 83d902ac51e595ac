"""The client's tools: the names it knows or retired, and how it reads an agent's `tools`."""

from __future__ import annotations

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


def _split_item(item: str) -> list[str]:
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
    return pieces
