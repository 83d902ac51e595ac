"""The contract tests' own stand-ins, without a client: the API stub's launches and how a
run's requests are read back, and the MCP stub server. A broken helper would otherwise show
only where a client is installed, as a confusing contract failure."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tests import mcp_stdio_stub
from tests.contract_claude import (
    LISTING_HEADER,
    Launch,
    _launch,
    api_stub,
    probe_id,
    probe_prompt,
)
from tests.mcp_stdio_stub import answer

MAIN_TURN = {
    "stream": True,
    "model": "m",
    "tools": [{"name": "Read"}, {"name": "Agent"}],
    "messages": [{"role": "user", "content": [{"type": "text", "text": f"{LISTING_HEADER}\n"}]}],
}


def _post(url: str, body: dict[str, Any]) -> str:
    request = urllib.request.Request(  # noqa: S310 - the loopback stub
        f"{url}/v1/messages", json.dumps(body).encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
        return str(reply.read().decode())


def _events(stream: str) -> list[dict[str, Any]]:
    return [
        json.loads(line[len("data: ") :])
        for line in stream.splitlines()
        if line.startswith("data: ")
    ]


def test_the_first_main_turn_launches_every_agent_once() -> None:
    with api_stub(["a", "b"]) as (url, bodies):
        first = _events(_post(url, MAIN_TURN))
        again = _events(_post(url, MAIN_TURN))
    calls = [e["content_block"] for e in first if e["type"] == "content_block_start"]
    assert [(c["type"], c["name"], c["id"]) for c in calls] == [
        ("tool_use", "Agent", probe_id(0)),
        ("tool_use", "Agent", probe_id(1)),
    ]
    arguments = [
        json.loads(e["delta"]["partial_json"]) for e in first if e["type"] == "content_block_delta"
    ]
    assert [a["subagent_type"] for a in arguments] == ["a", "b"]
    assert arguments[1]["prompt"] == probe_prompt(1)
    assert any(e.get("delta", {}).get("stop_reason") == "tool_use" for e in first)
    assert [e["delta"] for e in again if e["type"] == "content_block_delta"] == [
        {"type": "text_delta", "text": "ok"}
    ]
    assert len(bodies) == 2


def test_without_launches_every_turn_is_a_text_reply() -> None:
    with api_stub() as (url, _):
        events = _events(_post(url, MAIN_TURN))
    assert [e["delta"] for e in events if e["type"] == "content_block_delta"] == [
        {"type": "text_delta", "text": "ok"}
    ]


def _main(*extra: dict[str, Any]) -> dict[str, Any]:
    call = {"type": "tool_use", "id": probe_id(0), "name": "Agent", "input": {}}
    return {"messages": [{"role": "assistant", "content": [call]}, *extra]}


def test_a_launch_is_read_from_the_subagents_own_request() -> None:
    subagent = {
        "tools": [{"name": "Read"}, {"name": "ToolSearch"}, {"name": "DeferredToolPlaceholder"}],
        "messages": [{"role": "user", "content": probe_prompt(0)}],
    }
    assert _launch([_main(), subagent], 0) == Launch(("Read",))


def test_a_refusal_is_read_from_the_failed_tasks_notification() -> None:
    note = (
        f"<task-notification>\n<tool-use-id>{probe_id(0)}</tool-use-id>\n<status>failed"
        "</status>\n<summary>Agent 'x' would be spawned with zero tools</summary>"
    )
    notified = _main({"role": "system", "content": [{"type": "text", "text": note}]})
    assert _launch([notified], 0) == Launch(None, "Agent 'x' would be spawned with zero tools")
    result = {"type": "tool_result", "tool_use_id": probe_id(0), "is_error": True}
    errored = _main({"role": "user", "content": [{**result, "content": "refused"}]})
    assert _launch([errored], 0) == Launch(None, "refused")
    assert _launch([_main()], 0) == Launch(None, None)  # neither: the test says so


def test_the_mcp_stub_offers_its_tools() -> None:
    init = answer({"id": 1, "method": "initialize", "params": {"protocolVersion": "x"}}, [])
    assert init is not None and init["result"]["protocolVersion"] == "x"
    assert answer({"method": "notifications/initialized"}, []) is None
    lines = "\n".join(
        json.dumps(m)
        for m in (
            {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 2, "method": "nothing"},
        )
    )
    done = subprocess.run(
        [sys.executable, str(Path(mcp_stdio_stub.__file__)), "echo", "ping"],
        input=lines + "\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    listed, unknown = (json.loads(line) for line in done.stdout.splitlines())
    assert [t["name"] for t in listed["result"]["tools"]] == ["echo", "ping"]
    assert unknown["error"]["code"] == -32601
