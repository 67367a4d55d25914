"""Deterministic, realistic product records (Vietnamese text, ~16 fields) for every scenario."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

_WORDS_TEXT = (
    "quyền con người trẻ em phụ nữ dân tộc thiểu số người khuyết tật tự do tín ngưỡng tôn giáo "
    "pháp luật chính sách thành tựu đối thoại quốc tế hợp tác bảo đảm thực hiện tuyên truyền "
    "giáo dục nâng cao nhận thức cộng đồng cơ sở phát triển bền vững bình đẳng giới an sinh xã "
    "hội việc làm y tế văn hoá thông tin báo chí truyền hình phát thanh hỏi đáp sổ tay cẩm nang "
    "hướng dẫn công ước liên hợp quốc hiến pháp năm đổi mới vùng sâu vùng xa biên giới hải đảo "
    "miền núi đồng bằng sông cửu long tây nguyên tây bắc đông nam bộ thủ đô hà nội thành phố"
)
WORDS = tuple(_WORDS_TEXT.split())
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
            "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thanh", "Hữu", "Ngọc", "Quang", "Thu", "Hồng")
GIVEN = ("An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hương", "Khánh",
         "Lan", "Linh", "Long", "Mai", "Nam", "Phương", "Quân", "Sơn", "Tâm", "Thảo",
         "Trang", "Tuấn", "Việt", "Yến")
PUBLISHERS = ("Nhà xuất bản Chính trị quốc gia Sự thật", "Nhà xuất bản Tư pháp",
              "Nhà xuất bản Thông tin và Truyền thông", "Nhà xuất bản Lao động",
              "Nhà xuất bản Phụ nữ Việt Nam", "Nhà xuất bản Kim Đồng",
              "Nhà xuất bản Văn hoá dân tộc", "Nhà xuất bản Thế giới")
KINDS = ("book", "ebook", "video", "mooc_course", "radio_item", "tv_item", "article",
         "infographic", "photo", "poster", "archival_document", "exhibition_item")
THEMES = ("hr_concepts_international_law", "vn_policy_law", "achievements", "rights_women",
          "rights_children", "rights_ethnic_minorities", "rights_persons_with_disabilities",
          "freedom_religion_belief", "countering_false_claims",
          "international_cooperation_dialogue")
LANGUAGES = ("vie",) * 12 + ("tyz", "hmn", "khm", "jra", "eng", "fra", "zho")
TARGET_GROUPS = ("reporter", "editor", "spokesperson", "legal_rapporteur", "propagandist",
                 "police", "civil_servant", "teacher", "student", "general_public")
CHANNELS = ("social_network", "website", "mobile_app", "electronic_bulletin_board",
            "grassroots_info_cluster", "commune_radio", "television",
            "radio", "press", "print")
FORMATS = ("print", "electronic", "audio", "video", "online")
FUNDING = ("state_budget", "local_budget", "sponsorship", "international_aid")
EPOCH = date(2015, 1, 1)


def isbn13(n: int) -> str:
    body = f"978{n % 1_000_000_000:09d}"
    check = (10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(body)) % 10) % 10
    return body + str(check)


def _phrase(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def product(i: int, *, variant: int = 0, prefix: str = "BENCH") -> dict[str, Any]:
    """Product number ``i``; a different ``variant`` changes its content (an update)."""
    rng = random.Random(i * 7919 + variant)
    title = _phrase(rng, 4, 9).capitalize()
    if variant:
        title += f" (bản {variant + 1})"
    published = EPOCH + timedelta(days=rng.randrange(0, 3900))
    kind = rng.choice(KINDS)
    return {
        "source_id": f"{prefix}-{i:08d}",
        "kind": kind,
        "title": title,
        "subtitle": _phrase(rng, 3, 6),
        "description": _phrase(rng, 25, 45).capitalize() + ".",
        "authors": [f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
                    for _ in range(rng.randint(1, 3))],
        "publisher": rng.choice(PUBLISHERS),
        "isbn": isbn13(i),
        "publication_year": published.year,
        "published_on": published.isoformat(),
        "edition_format": rng.choice(FORMATS),
        "page_count": rng.randint(24, 480),
        "themes": rng.sample(THEMES, rng.randint(1, 3)),
        "languages": sorted({rng.choice(LANGUAGES) for _ in range(rng.randint(1, 2))}),
        "target_groups": rng.sample(TARGET_GROUPS, rng.randint(1, 3)),
        "channels": rng.sample(CHANNELS, rng.randint(1, 3)),
        "funding_source": rng.choice(FUNDING),
        "links": [{"url": f"https://thuvien.example.vn/san-pham/{i}",
                   "label": "Bản điện tử"}],
        "visibility": "shared",
    }


def products(n: int, *, variant: int = 0, start: int = 0) -> Iterator[dict[str, Any]]:
    for i in range(start, start + n):
        yield product(i, variant=variant)
