"""Loopback fakes of the services the monitor talks to."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler


def reply(
    handler: BaseHTTPRequestHandler, status: int, body: bytes | dict, content_type: str = "application/json"
) -> None:
    """One HTTP answer from a fake: a dict as JSON, bytes as they are, with its length."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
