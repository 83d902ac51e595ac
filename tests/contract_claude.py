"""Ask the real Claude Code client which agents it loads, offline, through a loopback API stub."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LISTING_HEADER = "Available agent types for the Agent tool:"
LISTING_TRAILERS = ("\n\nWhen you launch multiple agents", "\n\nThe following skills are available")
BUILT_INS = frozenset({"general-purpose", "Explore", "Plan", "claude", "statusline-setup"})
ALL_TOOLS = "All tools"
LAUNCH_TOOLS = ("Agent", "Task")  # the tool that launches a subagent, current name first
# Offered to a subagent but no tool of its own: the loader of deferred tools, and the
# placeholder that keeps deferred loading on (the client tells the model never to call it).
NOT_TOOLS = frozenset({"ToolSearch", "DeferredToolPlaceholder"})
DEFERRED_HEADER = "The following deferred tools are now available via ToolSearch"


def find_client() -> str | None:
    """The client binary: $CLAUDE_BIN, else `claude` on PATH."""
    candidate = os.environ.get("CLAUDE_BIN") or shutil.which("claude")
    if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
        return candidate
    return None


@dataclass(frozen=True)
class Listed:
    """One agent as the client lists it to the model."""

    description: str
    tools: str  # "All tools" or the pieces joined by ", "


class _StubHandler(BaseHTTPRequestHandler):
    """Answers every Messages API call with a one-word reply and records the request; with
    `launch` set, answers the main conversation's first turn by launching those subagents."""

    bodies: list[dict[str, Any]]
    launch: tuple[str, ...]
    launched: list[bool]  # one flag shared by the handler threads
    lock: threading.Lock

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._reply_json(b"{}")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            request = json.loads(raw)
        except ValueError:
            request = {}
        if "count_tokens" in self.path:
            self._reply_json(b'{"input_tokens": 1}')
            return
        with self.lock:
            self.bodies.append(request)
            calls = self._launch_calls(request)
        model = str(request.get("model", "claude-test"))
        if request.get("stream"):
            self._reply_stream(model, calls)
        else:
            self._reply_json(json.dumps(_message(model, "ok")).encode())

    def _launch_calls(self, request: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
        """(id, tool, input) of each launch to answer `request` with: only the first streamed
        turn that carries the agent listing (the main conversation's), and only once."""
        if not self.launch or self.launched[0] or not request.get("stream"):
            return []
        if not any(LISTING_HEADER in text for text in _texts(request)):
            return []
        offered = {str(tool.get("name")) for tool in request.get("tools") or []}
        tool = next((name for name in LAUNCH_TOOLS if name in offered), None)
        if tool is None:
            return []
        self.launched[0] = True
        return [
            (
                probe_id(index),
                tool,
                {
                    "description": f"probe {index}",
                    "prompt": probe_prompt(index),
                    "subagent_type": name,
                },
            )
            for index, name in enumerate(self.launch)
        ]

    def _reply_json(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reply_stream(self, model: str, calls: list[tuple[str, str, dict[str, str]]]) -> None:
        """One streamed assistant turn: the text "ok", or the given tool calls in parallel."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        events: list[tuple[str, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": _message(model, None)})
        ]
        blocks: list[tuple[dict[str, Any], dict[str, Any]]] = [
            ({"type": "tool_use", "id": i, "name": t, "input": {}}, _json_delta(arguments))
            for i, t, arguments in calls
        ] or [({"type": "text", "text": ""}, {"type": "text_delta", "text": "ok"})]
        for index, (start, delta) in enumerate(blocks):
            events += [
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": start},
                ),
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                ),
                ("content_block_stop", {"type": "content_block_stop", "index": index}),
            ]
        events += [
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": "tool_use" if calls else "end_turn",
                        "stop_sequence": None,
                    },
                    "usage": {"output_tokens": 1},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        for name, payload in events:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode())


def _json_delta(arguments: dict[str, str]) -> dict[str, Any]:
    return {"type": "input_json_delta", "partial_json": json.dumps(arguments)}


def probe_id(index: int) -> str:
    """The tool-use id of the stub's `index`-th launch."""
    return f"toolu_contract_{index:03d}"


def probe_prompt(index: int) -> str:
    """The task the stub gives its `index`-th launch: unique, to find that subagent's turns."""
    return f"Contract probe number {index}; reply ok."


def _message(model: Any, text: str | None) -> dict[str, Any]:
    return {
        "id": "msg_contract",
        "type": "message",
        "role": "assistant",
        "model": model or "claude-test",
        "content": [] if text is None else [{"type": "text", "text": text}],
        "stop_reason": None if text is None else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }


@contextmanager
def api_stub(launch: Sequence[str] = ()) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A Messages API stand-in on 127.0.0.1: yields (base URL, recorded request bodies).

    With `launch`, its first reply to the main conversation launches each of those agents
    (all at once), so that each subagent's own requests are recorded too."""
    bodies: list[dict[str, Any]] = []
    handler = type(
        "Handler",
        (_StubHandler,),
        {"bodies": bodies, "launch": tuple(launch), "launched": [False], "lock": threading.Lock()},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Launch:
    """What the client gave one launched subagent, read from that subagent's own request."""

    tools: tuple[str, ...] | None  # its tool names, offered or deferred, sorted; None: refused
    refusal: str | None = None  # the client's reason, when it refused to launch it


@dataclass(frozen=True)
class ClientRun:
    names: list[str]  # agent types from the init message, exact
    listed: dict[str, Listed]  # parsed from the agent listing the client sends
    listing: str
    launches: dict[str, Launch] = field(default_factory=dict)  # by agent name


def run_client(
    client: str,
    project: Path,
    timeout: float = 120,
    *,
    home: Path | None = None,
    extra: Sequence[str] = (),
    launch: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> ClientRun:
    """Run `claude -p hi` in `project` against the stub, with `home` as HOME (a throwaway
    one by default), `extra` client arguments (`--plugin-dir=DIR`) and `env` added to its
    environment; the agents named in `launch` are launched once each, in parallel."""
    with api_stub(launch) as (base_url, bodies), tempfile.TemporaryDirectory() as scratch:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home) if home is not None else scratch,
            "ANTHROPIC_BASE_URL": base_url,
            "ANTHROPIC_API_KEY": "sk-ant-contract-test",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "NO_PROXY": "127.0.0.1",
            **(env or {}),
        }
        done = subprocess.run(
            [client, "-p", "hi", "--output-format", "stream-json", "--verbose", *extra],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
        names = _init_agents(done.stdout)
        listing = next((t for body in bodies for t in _texts(body) if LISTING_HEADER in t), "")
        launches = {name: _launch(bodies, index) for index, name in enumerate(launch)}
    if names is None:
        raise RuntimeError(f"the client printed no init message: {done.stderr[-2000:]}")
    return ClientRun(names, parse_listing(listing, names), listing, launches)


# The client runs at most 20 subagents at once and refuses the rest ("Concurrent subagent limit
# reached"); a run launches fewer, so that every refusal seen is about the agent itself.
MAX_LAUNCHES = 16


def launch_all(
    client: str, project: Path, names: Sequence[str], timeout: float = 120, **options: Any
) -> ClientRun:
    """`run_client` launching every agent of `names`, in as many runs as the client's limit
    on parallel subagents needs; the listing is the first run's."""
    runs = [
        run_client(client, project, timeout, launch=names[start : start + MAX_LAUNCHES], **options)
        for start in range(0, len(names), MAX_LAUNCHES)
    ]
    launches = {name: launch for run in runs for name, launch in run.launches.items()}
    return ClientRun(runs[0].names, runs[0].listed, runs[0].listing, launches)


def _init_agents(stdout: str) -> list[str] | None:
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and (event.get("type"), event.get("subtype")) == (
            "system",
            "init",
        ):
            agents = event.get("agents")
            return [str(a) for a in agents] if isinstance(agents, list) else []
    return None


def _texts(body: dict[str, Any]) -> Iterator[str]:
    for message in body.get("messages", []):
        content = message.get("content")
        parts = [content] if isinstance(content, str) else content or []
        for part in parts:
            yield part if isinstance(part, str) else str(part.get("text", ""))


def _all_texts(body: dict[str, Any]) -> Iterator[str]:
    """Every text of a request's messages, tool results' texts included."""
    for message in body.get("messages", []):
        content = message.get("content")
        yield from _part_texts(content)


def _part_texts(content: Any) -> Iterator[str]:
    for part in [content] if isinstance(content, str) else content or []:
        if isinstance(part, str):
            yield part
        elif isinstance(part, dict):
            yield str(part.get("text", ""))
            if part.get("type") == "tool_result":
                yield from _part_texts(part.get("content"))


def _is_main(body: dict[str, Any]) -> bool:
    """Whether a request belongs to the main conversation (it holds the stub's launches)."""
    return any(
        isinstance(part, dict)
        and part.get("type") == "tool_use"
        and str(part.get("id", "")).startswith("toolu_contract_")
        for message in body.get("messages", [])
        if isinstance(message.get("content"), list)
        for part in message["content"]
    )


def _launch(bodies: list[dict[str, Any]], index: int) -> Launch:
    """The `index`-th launch: the tools in that subagent's first request, else the refusal."""
    prompt = probe_prompt(index)
    for body in bodies:
        if not _is_main(body) and any(prompt in text for text in _texts(body)):
            return Launch(_offered_tools(body))
    return Launch(None, _refusal(bodies, probe_id(index)))


def _offered_tools(body: dict[str, Any]) -> tuple[str, ...]:
    """The tools a request offers: its tool definitions, and the deferred tools it names
    (loaded on demand), less the names in NOT_TOOLS."""
    names = {str(tool.get("name")) for tool in body.get("tools") or []}
    for text in _texts(body):
        if DEFERRED_HEADER in text:
            for line in text.split(DEFERRED_HEADER, 1)[1].split("\n")[1:]:
                if not line.strip() or line.strip().startswith("<"):
                    break
                names.add(line.strip())
    return tuple(sorted(names - NOT_TOOLS))


def _refusal(bodies: list[dict[str, Any]], tool_use_id: str) -> str | None:
    """The client's reason for not launching the call `tool_use_id`: an error result, or a
    failed background task's notification (launches run in the background since 2.1.330)."""
    for body in bodies:
        for message in body.get("messages", []):
            content = message.get("content")
            for part in content if isinstance(content, list) else []:
                if (
                    isinstance(part, dict)
                    and part.get("type") == "tool_result"
                    and part.get("tool_use_id") == tool_use_id
                    and part.get("is_error")
                ):
                    return " ".join(_part_texts(part.get("content")))
        for text in _all_texts(body):
            tag = f"<tool-use-id>{tool_use_id}</tool-use-id>"
            if tag in text and "<status>failed</status>" in text:
                note = text.split(tag, 1)[1]
                return note.split("<summary>", 1)[-1].split("</summary>", 1)[0]
    return None


def parse_listing(listing: str, names: list[str]) -> dict[str, Listed]:
    """Split '- NAME: DESCRIPTION (Tools: T)' entries, knowing the exact names in advance."""
    if LISTING_HEADER not in listing:
        return {}
    body = listing.split(LISTING_HEADER, 1)[1].removeprefix("\n")
    for trailer in LISTING_TRAILERS:
        body = body.split(trailer, 1)[0]
    by_length = sorted(set(names), key=len, reverse=True)
    starts: list[tuple[int, str]] = []
    seen: set[str] = set()
    position = 0
    while position < len(body):
        at_entry = body.startswith("- ", position) and (
            position == 0 or body[:position].rstrip("\n").endswith(")")
        )
        if at_entry:
            name = next(
                (n for n in by_length if n not in seen and body.startswith(f"- {n}: ", position)),
                None,
            )
            if name is not None:
                starts.append((position, name))
                seen.add(name)
        newline = body.find("\n", position)
        if newline < 0:
            break
        position = newline + 1
    listed = {}
    for index, (start, name) in enumerate(starts):
        end = starts[index + 1][0] - 1 if index + 1 < len(starts) else len(body)
        entry = body[start + len(f"- {name}: ") : end]
        cut = entry.rfind(" (Tools: ")
        listed[name] = Listed(entry[:cut], entry[cut + len(" (Tools: ") : -1])
    return listed


def shown_tools(tools: tuple[str, ...] | list[str] | None, disallowed: tuple[str, ...] = ()) -> str:
    """How the listing shows tools: None and [] both read "All tools"; disallowed ones go."""
    if not tools:
        return f"{ALL_TOOLS} except {', '.join(disallowed)}" if disallowed else ALL_TOOLS
    return ", ".join(t for t in tools if t not in disallowed)
