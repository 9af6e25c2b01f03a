"""File-name slugs: one rule, so that every writer and reader of a file name agree."""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def slug(text: str, limit: int = 60) -> str:
    """`text` with every run of unsafe characters turned into one '-' (never empty)."""
    return _UNSAFE.sub("-", text).strip("-")[:limit] or "x"


def unique_slug(text: str, limit: int = 60) -> str:
    """A slug that stays unique per text (two keys that slug alike get different names)."""
    return f"{slug(text, limit)}-{hashlib.sha1(text.encode()).hexdigest()[:6]}"


def page_name(account: str) -> str:
    """The file name of an account's dashboard page."""
    return f"account-{unique_slug(account)}.html"


def appeal_page_name(account: str) -> str:
    """The file name of an account's appeal-kit page."""
    return f"appeal-{unique_slug(account)}.html"


def draft_stem(account: str, metric: str, day: str) -> str:
    """The file name (without suffix) of a plan-of-action draft; the appeal page finds drafts by it."""
    return f"plan-of-action-{unique_slug(account)}-{metric}-{day}"


def draft_pattern(account: str) -> str:
    """A glob for every plan-of-action draft page of an account."""
    return f"plan-of-action-{unique_slug(account)}-*.html"
