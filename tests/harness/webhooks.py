"""A loopback webhook receiver for tests: answers as each test scripts it, per path, and checks
every signature with the `standardwebhooks` library."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_by: list[int]  # which of the path's secrets verified the signature
    at: float = field(default_factory=time.time)  # when it arrived


@dataclass
class Receiver:
    """A loopback HTTP server: per path, a script of answers (a status, or (seconds to sleep,
    status)) and the secrets to verify with; everything it receives is kept."""

    server: ThreadingHTTPServer
    scripts: dict[str, list[Any]] = field(default_factory=dict)
    secrets: dict[str, list[str]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def path(self, answers: list[Any]) -> str:
        path = f"/hook/{uuid.uuid4().hex[:8]}"
        self.scripts[path] = list(answers)
        return path

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]


def start_receiver() -> Receiver:
    """A receiver on a free loopback port, serving in a daemon thread."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified = []
            for index, secret in enumerate(receiver.secrets.get(self.path, [])):
                try:
                    Webhook(secret).verify(body, headers)
                    verified.append(index)
                except WebhookVerificationError:
                    pass
            with receiver.lock:
                script = receiver.scripts.get(self.path, [])
                answer = script.pop(0) if len(script) > 1 else (script[0] if script else 200)
                receiver.received.append(Received(self.path, headers, body, verified))
            if isinstance(answer, tuple):
                time.sleep(answer[0])
                answer = answer[1]
            try:
                self.send_response(int(answer))
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass  # the notifier gave up waiting

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
