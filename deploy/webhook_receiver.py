"""A webhook receiver for local runs: verifies each delivery's Standard Webhooks signature with
the subscription's secret and prints what arrived (the README's funder walk-through uses it).

    .venv/bin/python deploy/webhook_receiver.py --port 9000 --secret whsec_…

Answers 204 to a delivery whose signature verifies, 401 to one that does not (the notifier
then retries it, as it would for any receiver that refuses)."""

from __future__ import annotations

import argparse
import contextlib
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def handler_for(secret: str | None) -> type[BaseHTTPRequestHandler]:
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verdict = "sin verificar (falta --secret)"
            if secret is not None:
                try:
                    Webhook(secret).verify(body, headers)
                    verdict = "firma válida"
                except WebhookVerificationError as exc:
                    print(f"firma inválida: {exc}", flush=True)
                    self.send_response(401)
                    self.end_headers()
                    return
            payload = json.loads(body or b"{}")
            print(
                f"{headers.get('webhook-id')} {payload.get('type')} · {verdict}\n"
                f"{json.dumps(payload.get('data'), ensure_ascii=False, indent=2)}",
                flush=True,
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the deliveries are printed above."""

    return Receiver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", help="the subscription's whsec_… secret")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), handler_for(args.secret))
    print(f"escuchando en http://{args.host}:{args.port}/ (Ctrl-C para salir)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
