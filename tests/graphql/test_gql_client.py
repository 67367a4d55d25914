"""A real GraphQL client (gql over its httpx transport) runs the README's example documents,
exactly as written there, against ``rightshub serve --demo`` on loopback with the demo token;
gql also checks each document against the schema it fetched by introspection."""

from __future__ import annotations

import re
from pathlib import Path

from gql import Client, gql
from gql.transport.httpx import HTTPXTransport

from tests.integration import REPO, child_env, free_port, running_server


def readme_examples() -> list[str]:
    """The ```graphql blocks of README.md's "GraphQL" section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## GraphQL\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```graphql\n(.*?)```", section, re.S)


def test_readme_examples_run_with_gql(tmp_path: Path) -> None:
    examples = readme_examples()
    assert len(examples) >= 5
    port = free_port()
    with running_server(["--demo"], env=child_env(port=str(port)), cwd=tmp_path,
                        port=port) as server:
        token = (tmp_path / "var" / "demo-token").read_text().strip()
        transport = HTTPXTransport(url=f"{server.base_url}/graphql",
                                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
        with Client(transport=transport, fetch_schema_from_transport=True) as session:
            results = [session.execute(gql(example)) for example in examples]
            again = session.execute(gql(examples[-1]))  # the mutation, retried
    by_name = dict(zip((re.search(r"(query|mutation) (\w+)", e).group(2)  # type: ignore[union-attr]
                        for e in examples), results, strict=True))
    newest = by_name["NewestProducts"]["products"]
    assert len(newest["edges"]) == 5 and newest["pageInfo"]["hasNextPage"]
    assert all(e["node"]["agency"]["name"] for e in newest["edges"])
    rolled = by_name["SearchAndRollUp"]
    assert rolled["products"]["nodes"], "the diacritic-free search found nothing"
    assert "02" in {n["ownerAgency"] for n in rolled["events"]["nodes"]}
    assert "02" in {p["code"] for p in rolled["agency"]["predecessors"]}
    assert by_name["CoursesAndMaterials"]["trainingCourses"]["nodes"]
    dashboard = by_name["Dashboard"]
    assert dashboard["stats"]["total"] == sum(b["count"] for b in dashboard["stats"]["byKind"])
    assert dashboard["programme"]["indicators"]
    pushed = by_name["PushProducts"]["upsertProducts"]
    assert pushed["created"] + pushed["unchanged"] == 1 and pushed["rejected"] == 0
    assert again["upsertProducts"] == pushed
