"""The report's bar chart as a PNG, drawn with Pillow (already there for WeasyPrint) in a
system font with Vietnamese glyphs (DejaVu): no plotting library, no remote font."""

from __future__ import annotations

import io
from pathlib import Path

from gateway._reports._document import Chart, number

_FONTS = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
          Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"))
BAR = (15, 45, 82)  # the console's navy


def _font(size: int) -> object:
    from PIL import ImageFont

    for path in _FONTS:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def chart_png(chart: Chart, *, width: int = 1200, row: int = 44) -> bytes:
    """Horizontal bars, largest first as given; an empty chart says so."""
    from PIL import Image, ImageDraw

    items = chart.items or [("Chưa có số liệu", 0)]
    height = 70 + row * len(items) + 20
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    title, label = _font(26), _font(20)
    draw.text((20, 16), chart.title, fill=(27, 36, 48), font=title)  # type: ignore[arg-type]
    label_width, right = 420, 120
    top = max((n for _, n in items), default=0) or 1
    span = width - label_width - right
    for i, (text, n) in enumerate(items):
        y = 70 + i * row
        shown = text if len(text) <= 34 else text[:33] + "…"
        draw.text((20, y + 8), shown, fill=(27, 36, 48), font=label)  # type: ignore[arg-type]
        bar = max(2, round(span * n / top)) if n else 0
        if bar:
            draw.rectangle((label_width, y + 6, label_width + bar, y + row - 8), fill=BAR)
        draw.text((label_width + bar + 10, y + 8), number(n), fill=(27, 36, 48),
                  font=label)  # type: ignore[arg-type]
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
