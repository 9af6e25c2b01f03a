"""The HTML dashboards, checked in a real headless Chromium (Debian's package)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.monitor import Monitor
from monitor.slugs import appeal_page_name, page_name
from tests.conftest import REPORT_DIR, env_of

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

HOSTILE_SKU = "<script>window.__xss='sku'</script>"
HOSTILE_NAME = '"><img src=x onerror="window.__xss=\'name\'">'
HOSTILE_COMMENT = "<script>window.__xss='comment'</script> never arrived"


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@pytest.fixture
def built(tmp_path, sqlite_settings):
    settings = sqlite_settings
    header = "order_id,purchase_date,fulfillment_channel,order_status,latest_ship_date,shipped_at,tracking_valid,sku,product_name\n"
    rows = [
        f"OK-{n},2026-10-25T10:00:00Z,MFN,Shipped,2026-10-27T23:00:00Z,2026-10-26T10:00:00Z,true,MUG,Mug"
        for n in range(20)
    ]
    rows.append(
        f"BAD-1,2026-10-25T10:00:00Z,MFN,Shipped,2026-10-27T23:00:00Z,2026-10-29T10:00:00Z,true,"
        f"{_csv_field(HOSTILE_SKU)},{_csv_field(HOSTILE_NAME)}"
    )
    rows.append("AFN-1,2026-10-20T10:00:00Z,AFN,Shipped,,,,,")
    rows.append("OLD-1,2026-09-20T10:00:00Z,MFN,Shipped,2026-09-22T23:00:00Z,2026-09-21T10:00:00Z,true,MUG,Mug")
    (tmp_path / "orders.csv").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "feedback.txt").write_text(
        "Date\tRating\tComments\tYour Response\tOrder ID\tRater Email\n"
        f"10/28/26\t1\t{HOSTILE_COMMENT}\t\tOLD-1\tx@marketplace.amazon.com\n",
        encoding="utf-8",
    )
    (tmp_path / "b.csv").write_text(header + rows[0] + "\n", encoding="utf-8")
    with Monitor.open(settings, migrate=True) as monitor:
        monitor.import_paths([tmp_path / "orders.csv", tmp_path / "feedback.txt"], account="acme")
        monitor.import_paths([tmp_path / "b.csv"], account="bolt")
        monitor.check(AS_OF)
        return settings, monitor.build_dashboards(None, AS_OF)


def test_pages_are_written_with_one_shared_plotly_and_no_cdn(built):
    settings, result = built
    out = Path(settings.reports_dir)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "index.html",
            "plotly.min.js",
            "tiles",  # each account's tile of the index, reused while the account is unchanged
            page_name("acme"),
            page_name("bolt"),
            appeal_page_name("acme"),
            appeal_page_name("bolt"),
        ]
    )
    acme_page = (out / page_name("acme")).read_text(encoding="utf-8")
    assert f'href="{appeal_page_name("acme")}"' in acme_page
    for path in [result.index, *result.pages]:
        text = path.read_text(encoding="utf-8")
        assert 'src="plotly.min.js"' in text or path == result.index
        assert "cdn.plot.ly" not in text and "https://" not in text
        assert path.stat().st_size < 1_000_000
    acme = (out / page_name("acme")).read_text(encoding="utf-8")
    assert HOSTILE_SKU not in acme and "&lt;script&gt;window.__xss=&#39;sku&#39;&lt;/script&gt;" in acme
    assert "<img src=x" not in acme
    index = result.index.read_text(encoding="utf-8")
    assert f'href="{page_name("acme")}"' in index and f'href="{page_name("bolt")}"' in index


def test_dashboard_command_prints_the_index_path(built, tmp_path):
    settings, _ = built
    out = tmp_path / "elsewhere"
    result = CliRunner().invoke(cli, ["dashboard", "--out", str(out), "--as-of", "2026-10-31"], env=env_of(settings))
    assert result.exit_code == 0 and result.output.strip() == str((out / "index.html").resolve())


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_every_page_loads_draws_its_charts_and_runs_nothing_from_a_report(built):
    from playwright.sync_api import sync_playwright

    settings, result = built
    REPORT_DIR.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            appeal_pages = [result.index.parent / appeal_page_name(k) for k in ("acme", "bolt")]
            for path in [result.index, *result.pages, *appeal_pages]:
                page = browser.new_page(viewport={"width": 1400, "height": 1800})
                errors, dialogs = [], []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                page.on("dialog", lambda d, dialogs=dialogs: (dialogs.append(d.message), d.dismiss()))
                page.goto(path.as_uri())
                page.wait_for_load_state("load")
                assert errors == [], f"{path.name}: {errors}"
                assert dialogs == [] and page.evaluate("window.__xss") is None
                plots = page.locator(".js-plotly-plot").count()
                drawn = page.locator(".js-plotly-plot .main-svg").count()
                if path == result.index or path in appeal_pages:
                    assert plots == 0
                    if path == result.index:
                        page.screenshot(path=str(REPORT_DIR / "dashboard-index.png"), full_page=True)
                else:
                    assert plots == 8 and drawn >= 8  # 7 metric charts and the defects chart
                    if path.name == page_name("acme"):
                        text = page.inner_text("body")
                        assert HOSTILE_SKU in text and HOSTILE_NAME in text and "never arrived" in text
                        page.screenshot(path=str(REPORT_DIR / "dashboard-acme.png"), full_page=True)
                page.close()
        finally:
            browser.close()
    assert (REPORT_DIR / "dashboard-index.png").stat().st_size > 10_000


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_each_marketplace_has_its_own_section_with_amazons_window(tmp_path, sqlite_settings):
    """An account on two marketplaces: two sections, each with its own cards and charts, and the
    window shown with its last day included (Amazon's LSR window at 2026-11-01: 10-22 to 10-31)."""
    from playwright.sync_api import sync_playwright

    header = "order_id,purchase_date,fulfillment_channel,order_status,marketplace,latest_ship_date,shipped_at\n"
    rows = [
        f"US-{n},2026-10-25T10:00:00Z,MFN,Shipped,amazon.com,2026-10-27T23:00:00Z,2026-10-26T10:00:00Z"
        for n in range(20)
    ] + [
        f"CA-{n},2026-10-25T10:00:00Z,MFN,Shipped,A2EUQ1WTGCTBG2,2026-10-27T23:00:00Z,2026-10-2{8 if n < 3 else 6}T10:00:00Z"
        for n in range(10)
    ]
    (tmp_path / "orders.csv").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    with Monitor.open(sqlite_settings, migrate=True) as monitor:
        monitor.import_paths([tmp_path / "orders.csv"], account="acme")
        monitor.check(AS_OF)
        result = monitor.build_dashboards(None, AS_OF)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto((result.index.parent / page_name("acme")).as_uri())
            page.wait_for_load_state("load")
            headings = page.locator("h2").all_inner_texts()
            assert headings[:2] == ["Amazon.ca (Canada)", "Amazon.com (US)"]
            assert page.locator(".js-plotly-plot .main-svg").count() >= 15  # 7 metric charts per marketplace + defects
            text = page.inner_text("body")
            assert "Amazon's window 2026-10-22 to 2026-10-31 (ends 0 days before the report day; default)" in text
            assert "3 late of 10 shipments" in text and "0 late of 20 shipments" in text
            open_alerts = page.locator("table", has_text="at this level since").inner_text()
            assert "Amazon.ca (Canada)" in open_alerts and "Amazon.com (US)" not in open_alerts
        finally:
            browser.close()


@pytest.fixture(scope="module")
def demo_pages(tmp_path_factory):
    """The demo's pages: two accounts on two marketplaces each, 120 days of history."""
    folder = tmp_path_factory.mktemp("demo-pages")
    env = {"DATABASE_URL": f"sqlite:///{folder / 'm.db'}", "REPORTS_DIR": str(folder / "reports")}
    result = CliRunner().invoke(cli, ["demo", "--dir", str(folder / "demo")], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder / "reports"


OVERFLOW = """() => {
  const width = window.innerWidth;
  const charts = [...document.querySelectorAll('.js-plotly-plot')].map(c => c.getBoundingClientRect());
  const cards = [...document.querySelectorAll('.card, .tile, .headline, .chart')].map(c => c.getBoundingClientRect());
  const box = document.querySelector('main'), style = getComputedStyle(box), outer = box.getBoundingClientRect();
  const main = {left: outer.left + parseFloat(style.paddingLeft), right: outer.right - parseFloat(style.paddingRight)};
  main.width = main.right - main.left;
  return {
    scroll: document.documentElement.scrollWidth, width,
    charts: charts.length, chartsOut: charts.filter(r => r.left < 0 || r.right > width + 0.5).length,
    widest: Math.max(0, ...cards.map(r => r.width)), content: main.width,
    cardsOut: cards.filter(r => r.left < main.left - 0.5 || r.right > main.right + 0.5).length,
  };
}"""


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
@pytest.mark.parametrize("width", [400, 1400])
def test_pages_fit_a_phone_and_a_wide_screen(demo_pages, width):
    """At 400 px (a phone, where an alert is read) nothing overflows sideways and every chart is
    inside the viewport; at 1400 px no card is wider than the content. Screenshots: test-report/."""
    from playwright.sync_api import sync_playwright

    REPORT_DIR.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            for name in ("index.html", page_name("acme-us"), appeal_page_name("acme-us")):
                page.goto((demo_pages / name).as_uri())
                page.wait_for_load_state("load")
                page.wait_for_timeout(300)  # Plotly's resize
                seen = page.evaluate(OVERFLOW)
                print(f"\n{width} px {name}: {seen}")
                assert seen["scroll"] <= seen["width"], seen
                assert seen["chartsOut"] == 0 and seen["cardsOut"] == 0, seen
                assert seen["widest"] <= seen["content"] + 0.5, seen
                if name == page_name("acme-us"):
                    assert seen["charts"] >= 15
                stem = name.removesuffix(".html").split("-")[0]
                page.screenshot(path=str(REPORT_DIR / f"{stem}-{width}px.png"), full_page=True)
            # the index: the most urgent first, the headline on each tile, a filter and a search
            page.goto((demo_pages / "index.html").as_uri())
            tiles = page.locator(".tile h3").all_inner_texts()
            assert tiles == ["acme-us", "bolt-de"]
            assert "VTR on Amazon.com (US)" in page.locator(".tile").first.inner_text()
            page.select_option("#status", "good")
            assert page.locator(".tile:visible h3").all_inner_texts() == ["bolt-de"]
            page.select_option("#status", "")
            page.fill("#search", "ACME")
            assert page.locator(".tile:visible h3").all_inner_texts() == ["acme-us"]
        finally:
            browser.close()
