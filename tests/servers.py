"""Real servers on loopback for the tests: a Slack-like webhook and SMTP (aiosmtpd)."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class SlackLike:
    """Answers like Slack's incoming webhook: scripted (status, body, headers), then 200 ok."""

    def __init__(self) -> None:
        self.script: deque[tuple[int, str, dict[str, str]]] = deque()
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status, text, headers = outer.script.popleft() if outer.script else (200, "ok", {})
                if status == 200:
                    outer.received.append(json.loads(body))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secret-token-XYZ"

    def __enter__(self) -> SlackLike:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class Inbox:
    """aiosmtpd handler that keeps every message it accepted."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"alerts" and auth_data.password == b"pw-123"
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


def smtp_controller(inbox: Inbox, port: int = 0, tls_context=None, ssl_context=None) -> Controller:
    kwargs = {"hostname": "127.0.0.1", "port": port, "authenticator": authenticator, "auth_require_tls": True}
    if ssl_context is not None:  # implicit TLS from the first byte (SMTP_SECURITY=ssl)
        kwargs.update(ssl_context=ssl_context, auth_require_tls=False)  # aiosmtpd sees STARTTLS only
    elif tls_context is not None:
        kwargs.update(tls_context=tls_context, require_starttls=True)
    else:
        kwargs.update(auth_require_tls=False)
    return Controller(inbox, **kwargs)
