"""Escaping for every string that comes from results, case names or package strings.

One function per target format, so a renderer never builds markup from raw text:
``html_text`` for HTML text and attribute values, ``md_cell`` for a Markdown table
cell or inline text, ``xml_text`` for XML 1.0 (which cannot carry most control
characters even escaped).
"""

from __future__ import annotations

import html
import math
import re

# XML 1.0 allows tab, newline, carriage return and the ranges below; anything else
# (NUL, other C0 controls, lone surrogates, U+FFFE/U+FFFF) makes the file unreadable.
_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Characters with a meaning in Markdown inline syntax (CommonMark "ASCII punctuation"
# that starts emphasis, code, links, HTML, headings or tables).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def html_text(value: object) -> str:
    """Text safe inside an HTML element or a quoted attribute."""
    return html.escape(str(value), quote=True)


def xml_text(value: object) -> str:
    """``value`` with the characters XML 1.0 cannot hold replaced by U+FFFD.

    ElementTree escapes &, < and > itself; it does not drop invalid characters."""
    return _XML_INVALID.sub("\ufffd", str(value))


def md_cell(value: object, limit: int | None = None) -> str:
    """Inline Markdown text that renders as written, in a table cell or a paragraph.

    Newlines become spaces (a newline ends a table row), HTML-significant characters
    become entities (Markdown passes raw HTML through), and Markdown punctuation,
    the table pipe included, is backslash-escaped."""
    text = " ".join(str(value).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def number(value: float | None, digits: int = 4) -> str:
    """A number for a table: 4 significant digits, and NaN/inf spelled out."""
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"
