"""Reference data (agency registry, vocabularies) and the demo data set of ``make run``.

Demo records go through the same ingest pipeline as everything else: seeding twice reports
them unchanged.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from hub._catalog import seed_vocabularies
from hub._db import Database
from hub._ingest import IngestPipeline
from hub._principal import Principal
from hub._registry import seed_registry
from hub._summary import ImportSummary


@dataclass(frozen=True, slots=True)
class SeedReport:
    agencies: int
    terms_added: int


async def seed_reference(db: Database) -> SeedReport:
    async with db.transaction() as session:
        agencies = await seed_registry(session)
        terms = await seed_vocabularies(session)
    return SeedReport(agencies, terms)


_BOOK_TITLES = [
    "Quyền con người trong Hiến pháp năm 2013",
    "Hỏi đáp về quyền con người",
    "Bảo đảm quyền của người dân tộc thiểu số ở Việt Nam",
    "Quyền trẻ em: những điều cần biết",
    "Việt Nam với Công ước quốc tế về các quyền dân sự và chính trị",
    "Tự do tín ngưỡng, tôn giáo ở Việt Nam",
    "Thành tựu bảo đảm quyền con người ở Việt Nam",
    "Quyền của người khuyết tật trong pháp luật Việt Nam",
]
_VIDEO_TITLES = [
    "Bài giảng MOOC: Khái niệm quyền con người",
    "Phóng sự: Bình đẳng giới ở vùng cao",
    "Tiểu phẩm: Quyền được học tập",
]
_THEMES = ["hr_concepts_international_law", "vn_policy_law", "achievements",
           "rights_children", "rights_ethnic_minorities", "rights_women"]
_DEMO_AGENCIES = ["G16", "G15", "G08", "01", "79", "08", "66"]
_FORMER_PROVINCE = "02"  # Hà Giang: merged into Tuyên Quang (08) on 2025-07-01


def demo_records(agency: str, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """A small, believable data set for one agency, deterministic for a given seed."""
    products: list[dict[str, Any]] = []
    events: list[dict[str, Any]]
    for i, title in enumerate(rng.sample(_BOOK_TITLES, 4)):
        products.append({
            "source_id": f"{agency}-SACH-{i + 1:03d}",
            "kind": rng.choice(["book", "ebook"]),
            "title": title,
            "publisher": "Nhà xuất bản Chính trị quốc gia Sự thật",
            "publication_year": rng.choice([2023, 2024, 2025]),
            "languages": ["vie"] if i else ["vie", rng.choice(["eng", "tyz", "hmn", "khm"])],
            "themes": rng.sample(_THEMES, 2),
            "channels": ["print"] if i % 2 else ["website", "social_network"],
            "funding_source": "state_budget",
        })
    for i, title in enumerate(_VIDEO_TITLES):
        products.append({
            "source_id": f"{agency}-VIDEO-{i + 1:03d}",
            "kind": "mooc_lesson" if "MOOC" in title else "video",
            "title": title,
            "duration_seconds": rng.randint(180, 300),
            "published_on": (date(2025, 1, 10) + timedelta(days=rng.randint(0, 600))).isoformat(),
            "languages": ["vie"],
            "themes": rng.sample(_THEMES, 1),
            "channels": ["social_network", "commune_radio"],
            "visibility": "public",
        })
    events = [
        {
            "source_id": f"{agency}-HOP-BAO-2025-{month:02d}",
            "kind": "press_briefing",
            "title": f"Họp báo định kỳ tháng {month}/2025",
            "start_date": date(2025, month, 25).isoformat(),
            "themes": ["achievements"],
        }
        for month in range(1, 13)
        if rng.random() < 0.8
    ]
    if agency.isdigit():
        events.append({
            "source_id": f"{agency}-TRIEN-LAM-2025",
            "kind": "exhibition_domestic",
            "title": "Triển lãm ảnh “Quyền con người – thành tựu và khát vọng”",
            # A former province's code is valid only for dates before its merger.
            "start_date": "2025-09-02" if agency != _FORMER_PROVINCE else "2025-05-19",
            "province_code": agency,
            "participants": rng.randint(300, 3000),
        })
    courses: list[dict[str, Any]] = [{
        "source_id": f"{agency}-TAP-HUAN-2025-1",
        "title": "Tập huấn kỹ năng thông tin, tuyên truyền về quyền con người",
        "form": "in_person",
        "start_date": "2025-05-12",
        "end_date": "2025-05-14",
        "target_groups": ["reporter", "spokesperson", "propagandist"],
        "participants_total": 120,
        "participants_by_group": {"reporter": 50, "spokesperson": 30, "propagandist": 40},
        "themes": ["vn_policy_law"],
    }]
    budgets: list[dict[str, Any]] = [{
        "source_id": f"{agency}-DU-TOAN-2026",
        "title": "Dự toán kinh phí thực hiện Quyết định 1079 năm 2026",
        "year": 2026,
        "amount_vnd": rng.randrange(200, 2000) * 1_000_000,
        "funding_source": "state_budget" if not agency.isdigit() else "local_budget",
    }]
    return {"products": products, "events": events, "training-courses": courses,
            "budgets": budgets}


async def seed_demo(pipeline: IngestPipeline, *, seed: int = 1079) -> ImportSummary:
    rng = random.Random(seed)
    total = ImportSummary()
    for agency in [*_DEMO_AGENCIES, _FORMER_PROVINCE]:
        principal = Principal(f"demo-seed-{agency}", agency, frozenset(), "file")
        for record_type, items in demo_records(agency, rng).items():
            result = await pipeline.ingest(principal, record_type, items)
            assert isinstance(result, ImportSummary)
            total.add(result)
    return total
