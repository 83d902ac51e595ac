"""Ask the real Claude Code client which agents it loads, offline, through a loopback API stub."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LISTING_HEADER = "Available agent types for the Agent tool:"
LISTING_TRAILERS = ("\n\nWhen you launch multiple agents", "\n\nThe following skills are available")
BUILT_INS = frozenset({"general-purpose", "Explore", "Plan", "claude", "statusline-setup"})
ALL_TOOLS = "All tools"


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
    """Answers every Messages API call with a one-word reply and records the request."""

    bodies: list[dict[str, Any]]

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
        self.bodies.append(request)
        if request.get("stream"):
            self._reply_stream(str(request.get("model", "claude-test")))
        else:
            self._reply_json(json.dumps(_message(request.get("model"), "ok")).encode())

    def _reply_json(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reply_stream(self, model: str) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        start = _message(model, None)
        events = [
            ("message_start", {"type": "message_start", "message": start}),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "ok"},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 1},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        for name, payload in events:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode())


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
def api_stub() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A Messages API stand-in on 127.0.0.1: yields (base URL, recorded request bodies)."""
    bodies: list[dict[str, Any]] = []
    handler = type("Handler", (_StubHandler,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class ClientRun:
    names: list[str]  # agent types from the init message, exact
    listed: dict[str, Listed]  # parsed from the agent listing the client sends
    listing: str


def run_client(
    client: str,
    project: Path,
    timeout: float = 120,
    *,
    home: Path | None = None,
    extra: Sequence[str] = (),
) -> ClientRun:
    """Run `claude -p hi` in `project` against the stub, with `home` as HOME (a throwaway
    one by default) and `extra` client arguments (`--plugin-dir=DIR`)."""
    with api_stub() as (base_url, bodies), tempfile.TemporaryDirectory() as scratch:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home) if home is not None else scratch,
            "ANTHROPIC_BASE_URL": base_url,
            "ANTHROPIC_API_KEY": "sk-ant-contract-test",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "NO_PROXY": "127.0.0.1",
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
    if names is None:
        raise RuntimeError(f"the client printed no init message: {done.stderr[-2000:]}")
    return ClientRun(names=names, listed=parse_listing(listing, names), listing=listing)


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
