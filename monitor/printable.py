"""Control characters out of text that came from a report: an escape sequence in a SKU must not
retitle a terminal, clear it, or reach a Slack field or an e-mail header."""

from __future__ import annotations

import re

# C0 and C1 controls (line breaks and tabs included: report fields are one line), DEL, and the
# bidirectional overrides that can make text read backwards
_CONTROLS = [
    *range(0x00, 0x20),
    0x7F,
    *range(0x80, 0xA0),
    0x200E,
    0x200F,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]
_TABLE = dict.fromkeys(_CONTROLS)
CONTROL = re.compile("[" + "".join(re.escape(chr(c)) for c in _CONTROLS) + "]")


def printable(text: str) -> str:
    """`text` without control characters."""
    return text.translate(_TABLE) if CONTROL.search(text) else text
