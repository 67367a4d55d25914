"""Shared helpers of the console tests: admin accounts, a signed-in HTTP client, forms with
their CSRF token, and a believable programme data set for the dashboard."""

from __future__ import annotations

import random
import re
import uuid
from datetime import date
from typing import Any

import httpx

from auth._admins import create_admin
from hub import Hub, ImportSummary, Principal

PASSWORD = "mật-khẩu-đủ-dài-2025"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def new_admin(hub: Hub, *, role: str = "hub_admin", agency: str | None = None) -> str:
    username = unique("qt")
    await create_admin(hub, username=username, role=role, agency=agency, password=PASSWORD,
                       display_name="Nguyễn Văn An")
    return username


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, f"no CSRF token in {page.request.url}: {page.text[:300]}"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD
                  ) -> httpx.Response:
    form = await client.get("/console/login")
    return await client.post("/console/login", data={
        "csrf_token": csrf_of(form), "username": username, "password": password,
        "next": "/console/dashboard",
    })


async def csrf(client: httpx.AsyncClient, path: str = "/console/dashboard") -> str:
    return csrf_of(await client.get(path))


def _rng_months(rng: random.Random, share: float) -> list[int]:
    return [m for m in range(1, 13) if rng.random() < share]


async def seed_programme(hub: Hub, *, seed: int = 1079) -> ImportSummary:
    """Records that make every part of the dashboard show something: books and e-books in
    several languages, digital products, exhibitions in most provinces, monthly press
    briefings with uneven coverage, training courses by target group."""
    rng = random.Random(seed)
    graph = await hub.catalog.agencies()
    today = date(2025, 12, 31)
    provinces = sorted(a.code for a in graph.as_of(today) if a.level == "provincial")
    total = ImportSummary()

    async def push(agency: str, record_type: str, items: list[dict[str, Any]]) -> None:
        principal = Principal(f"seed-{agency}", agency, frozenset(), "file")
        result = await hub.ingest.ingest(principal, record_type, items)
        assert isinstance(result, ImportSummary) and result.rejected == 0, result
        total.add(result)

    for n, code in enumerate(provinces):
        events = [{
            "source_id": f"HB-2025-{m:02d}", "kind": "press_briefing",
            "title": f"Họp báo định kỳ tháng {m}/2025", "start_date": f"2025-{m:02d}-20",
        } for m in _rng_months(rng, 0.35 + 0.6 * ((n * 7) % 10) / 10)]
        if rng.random() < 0.3:  # some provinces hold two briefings in a month
            events.append({"source_id": "HB-2025-EXTRA", "kind": "press_briefing",
                           "title": "Họp báo chuyên đề", "start_date": "2025-06-10"})
        for k in range(rng.choice([0, 0, 1, 1, 1, 2, 2, 3])):
            events.append({
                "source_id": f"TL-2025-{k}", "kind": "exhibition_domestic",
                "title": "Triển lãm “Quyền con người – thành tựu và khát vọng”",
                "start_date": f"2025-{9 + k:02d}-02", "province_code": code,
            })
        if events:
            await push(code, "events", events)
    kinds = ["book"] * 5 + ["ebook", "video", "mooc_lesson", "infographic", "poster"]
    languages = [["vie"]] * 18 + [["vie", "hmn"], ["vie", "eng"]]
    channels = [["print"]] * 8 + [["commune_radio"], ["press"], ["website"]]
    for agency in ("G16", "G15", "G08", "01", "79"):
        products = [{
            "source_id": f"SP-{i:03d}", "kind": rng.choice(kinds),
            "title": f"Ấn phẩm tuyên truyền về quyền con người số {i}",
            "publication_year": rng.choice([2023, 2024, 2025]),
            "languages": rng.choice(languages), "channels": rng.choice(channels),
            "visibility": "public",
        } for i in range(1, 41)]
        await push(agency, "products", products)
        groups = ["reporter", "editor", "spokesperson", "legal_rapporteur", "propagandist",
                  "police"]
        courses = []
        for i in range(1, 5):
            chosen = rng.sample(groups, 3)
            by_group = {g: rng.randint(10, 60) for g in chosen}
            courses.append({
                "source_id": f"TH-2025-{i}", "title": f"Lớp tập huấn quyền con người khóa {i}",
                "form": "in_person", "start_date": f"2025-{2 * i:02d}-10",
                "target_groups": chosen, "participants_by_group": by_group,
                "participants_total": sum(by_group.values()),
            })
        await push(agency, "training-courses", courses)
    return total
