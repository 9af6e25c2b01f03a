"""`account-health serve`: the dashboards folder over HTTP on 127.0.0.1, read-only, for an SSH
tunnel (`ssh -L 8050:127.0.0.1:8050 server`, then http://127.0.0.1:8050/ on the laptop).

Only GET and HEAD are answered; nothing outside the folder is reachable (no `..`, no symbolic
link out of it); the folder's files are listed nowhere but on the pages themselves."""

from __future__ import annotations

import logging
import os
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger(__name__)
HOST = "127.0.0.1"


class ReadOnlyHandler(SimpleHTTPRequestHandler):
    """Files of one folder; no directory listings, no symbolic links leading out of it."""

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404, "No listing")
        return None

    def send_head(self):  # noqa: ANN202 (the base class returns a file or None)
        path = Path(self.translate_path(self.path))
        root = Path(self.directory).resolve()
        try:
            path.resolve().relative_to(root)
        except ValueError:
            self.send_error(404, "File not found")
            return None
        return super().send_head()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        log.info("%s %s", self.address_string(), format % args)


def server(folder: Path, port: int) -> ThreadingHTTPServer:
    """A server of `folder` on 127.0.0.1:`port` (0: any free port), not yet serving."""
    handler = partial(ReadOnlyHandler, directory=str(folder.resolve()))
    return ThreadingHTTPServer((HOST, port), handler)
