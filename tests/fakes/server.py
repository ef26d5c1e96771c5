"""The shared fake-server machinery: routing, auth check, fault injection, request log."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Fault:
    """Answer matching requests with ``status`` (and ``body``) ``times`` times."""

    match: Callable[[Request], bool]
    status: int = 429
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"message":"injected fault"}'
    times: int = 1


Response = tuple[int, dict[str, str], bytes]


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload).encode()


class FakeApi:
    """Subclasses implement ``authorized`` and ``route``."""

    def __init__(self) -> None:
        #: A broken vendor: paged endpoints ignore the cursor / offset / page asked for and answer
        #: the first page again, with the same next cursor, forever.
        self.repeat_cursor = False
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.fault_hits = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ lifecycle

    def __enter__(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, delayed ACKs cost 40 ms a call
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                req = Request(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                status, headers, payload = api.dispatch(req)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------ dispatch

    def dispatch(self, req: Request) -> Response:
        with self._lock:
            self.requests.append(req)
            if not self.authorized(req):
                return json_response({"message": "Unauthorized", "status": "error"}, 401)
            for fault in self.faults:
                if fault.times > 0 and fault.match(req):
                    fault.times -= 1
                    self.fault_hits += 1
                    return fault.status, {"Content-Type": "application/json", **fault.headers}, fault.body
            return self.route(req)

    def authorized(self, req: Request) -> bool:
        raise NotImplementedError

    def route(self, req: Request) -> Response:
        raise NotImplementedError

    def calls(self, path_part: str) -> list[Request]:
        return [r for r in self.requests if path_part in r.path]
