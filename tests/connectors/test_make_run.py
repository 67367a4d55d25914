"""``make run`` (``rightshub serve --demo``): the simulator starts beside the hub and the demo
connector syncs within seconds, run by the worker inside the server."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.integration import child_env, free_port, running_server


def test_serve_demo_starts_the_simulator_and_syncs(tmp_path: Path) -> None:
    port = free_port()
    with running_server(["--demo"], env=child_env(port=str(port)), cwd=tmp_path,
                        port=port) as server:
        deadline = time.monotonic() + 60
        row = None
        while time.monotonic() < deadline:
            with sqlite3.connect(tmp_path / "var" / "rightshub.db") as db:
                row = db.execute("SELECT status, created FROM connector_runs WHERE "
                                 "connector_id = 'demo-tuyen-quang' AND status != 'running'"
                                 ).fetchone()
            if row is not None:
                break
            time.sleep(0.5)
        assert row == ("succeeded", 300), (row, server.stderr()[-3000:])
        assert "Agency simulator" in server.stdout()
        with sqlite3.connect(tmp_path / "var" / "rightshub.db") as db:
            provenance = db.execute("SELECT provenance FROM records WHERE owner_agency = '08' "
                                    "AND source_id = 'TQ-000001'").fetchone()
        assert provenance is not None and '"connector"' in provenance[0]


def test_serve_demo_on_postgresql_runs_a_worker_and_the_demo_client(tmp_path: Path) -> None:
    """On PostgreSQL ``serve --demo`` behaves as on SQLite: demo data, the OAuth2 demo client,
    the admin, and a worker that really pulls; the simulator listens on the configured port."""
    import psycopg
    import pytest

    from tests.conftest import _create_pg_database, _drop_pg_database

    url = _create_pg_database()
    if url is None:
        pytest.skip("PostgreSQL is not reachable")
    port, sim_port = free_port(), free_port()
    try:
        env = child_env(port=str(port), database_url=url, demo_simulator_port=str(sim_port))
        with running_server(["--demo"], env=env, cwd=tmp_path, port=port) as server:
            deadline = time.monotonic() + 90
            row = None
            while time.monotonic() < deadline:
                with psycopg.connect(url) as db:
                    row = db.execute("SELECT status, created FROM connector_runs WHERE "
                                     "connector_id = 'demo-tuyen-quang' AND status != 'running'"
                                     ).fetchone()
                if row is not None:
                    break
                time.sleep(0.5)
            assert row == ("succeeded", 300), (row, server.stderr()[-3000:])
            out = server.stdout()
            assert f"127.0.0.1:{sim_port}/api/an-pham" in out
            assert "Worker (scheduled pulls, deliveries): in this server process" in out
            with psycopg.connect(url) as db:
                clients = db.execute("SELECT client_id FROM clients").fetchall()
            assert ("demo-g16",) in clients, clients
    finally:
        _drop_pg_database(url)
