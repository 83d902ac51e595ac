"""A minimal MCP server on stdin/stdout (newline-delimited JSON-RPC) offering fixed tools.

The contract tests configure it in a project's `.mcp.json` so that the real client has a
connected server whose tools it can give (or deny) a subagent. Usage: mcp_stdio_stub.py TOOL...
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _tool(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"The {name} tool of the contract stub.",
        "inputSchema": {"type": "object", "properties": {}},
    }


def answer(request: dict[str, Any], tools: list[str]) -> dict[str, Any] | None:
    """The reply to one JSON-RPC message; None for a notification."""
    if "id" not in request:
        return None
    method = request.get("method")
    if method == "initialize":
        params = request.get("params") or {}
        result: dict[str, Any] = {
            "protocolVersion": params.get("protocolVersion", "2024-11-05"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "contract-stub", "version": "1.0.0"},
        }
    elif method == "tools/list":
        result = {"tools": [_tool(name) for name in tools]}
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": "ok"}]}
    elif method in ("ping", "resources/list", "prompts/list"):
        result = {"resources": []} if method == "resources/list" else {}
        if method == "prompts/list":
            result = {"prompts": []}
    else:
        return {
            "jsonrpc": "2.0",
            "id": request["id"],
            "error": {"code": -32601, "message": f"no method {method}"},
        }
    return {"jsonrpc": "2.0", "id": request["id"], "result": result}


def main() -> None:
    tools = sys.argv[1:]
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            continue
        reply = answer(request, tools) if isinstance(request, dict) else None
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
