"""Test helper: misbehaving servers on 127.0.0.1 for the network and secrets tests.

`TcpServer` accepts connections and never answers (and counts them); `AuthServer` is an
HTTPS git endpoint that demands credentials it never accepts, recording what it was sent.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path


class TcpServer:
    """Accepts every connection, reads nothing, answers nothing; `connections` counts them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self.sock.close()


@contextlib.contextmanager
def tcp_server() -> Iterator[TcpServer]:
    server = TcpServer()
    try:
        yield server
    finally:
        server.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """(cert, key) for 127.0.0.1, made with the openssl command line."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class AuthServer:
    """HTTPS server answering every request with 401 (Basic); keeps the credentials sent."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.credentials: list[str] = []
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    outer.credentials.append(base64.b64decode(header[6:]).decode())
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="agents"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port: int = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


class GitServer(AuthServer):
    """HTTPS git server (`git http-backend`) for the repositories under `root`, answering
    only requests that carry `user:password` (else 401, as a private repository does)."""

    def __init__(self, cert: Path, key: Path, root: Path, user: str, password: str) -> None:
        super().__init__(cert, key)
        self.root, self.secret = root, f"{user}:{password}"
        outer = self
        handler = self.httpd.RequestHandlerClass
        refuse = handler.do_GET  # type: ignore[attr-defined]

        def serve(request: http.server.BaseHTTPRequestHandler) -> None:
            header = request.headers.get("Authorization", "")
            sent = base64.b64decode(header[6:]).decode() if header.startswith("Basic ") else ""
            if sent != outer.secret:
                refuse(request)
                return
            outer.requests += 1
            outer.credentials.append(sent)
            outer._backend(request)

        handler.do_GET = serve  # type: ignore[attr-defined]
        handler.do_POST = serve  # type: ignore[attr-defined]

    def _backend(self, request: http.server.BaseHTTPRequestHandler) -> None:
        path, _, query = request.path.partition("?")
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": request.command,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(length),
            "REMOTE_USER": self.secret.split(":", 1)[0],
            "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": request.headers.get("Content-Encoding", ""),
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(self.root),
        }
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value))
        request.send_response(status)
        for name, value in headers:
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)


def serve_bare_clone(
    work: Path, tmp_path: Path, cert_dir: Path, user: str, password: str
) -> tuple[GitServer, Path, Path]:
    """A bare clone of `work` served over HTTPS to `user:password` only, with a certificate
    for 127.0.0.1 made in `cert_dir`: (server, the bare repository, the certificate)."""
    root = tmp_path / "served"
    root.mkdir()
    bare = root / "agents.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    cert, key = self_signed_cert(cert_dir)
    return GitServer(cert, key, root, user, password), bare, cert
