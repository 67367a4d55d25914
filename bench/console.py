"""Console: the pages an officer opens on a large database (PostgreSQL, 100,000 products
loaded with COPY), served by ``rightshub serve``: the programme dashboard (HTML), its XLSX
export, a records search without diacritics; and a 5,000-row XLSX import through the
console's upload (background job, polled like the page does) until its summary is ready."""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import time
from typing import Any

import httpx

from bench import _bulk
from bench import _common as c

DB = "rightshub_bench_console"
ROWS = int(os.environ.get("BENCH_CONSOLE_ROWS", "100000"))
IMPORT_ROWS = 5000
ADMIN, PASSWORD = "bench-admin", "bench-admin-password-2025"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _timed(client: httpx.Client, path: str, times: int) -> dict[str, Any]:
    samples = []
    for _ in range(times):
        t = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return {"median_ms": round(statistics.median(samples), 1),
            "max_ms": round(max(samples), 1), "bytes": len(response.content)}


def _xlsx(rows: int) -> bytes:
    from openpyxl import load_workbook

    from gateway.console._xlsx import template_workbook

    book = load_workbook(io.BytesIO(template_workbook("products")))
    sheet = book.worksheets[0]
    headers = [str(h.value).rsplit("(", 1)[1].rstrip(")") for h in sheet[1]]
    for i in range(rows):
        values = {"source_id": f"BENCH-XL-{i}", "kind": "book", "languages": "vie",
                  "title": f"Sách hỏi đáp về quyền con người tập {i}",
                  "published_on": f"{1 + i % 28:02d}/07/2025"}
        sheet.append([values.get(h) for h in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _import(client: httpx.Client, body: bytes) -> dict[str, Any]:
    token = _CSRF.search(client.get("/console/import").text).group(1)  # type: ignore[union-attr]
    t = time.perf_counter()
    started = client.post("/console/import", data={
        "csrf_token": token, "record_type": "products", "agency": "G16"},
        files={"file": ("bench.xlsx", body)})
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    while client.get(location + "/status").json()["state"] not in ("finished", "failed"):
        time.sleep(0.1)
    seconds = time.perf_counter() - t
    page = client.get(location)
    assert "import-summary" in page.text, page.text[:500]
    return {"rows": IMPORT_ROWS, "seconds": round(seconds, 1),
            "rows_per_s": round(IMPORT_ROWS / seconds)}


def main(args: argparse.Namespace) -> None:
    url = c.recreate_pg_database(DB)
    try:
        c.fresh_hub_database(url)
        _bulk.load(c.pg_url(DB), ROWS, log=lambda *a: None)
        subprocess.run([c.RIGHTSHUB, "admins", "create", "--username", ADMIN, "--role",
                        "hub_admin"], env={**c.hub_env(url), "RIGHTSHUB_ADMIN_PASSWORD": PASSWORD},
                       cwd=c.ROOT, check=True, stdout=subprocess.DEVNULL)
        body = _xlsx(IMPORT_ROWS)
        with c.hub_server(url) as (base, _pid), httpx.Client(base_url=base, timeout=120) as web:
            form = web.get("/console/login")
            token = _CSRF.search(form.text).group(1)  # type: ignore[union-attr]
            signed = web.post("/console/login", data={
                "csrf_token": token, "username": ADMIN, "password": PASSWORD})
            assert signed.status_code == 303, signed.text
            results = {
                "dashboard_all_years": _timed(web, "/console/dashboard", 5),
                "dashboard_2025_agency_g16": _timed(web, "/console/dashboard?year=2025&agency=G16",
                                                    5),
                "dashboard_xlsx": _timed(web, "/console/dashboard.xlsx", 3),
                "records_search": _timed(web, "/console/records?type=products&q=dien+bien", 5),
                "import_xlsx": _import(web, body),
            }
    finally:
        c.drop_pg_database(DB)
    rows = [(name, r.get("median_ms", ""), r.get("max_ms", ""), r.get("bytes", ""),
             r.get("rows_per_s", "")) for name, r in results.items()]
    c.print_table(f"console, PostgreSQL, {ROWS:,} products", ["page", "median ms", "max ms",
                                                             "bytes", "import rows/s"], rows)
    c.write_results("console", {"machine": c.machine(), "products": ROWS, "results": results})
