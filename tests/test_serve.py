"""`account-health serve`: the dashboards over HTTP on 127.0.0.1, read-only, for an SSH tunnel."""

from __future__ import annotations

import threading

import httpx
from click.testing import CliRunner

from monitor.cli import cli
from monitor.serve import server
from tests.conftest import env_of


def test_serves_the_folder_read_only_and_nothing_outside_it(tmp_path):
    folder = tmp_path / "reports"
    (folder / "appeals").mkdir(parents=True)
    (folder / "index.html").write_text("<h1>Account health</h1>", encoding="utf-8")
    (folder / "appeals" / "draft.html").write_text("draft", encoding="utf-8")
    (tmp_path / "secret.env").write_text("SMTP_PASSWORD=x", encoding="utf-8")
    (folder / "leak.env").symlink_to(tmp_path / "secret.env")
    httpd = server(folder, 0)
    assert httpd.server_address[0] == "127.0.0.1"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        with httpx.Client(base_url=base) as client:
            index = client.get("/")  # the folder's index.html, as a browser asks for it
            assert index.status_code == 200 and "Account health" in index.text
            assert client.get("/appeals/draft.html").text == "draft"
            assert client.get("/appeals/").status_code == 404  # no listings
            assert client.get("/leak.env").status_code == 404  # a link out of the folder
            assert client.get("/../secret.env").status_code == 404
            assert client.get("/%2e%2e/secret.env").status_code == 404
            for method in ("POST", "PUT", "DELETE"):
                assert client.request(method, "/index.html").status_code == 501
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_serve_without_dashboards_says_what_to_run(tmp_path, sqlite_settings):
    result = CliRunner().invoke(cli, ["serve", "--port", "8051"], env=env_of(sqlite_settings))
    assert result.exit_code != 0 and "run `account-health dashboard` first" in result.output
