"""HTML through Jinja2 with autoescaping: every value from a report is escaped by construction."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from monitor.marketplaces import name as marketplace_name
from monitor.present import fmt
from monitor.present.headline import sentence as headline_sentence


def script_json(value: Any) -> Markup:
    """JSON that is safe inside a <script> element (it cannot close it)."""
    text = json.dumps(value, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")
    return Markup(text)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.present", "templates"),
        autoescape=select_autoescape(["html", "htm"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        percent=fmt.percent,
        figure=fmt.figure,
        day=fmt.day,
        minute=fmt.minute,
        status_label=fmt.status_label,
        level_label=fmt.level_label,
        colour=lambda status: fmt.HEX_COLOURS[str(status)],
        script_json=script_json,
        count=fmt.count,
        window=lambda v: fmt.window(v.window_start, v.window_end),
        counts=fmt.counts,
        headroom=fmt.headroom,
        marketplace=marketplace_name,
        sentence=headline_sentence,
    )
    env.globals.update(target=fmt.target, more=fmt.more, whose=fmt.whose)
    return env


def render(template: str, **context: Any) -> str:
    """Render one of monitor/present/templates/ with `context`."""
    return environment().get_template(template).render(**context)
