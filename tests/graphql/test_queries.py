"""GraphQL queries on SQLite and PostgreSQL: the REST filters, keyset pagination, nested
relations, node(id:), aggregates, reference data, and the same visibility as REST."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api._helpers import course, event, list_all, product, push
from tests.graphql._helpers import data, errors

pytestmark = pytest.mark.anyio

PAGE = """query($first: Int, $after: String, $filter: RecordFilterInput) {
  products(first: $first, after: $after, filter: $filter) {
    edges { cursor node { sourceId } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def _all_source_ids(client: httpx.AsyncClient, filter: dict[str, Any] | None = None,
                          first: int = 2, caller: str = "g16") -> list[str]:
    found: list[str] = []
    after = None
    for _ in range(100):
        page = (await data(client, PAGE, {"first": first, "after": after, "filter": filter},
                           caller=caller))["products"]
        found += [e["node"]["sourceId"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("pagination did not end")


async def test_filters_and_pages_match_rest(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [
        product("P1", title="Quyền trẻ em: những điều cần biết", themes=["rights_children"],
                publication_year=2023),
        product("P2", title="Hỏi đáp về quyền con người", languages=["eng"],
                publication_year=2024),
        product("P3", kind="video", title="Phóng sự về quyền trẻ em ở vùng cao",
                published_on="2025-03-01"),
        product("P4", title="Sổ tay", themes=["rights_women"], publication_year=2025),
    ])
    await push(client, "hg", "products", [product("HG1", title="Quyền của trẻ em Hà Giang")])
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({}, {}),
        ({"q": "quyen tre em"}, {"q": "quyen tre em"}),
        ({"q": "QUYỀN TRẺ EM"}, {"q": "QUYỀN TRẺ EM"}),
        ({"kind": "video"}, {"kind": "video"}),
        ({"theme": "rights_children"}, {"theme": "rights_children"}),
        ({"language": "eng"}, {"language": "eng"}),
        ({"agency": "08"}, {"agency": "08"}),  # 02 Hà Giang rolls up to 08 Tuyên Quang
        ({"dateFrom": "2024-01-01", "dateTo": "2025-12-31"},
         {"date_from": "2024-01-01", "date_to": "2025-12-31"}),
        ({"updatedSince": "2000-01-01T00:00:00Z"}, {"updated_since": "2000-01-01T00:00:00Z"}),
    ]
    for graphql_filter, rest_params in cases:
        rest = [i["source_id"] for i in await list_all(client, "g16", "products", limit=2,
                                                        **rest_params)]
        assert await _all_source_ids(client, graphql_filter) == rest, graphql_filter
    assert await _all_source_ids(client, {"agency": "08"}) == ["HG1"]
    assert (await _all_source_ids(client, {"q": "quyen tre em"}))[0] == "P1"  # exact first


async def test_edge_cursors_follow_the_search_tiers(client: httpx.AsyncClient) -> None:
    """A cursor taken from an edge carries its row's search tier, computed in Python: it must
    agree with the SQL tiers, or paging from it would repeat or skip rows. "khuyen tre em"
    holds "uyen tre em" but not as whole words, so it is in the last tier (a cursor saying
    "title contains" would page on into WHOLE again)."""
    await push(client, "g16", "products", [product("OLD", title="Cũ", description="uyên trẻ em")])
    await push(client, "g16", "products", [product("WHOLE", title="Sổ tay uyên trẻ em")])
    await push(client, "g16", "products", [
        product("PART", title="Khuyên trẻ em"),
        product("PREFIX", title="Uyên trẻ em và gia đình"),
        product("DESC", title="Sách", description="uyên trẻ em"),
    ])
    expected = ["PREFIX", "WHOLE", "DESC", "PART", "OLD"]  # the last tier newest first
    rest = [i["source_id"] for i in await list_all(client, "g16", "products", limit=1,
                                                    q="uyen tre em")]
    assert rest == expected
    assert await _all_source_ids(client, {"q": "uyen tre em"}, first=1) == expected


async def test_nested_relations_and_reference_data(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [product("M1"), product("M2")])
    await push(client, "g16", "training-courses", [
        course("C1", product_source_ids=["M1", "M2", "MISSING"], themes=["vn_policy_law"]),
    ])
    await push(client, "hg", "events", [event("E1")])
    found = await data(client, """{
      trainingCourses { nodes { sourceId formTerm { code labelVi labelEn }
                                themeTerms { code labelEn }
                                products { sourceId agency { code } } } }
      agency(code: "08") {
        id code name inForce
        predecessors { code inForce successors { code } }
        records(type: EVENTS) { nodes { sourceId ownerAgency agency { code } } }
      }
      agencies(includeFormer: true, level: "provincial") { code }
      vocabulary(name: "product_kind") { id name terms { code labelVi } }
    }""")
    (c1,) = found["trainingCourses"]["nodes"]
    assert c1["formTerm"] == {"code": "in_person", "labelVi": c1["formTerm"]["labelVi"],
                              "labelEn": "In person"}
    assert c1["themeTerms"][0]["code"] == "vn_policy_law"
    assert [p["sourceId"] for p in c1["products"]] == ["M1", "M2"]
    assert {p["agency"]["code"] for p in c1["products"]} == {"G16"}
    agency = found["agency"]
    assert agency["id"] == "agency:08" and agency["inForce"] is True
    assert "02" in {p["code"] for p in agency["predecessors"]}
    assert all(not p["inForce"] for p in agency["predecessors"])
    assert agency["records"]["nodes"] == [
        {"sourceId": "E1", "ownerAgency": "02", "agency": {"code": "02"}}
    ]
    codes = {a["code"] for a in found["agencies"]}
    assert {"02", "08"} <= codes and "G16" not in codes
    assert found["vocabulary"]["id"] == "vocabulary:product_kind"
    assert "book" in {t["code"] for t in found["vocabulary"]["terms"]}


async def test_node_and_record_respect_visibility(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [product("OPEN"), product("SECRET",
                                                                   visibility="private")])
    ids = {n["sourceId"]: n["id"] for n in (await data(
        client, "{ products { nodes { id sourceId } } }"))["products"]["nodes"]}
    node = """query($id: ID!) { node(id: $id) { id ... on Product { sourceId title } } }"""
    own = await data(client, node, {"id": ids["SECRET"]})
    assert own["node"]["sourceId"] == "SECRET"
    # Another agency sees the shared record but not the private one, by any way in.
    assert (await data(client, node, {"id": ids["OPEN"]}, caller="g15"))["node"] is not None
    assert (await data(client, node, {"id": ids["SECRET"]}, caller="g15"))["node"] is None
    one = """{ record(type: PRODUCTS, sourceId: "SECRET", agency: "G16") { sourceId } }"""
    assert (await data(client, one, caller="g15"))["record"] is None
    assert (await data(client, one))["record"] == {"sourceId": "SECRET"}
    assert await _all_source_ids(client, caller="g15") == ["OPEN"]
    agency = await data(client, """{ node(id: "agency:G16") { id ... on Agency { name } } }""")
    assert agency["node"]["id"] == "agency:G16"
    for unknown in ("agency:NOPE", "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert (await data(client, node, {"id": unknown}))["node"] is None


async def test_stats_count_what_lists_show(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [
        product("S1", themes=["rights_children", "rights_women"], publication_year=2024),
        product("S2", kind="video", languages=["eng"], published_on="2025-03-09"),
        product("S3", visibility="private"),
    ])
    await push(client, "hg", "products", [product("S4", publication_year=2024)])
    query = """query($filter: RecordFilterInput) { stats(type: PRODUCTS, filter: $filter) {
      total byKind { key count } byAgency { key count } byTheme { key count }
      byLanguage { key count } byMonth { key count } byType { key count } } }"""
    mine = (await data(client, query))["stats"]
    assert mine["total"] == 4
    assert mine["byKind"] == [{"key": "book", "count": 3}, {"key": "video", "count": 1}]
    assert mine["byAgency"] == [{"key": "G16", "count": 3}, {"key": "08", "count": 1}]
    assert {"key": "rights_children", "count": 1} in mine["byTheme"]
    assert {"key": "vie", "count": 3} in mine["byLanguage"]
    assert mine["byMonth"] == [{"key": "2024-01", "count": 2}, {"key": "2025-03", "count": 1}]
    assert mine["byType"] == [{"key": "products", "count": 4}]
    # Another agency does not count G16's private record; filters apply as in lists.
    theirs = (await data(client, query, caller="g15"))["stats"]
    assert theirs["total"] == 3
    rolled = (await data(client, query, {"filter": {"agency": "08"}}))["stats"]
    assert rolled["total"] == 1 and rolled["byAgency"] == [{"key": "08", "count": 1}]
    searched = (await data(client, query, {"filter": {"q": "sach s2"}}))["stats"]
    assert searched["total"] == 1


async def test_programme_field(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [product("B1"), product("B2", kind="ebook")])
    found = (await data(client, """{ programme(year: 2025) { year agency
      indicators { code value target unit } training { courses participants } } }"""))
    programme = found["programme"]
    assert programme["year"] == 2025
    books = next(i for i in programme["indicators"] if i["code"] == "book_titles")
    assert books["target"] == 1000
    problems = await errors(client, '{ programme(agency: "NOPE") { year } }')
    assert problems[0]["extensions"]["code"] == "invalid-input"


async def test_bad_arguments_are_clear_errors(client: httpx.AsyncClient) -> None:
    cases = {
        '{ products(after: "bm90LWEtY3Vyc29y") { nodes { id } } }': "invalid-input",
        '{ products(filter: {agency: "NOPE"}) { nodes { id } } }': "invalid-input",
        '{ products(filter: {q: "  "}) { nodes { id } } }': "invalid-input",
        '{ products(filter: {theme: "bad\\u0000code"}) { nodes { id } } }': "invalid-input",
        '{ products(first: 0) { nodes { id } } }': "invalid-input",
    }
    for query, code in cases.items():
        (problem,) = await errors(client, query)
        assert problem["extensions"]["code"] == code, (query, problem)
        assert problem["extensions"]["detail_vi"] and problem["extensions"]["detail_en"]
        assert problem["message"] == problem["extensions"]["detail_vi"]  # Vietnamese first
    english = await client.post(
        "/graphql", json={"query": '{ products(filter: {agency: "NOPE"}) { nodes { id } } }'},
        headers={"Authorization": "Bearer test-token-g16-0123456789abcdef",
                 "Accept-Language": "en"},
    )
    assert english.json()["errors"][0]["message"] == "Agency NOPE is not in the registry."
    # The document's own mistakes are told in both languages too (Vietnamese first).
    documents = {
        "{ products(first: ) }": ("syntax-error", "Lỗi cú pháp"),
        "{ products { nodes { titel } } }": ("unknown-field", "không có trường 'titel'"),
        "{ products(frist: 2) { nodes { id } } }": ("unknown-argument", "tham số 'frist'"),
        "{ products }": ("selection-required", "trường con"),
        "query Q($n: Int!) { products(first: $n) { nodes { id } } }":
            ("invalid-variable", "Biến '$n' có giá trị không hợp lệ"),
        "query Q($x: Khong) { products { nodes { id } } }": ("unknown-type", "kiểu 'Khong'"),
    }
    for query, (code, vietnamese) in documents.items():
        found = await errors(client, query)
        for error in found:  # every error of the document, in both languages
            assert error["message"] == error["extensions"]["detail_vi"], (query, error)
            assert error["extensions"]["detail_en"] != error["extensions"]["detail_vi"]
        matching = [e for e in found if e["extensions"]["code"] == code]
        assert matching and vietnamese in matching[0]["message"], (query, found)
    english = await client.post(
        "/graphql", json={"query": "{ products(first: ) }"},
        headers={"Authorization": "Bearer test-token-g16-0123456789abcdef",
                 "Accept-Language": "en"},
    )
    assert english.json()["errors"][0]["message"].startswith("Syntax Error")
    (date,) = await errors(
        client, '{ products(filter: {dateFrom: "2025-13-45"}) { nodes { id } } }')
    assert "Date" in date["message"] or "date" in date["message"]
