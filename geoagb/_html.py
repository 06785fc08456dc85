r"""Escaping user text where geoagb renders it: HTML (the report) and matplotlib (its figures).

Names, units, file names, manifest values, table cells, captions, titles and alt text come from
users' files. In HTML they could carry markup (a target named ``<script>...</script>`` would run
in the reader's browser); in a matplotlib label a pair of ``$`` starts mathtext, which draws
``$x$`` as an italic x and fails on ``$\frac{$``. So

* every string that reaches HTML goes through :func:`esc`, and markup is built only by the
  builders here (:func:`element`, :func:`table`, :func:`kv_table`), which escape what they are
  given unless it is already :class:`Html` (made by this module); :func:`raw` marks constant
  markup written in geoagb's own source (a style sheet), never data;
* every label or title drawn by matplotlib that holds a user's name goes through
  :func:`mpl_text`; a figure whose text was written by code that does not (a third-party plot)
  is made literal with :func:`literal_figure_text`.

The same pattern as ``markupsafe``, small enough to keep here without the dependency.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import numpy as np

__all__ = [
    "Html",
    "esc",
    "raw",
    "join",
    "element",
    "table",
    "kv_table",
    "mpl_text",
    "literal_figure_text",
]

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input"})


class Html(str):
    """Markup that is safe to put into an HTML document as it is (made by this module only)."""

    __slots__ = ()


def esc(value) -> Html:
    """``value`` as HTML text: ``& < > " '`` escaped; :class:`Html` passes through unchanged.

    Examples
    --------
    >>> esc("<script>alert('x')</script>")
    '&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;'
    >>> esc(esc("a & b"))
    'a &amp; b'
    """
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def raw(markup: str) -> Html:
    """Constant markup from geoagb's own source (a style sheet, a doctype), never data."""
    return Html(markup)


def join(parts: Iterable, sep="") -> Html:
    """The parts, each escaped (unless :class:`Html`), joined by ``sep`` (escaped likewise).

    Examples
    --------
    >>> join(["a<b", element("br")], sep=", ")
    'a&lt;b, <br>'
    """
    return Html(esc(sep).join(esc(p) for p in parts))


def element(tag: str, *children, **attrs) -> Html:
    """One element ``<tag attrs>children</tag>``; children and attribute values escaped.

    An attribute named with a trailing underscore (``class_``) loses it; ``None`` leaves the
    attribute out, ``True`` writes it without a value.

    Examples
    --------
    >>> element("td", "<b>", class_="kv")
    '<td class="kv">&lt;b&gt;</td>'
    >>> element("img", alt='a "b"', src="x.png")
    '<img alt="a &quot;b&quot;" src="x.png">'
    """
    if not _NAME.match(tag):
        raise ValueError(f"HTML tag {tag!r} is not a plain lower-case tag name, e.g. 'td'.")
    out = ["<", tag]
    for key, value in attrs.items():
        name = key.rstrip("_").replace("_", "-")
        if not _NAME.match(name):
            raise ValueError(f"HTML attribute {key!r} is not a plain lower-case name, e.g. 'alt'.")
        if value is None or value is False:
            continue
        out += [" ", name] if value is True else [" ", name, '="', esc(value), '"']
    out.append(">")
    if tag in _VOID:
        if children:
            raise ValueError(f"<{tag}> holds no content; pass only attributes.")
        return Html("".join(out))
    out += [esc(c) for c in children]
    out += ["</", tag, ">"]
    return Html("".join(out))


def _cell(v, floatfmt: str) -> Html:
    if isinstance(v, (float, np.floating)):
        return esc("" if not np.isfinite(v) else floatfmt.format(v))
    return esc(v)


def table(df, floatfmt: str = "{:,.3f}", index: bool = True, class_: str | None = None) -> Html:
    """A pandas DataFrame as an HTML table; floats formatted with ``floatfmt`` (NaN: empty).

    Examples
    --------
    >>> import pandas as pd
    >>> table(pd.DataFrame({"<a>": [1.0]}, index=pd.Index(["r&d"], name="n")), "{:.1f}")
    '<table><thead><tr><th>n</th><th>&lt;a&gt;</th></tr></thead><tbody><tr><th>r&amp;d</th><td>1.0</td></tr></tbody></table>'
    """
    head = ([df.index.name or ""] if index else []) + list(df.columns)
    rows = []
    for idx, row in zip(df.index, df.itertuples(index=False, name=None)):
        cells = ([element("th", idx)] if index else []) + [
            element("td", _cell(v, floatfmt)) for v in row
        ]
        rows.append(element("tr", *cells))
    return element(
        "table",
        element("thead", element("tr", *(element("th", h) for h in head))),
        element("tbody", *rows),
        class_=class_,
    )


def kv_table(pairs) -> Html:
    """A two-column table of ``(name, value)`` pairs (class ``kv``); both escaped unless Html."""
    rows = [element("tr", element("th", k), element("td", v)) for k, v in pairs]
    return element("table", element("tbody", *rows), class_="kv")


def mpl_text(value) -> str:
    r"""``value`` as matplotlib text drawn literally: every ``$`` escaped as ``\$``.

    Outside mathtext (``$...$``) matplotlib draws every other character as it is, so the
    escaped dollar is the only one that needs it; the label must then be drawn with mathtext
    parsing on (matplotlib's default), which turns ``\$`` back into ``$``.

    Examples
    --------
    >>> mpl_text("$x$ (Mg/ha)")
    '\\$x\\$ (Mg/ha)'
    """
    return str(value).replace("$", r"\$")


def literal_figure_text(fig):
    """Draw every text already in ``fig`` literally (no mathtext), for figures made by code that
    puts names into labels without :func:`mpl_text`. Text added afterwards is not affected.

    Returns ``fig``.
    """
    for t in fig.findobj(lambda a: hasattr(a, "set_parse_math")):
        t.set_parse_math(False)
    return fig
