"""The dated agency registry, roll-up of former agencies to their successors, and the
vocabularies."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from gateway._wire import AgencyList, AgencyOut, VocabularyOut
from hub import Hub, ImportSummary, Principal
from tests.api._helpers import assert_problem, event, product, push, source_ids
from tests.conftest import auth

pytestmark = pytest.mark.anyio


async def test_former_province_rolls_up_to_successor(client: httpx.AsyncClient) -> None:
    await push(client, "hg", "events", [event("HG-E1"), event("HG-E2")])
    await push(client, "tq", "events", [event("TQ-E1")])
    await push(client, "g16", "events", [event("G16-E1")])

    assert set(await source_ids(client, "g16", "events", agency="08")) == {
        "HG-E1", "HG-E2", "TQ-E1"
    }
    assert set(await source_ids(client, "g16", "events", agency="02")) == {"HG-E1", "HG-E2"}
    # Another province (01 Hà Nội) and another former province (04 Cao Bằng) see none.
    assert await source_ids(client, "g16", "events", agency="01") == []
    assert await source_ids(client, "g16", "events", agency="04") == []
    assert await source_ids(client, "g16", "events", agency="G16") == ["G16-E1"]
    # The owner stays the agency that filed the record.
    items = (await client.get("/v1/events", params={"agency": "08"},
                              headers=auth("g16"))).json()["items"]
    assert {i["owner_agency"] for i in items} == {"02", "08"}


async def test_former_ministry_rolls_up_to_both_successors(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    # No API caller belongs to the former ministry: file its records through the pipeline,
    # as an import of its archive would.
    btttt = Principal("archive-btttt", "BTTTT", frozenset({"records:write"}), "file")
    summary = await hub.ingest.ingest(btttt, "products", [product("BTTTT-1"), product("BTTTT-2")])
    assert isinstance(summary, ImportSummary) and summary.created == 2
    await push(client, "g16", "products", [product("G16-1")])
    await push(client, "g15", "products", [product("G15-1")])

    assert set(await source_ids(client, "g15", "products", agency="G16")) == {
        "BTTTT-1", "BTTTT-2", "G16-1"
    }
    assert set(await source_ids(client, "g15", "products", agency="G06")) == {
        "BTTTT-1", "BTTTT-2"
    }
    assert set(await source_ids(client, "g15", "products", agency="BTTTT")) == {
        "BTTTT-1", "BTTTT-2"
    }
    assert await source_ids(client, "g15", "products", agency="G15") == ["G15-1"]

    former = (await client.get("/v1/agencies/BTTTT", headers=auth("g16"))).json()
    assert set(former["successors"]) == {"G06", "G16"}
    assert former["in_force"] is False
    assert former["valid_until"] == "2025-02-28"
    for code in ("G16", "G06"):
        succ = (await client.get(f"/v1/agencies/{code}", headers=auth("g16"))).json()
        assert "BTTTT" in succ["predecessors"], code
    # A private record of the former ministry is visible to both successors, not to others.
    await hub.ingest.ingest(btttt, "products", [product("BTTTT-P", visibility="private")])
    assert "BTTTT-P" in await source_ids(client, "g16", "products")
    assert "BTTTT-P" not in await source_ids(client, "g15", "products")


async def test_agencies_as_of_dates(client: httpx.AsyncClient) -> None:
    before = await client.get("/v1/agencies", params={"as_of": "2025-01-01"},
                              headers=auth("g16"))
    assert before.status_code == 200
    body = AgencyList.model_validate(before.json())
    assert body.as_of == date(2025, 1, 1)
    provincial = [a for a in body.items if a.level == "provincial"]
    assert len(provincial) == 63
    assert {"02", "08", "01", "79"} <= {a.code for a in provincial}
    assert all(a.in_force for a in body.items)
    central = {a.code for a in body.items if a.level == "central"}
    assert "BTTTT" in central

    today = await client.get("/v1/agencies", headers=auth("g16"))
    listed = AgencyList.model_validate(today.json())
    assert listed.as_of == date.today()
    current = [a for a in listed.items if a.level == "provincial"]
    assert len(current) == 34
    assert "02" not in {a.code for a in current} and "08" in {a.code for a in current}
    assert "BTTTT" not in {a.code for a in listed.items}

    filtered = await client.get("/v1/agencies",
                                params={"as_of": "2025-01-01", "level": "provincial"},
                                headers=auth("g16"))
    assert len(filtered.json()["items"]) == 63
    after_merge = await client.get("/v1/agencies",
                                   params={"as_of": "2025-07-01", "level": "provincial"},
                                   headers=auth("g16"))
    assert len(after_merge.json()["items"]) == 34
    last_day = await client.get("/v1/agencies",
                                params={"as_of": "2025-06-30", "level": "provincial"},
                                headers=auth("g16"))
    assert len(last_day.json()["items"]) == 63
    everyone = await client.get("/v1/agencies",
                                params={"include_former": "true", "level": "provincial"},
                                headers=auth("g16"))
    codes = {a["code"] for a in everyone.json()["items"]}
    assert {"02", "08"} <= codes and len(codes) >= 63


async def test_agency_successor_and_predecessors(client: httpx.AsyncClient) -> None:
    former = await client.get("/v1/agencies/02", headers=auth("g16"))
    assert former.status_code == 200
    ha_giang = AgencyOut.model_validate(former.json())
    assert ha_giang.successors == ["08"]
    assert ha_giang.in_force is False
    assert ha_giang.valid_until == date(2025, 6, 30)
    assert "Hà Giang" in ha_giang.name

    current = AgencyOut.model_validate(
        (await client.get("/v1/agencies/08", headers=auth("g16"))).json()
    )
    assert "02" in current.predecessors
    assert current.successors == []
    assert current.in_force is True
    assert "Tuyên Quang" in current.name


async def test_unknown_agency_and_bad_parameters(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/agencies/ZZ", headers=auth("g16")), 404)
    for params in ({"as_of": "2025-02-30"}, {"as_of": "01/01/2025"}, {"as_of": "0"},
                   {"level": "district"}, {"include_former": "perhaps"}):
        assert_problem(await client.get("/v1/agencies", params=params, headers=auth("g16")),
                       400)
    assert_problem(await client.get("/v1/agencies/a%20b", headers=auth("g16")), 400)


async def test_vocabularies(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/vocabularies", headers=auth("reader"))
    assert response.status_code == 200
    vocabs = [VocabularyOut.model_validate(v) for v in response.json()]
    names = [v.name for v in vocabs]
    assert names == sorted(names)
    assert {"theme", "language", "target_group", "channel", "product_kind", "event_kind",
            "training_form"} <= set(names)
    by_name = {v.name: v for v in vocabs}
    assert by_name["theme"].provisional is True
    assert by_name["language"].provisional is False
    assert "vie" in {t.code for t in by_name["language"].terms}

    theme = await client.get("/v1/vocabularies/theme", headers=auth("g16"))
    assert theme.status_code == 200
    body = VocabularyOut.model_validate(theme.json())
    assert body.name == "theme" and body.provisional is True
    codes = {t.code for t in body.terms}
    assert {"rights_children", "vn_policy_law"} <= codes
    assert all(t.label_vi and t.label_en for t in body.terms)
    assert theme.json() == by_name["theme"].model_dump(mode="json")

    assert_problem(await client.get("/v1/vocabularies/nothing", headers=auth("g16")), 404)
    assert_problem(await client.get("/v1/vocabularies/Theme1", headers=auth("g16")), 400)


async def test_vocabulary_codes_are_enforced(client: httpx.AsyncClient) -> None:
    theme = (await client.get("/v1/vocabularies/theme", headers=auth("g16"))).json()
    first = theme["terms"][0]["code"]
    ok = await client.put("/v1/products/V-1", json=product("V-1", themes=[first]),
                          headers=auth("g16"))
    assert ok.status_code == 201
    bad = await client.put("/v1/products/V-2", json=product("V-2", themes=["not_a_theme"]),
                           headers=auth("g16"))
    assert_problem(bad, 422)
