"""The report as PDF: an HTML page from a Jinja2 template, laid out by WeasyPrint with the
system's DejaVu fonts (Vietnamese glyphs, embedded in the PDF). Nothing is fetched: the
chart is a data: URI and any other URL is refused, so a report cannot reach the network."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway._reports._chart import chart_png
from gateway._reports._document import MOTTO, NATION, Document, number

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "reports"
_env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                   autoescape=select_autoescape(["html"]), trim_blocks=True,
                   lstrip_blocks=True)
_env.filters["cell"] = lambda v: number(v) if isinstance(v, int) else v


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    from weasyprint import default_url_fetcher

    if not url.startswith("data:"):
        raise ValueError(f"report resources are inline only, refused {url[:60]}")
    return dict(default_url_fetcher(url, *args, **kwargs))


def render_html(d: Document) -> str:
    charts = {s.number: "data:image/png;base64," + base64.b64encode(
        chart_png(s.chart)).decode() for s in d.sections if s.chart is not None}
    numbered = [s.number for s in d.sections if s.number]
    return _env.get_template("report.html").render(
        doc=d, nation=NATION, motto=MOTTO, charts=charts,
        last_number=numbered[-1] if numbered else None)


def render_pdf(d: Document) -> bytes:
    from weasyprint import HTML

    pdf = HTML(string=render_html(d), url_fetcher=_no_fetch).write_pdf()
    assert pdf is not None
    return pdf
