"""``rightshub worker``, ``rightshub simulate-agency`` and ``rightshub connectors ...``, and the
demo simulator and connector that ``make run`` (``serve --demo``) starts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

import connectors
from gateway.cli._settings import load_settings, run_on_hub
from hub import Hub, HubError, Settings

console = Console(soft_wrap=True)
connectors_app = typer.Typer(help="Pull connectors.", no_args_is_help=True)

DEMO_CONNECTOR = "demo-tuyen-quang"
DEMO_AGENCY = "08"  # Tuyên Quang: a province of the 2025 registry
DEMO_SIM_SECRET = "bi-mat-mo-phong-0123456789"


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("simulate-agency")(simulate_agency)
    app.add_typer(connectors_app, name="connectors")



def worker(
    once: Annotated[bool, typer.Option(help="Run what is due now, wait for it, exit")] = False,
    concurrency: Annotated[int | None, typer.Option(help="Connectors run at once")] = None,
) -> None:
    """Run scheduled pulls and pending deliveries until stopped (SIGTERM or Ctrl-C)."""
    from gateway._logging import configure_logging

    settings = load_settings(console)
    configure_logging(settings.log_level, json=settings.log_json)

    async def main() -> None:
        hub = Hub(settings)
        runner = connectors.Worker(hub, concurrency=concurrency)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            if once:
                await runner.run_once()
            else:
                await runner.run_forever(stop)
        finally:
            await hub.close()

    asyncio.run(main())


def simulate_agency(
    host: str = "127.0.0.1",
    port: int = 8100,
    records: Annotated[int, typer.Option(help="Records the agency holds")] = 200,
    seed: int = 1,
    client_id: str = "hub-trung-uong",
    client_secret: Annotated[str, typer.Option(envvar="SIM_CLIENT_SECRET")] = DEMO_SIM_SECRET,
    api_key: Annotated[str | None, typer.Option(envvar="SIM_API_KEY")] = None,
    public_jwk: Annotated[Path | None, typer.Option(help="Client public JWK (JSON) for "
                                                    "private_key_jwt")] = None,
    token_ttl: int = 300,
    tcvn3_share: Annotated[float, typer.Option(help="Share of titles in TCVN3")] = 0.2,
    error_rate: Annotated[float, typer.Option(help="Share of answers 502/503/504")] = 0.0,
    rate_429: Annotated[float, typer.Option(help="Share of answers 429 + Retry-After")] = 0.0,
    drop_rate: Annotated[float, typer.Option(help="Share of connections cut")] = 0.0,
    latency_ms: Annotated[float, typer.Option(help="Latency of each answer")] = 0.0,
    retry_after: int = 1,
    move_rate: Annotated[float, typer.Option(
        help="Records updated (moved to the end of the list) before each records answer")
    ] = 0.0,
    time_format: Annotated[str, typer.Option(
        help='Update times: "iso" or "dd/mm/yyyy HH:MM:SS" (local time)')] = "iso",
    clock_step_ms: Annotated[int, typer.Option(help="Time between two changes")] = 1,
    max_page_size: Annotated[int, typer.Option(
        help="The most records a page serves, whatever so_ban_ghi asks")] = 500,
) -> None:
    """Serve the reference agency simulator (a provincial system with OAuth2 and faults)."""
    import logging

    import uvicorn

    from connectors import Faults

    options = connectors.SimOptions(
        records=records, seed=seed, client_id=client_id, client_secret=client_secret,
        api_key=api_key, token_ttl=token_ttl, tcvn3_share=tcvn3_share,
        public_jwk=json.loads(public_jwk.read_text()) if public_jwk else None,
        time_format=time_format, clock_step_ms=clock_step_ms, max_page_size=max_page_size,
        faults=Faults(error_rate=error_rate, rate_429=rate_429, drop_rate=drop_rate,
                      latency_ms=latency_ms, retry_after=retry_after, move_rate=move_rate),
    )
    # The simulated cut connections are exceptions by design: keep them out of the output.
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    console.print(f"Agency simulator on http://{host}:{port} ({records} records; "
                  f"token endpoint /oauth/token, records /api/an-pham)")
    uvicorn.run(connectors.create_simulator(options), host=host, port=port, log_config=None,
                access_log=False, log_level="critical")


def _run(work: Any) -> Any:
    try:
        return run_on_hub(load_settings(console), work, console)
    except connectors.ConnectorError as exc:
        console.print(f"[red]{exc.message_vi}[/red]\n{exc.message_en}")
        raise typer.Exit(1) from None


@connectors_app.command("list")
def list_command() -> None:
    """List connectors with their schedule and circuit state."""
    items = _run(lambda hub: connectors.list_connectors(hub))
    table = Table(title="Connectors")
    for column in ("id", "agency", "kind", "enabled", "every (s)", "next run", "failures"):
        table.add_column(column)
    for c in items:
        table.add_row(c.id, c.agency, c.kind, str(c.enabled), str(c.schedule_seconds),
                      str(c.next_run_at), str(c.failures))
    console.print(table)


@connectors_app.command("run")
def run_command(
    connector_id: str,
    full_refresh: Annotated[bool, typer.Option(help="Read everything again")] = False,
) -> None:
    """Run one connector now, in this process, and print the run."""
    run = _run(lambda hub: connectors.run_connector(hub, connector_id,
                                                    full_refresh=full_refresh or None))
    console.print_json(json.dumps(run, default=str, ensure_ascii=False))
    raise typer.Exit(0 if run["status"] == "succeeded" else 1)


@connectors_app.command("reconcile")
def reconcile_command(connector_id: str) -> None:
    """Đối soát / reconcile: sweep the agency's keys, compare with what the hub holds, fetch
    missing and stale records, tombstone those deleted at the source; print the run."""
    run = _run(lambda hub: connectors.reconcile_connector(hub, connector_id))
    console.print(f"Thiếu trong hub / missing: {run['missing']} · cũ / stale: {run['stale']} · "
                  f"đã xoá ở nguồn / gone: {run['gone']}")
    console.print_json(json.dumps(run, default=str, ensure_ascii=False))
    raise typer.Exit(0 if run["status"] == "succeeded" else 1)


# --- make run ---------------------------------------------------------------------------------


def _free_port(preferred: int) -> int:
    import socket

    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")


def start_demo_simulator(settings: Settings, *, port: int = 8100) -> tuple[Any, list[str]]:
    """Start the simulator as a child process and point the demo connector at it (created
    or updated), due at once. The outbound guard is told to allow exactly the simulator's
    address and port (``RIGHTSHUB_OUTBOUND_ALLOW`` for the server this process starts).
    Returns the process and lines to print."""
    port = _free_port(port)
    allowed = [*settings.outbound_allow, f"127.0.0.1:{port}"]
    os.environ["RIGHTSHUB_OUTBOUND_ALLOW"] = ",".join(allowed)
    settings = settings.model_copy(update={"outbound_allow": allowed})
    exe = str(Path(sys.executable).with_name("rightshub"))
    log_path = Path("var/simulator.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [exe, "simulate-agency", "--port", str(port), "--records", "300",
             "--latency-ms", "20", "--error-rate", "0.05"],
            stdout=log_file, stderr=log_file,  # in serve's process group: stops with it
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + "/_sim/health", timeout=1).status_code == 200:
                break
        time.sleep(0.2)
    asyncio.run(_ensure_demo_connector(settings, base))
    return process, [
        f"  Agency simulator (Tuyên Quang, 300 records, 5 % faults): {base}/api/an-pham",
        f"  Demo connector {DEMO_CONNECTOR} pulls it every 60 s into agency {DEMO_AGENCY}; "
        f"runs: GET /v1/admin/connectors/{DEMO_CONNECTOR}/runs",
        f"  Outbound guard: public addresses and {', '.join(allowed)} "
        "(RIGHTSHUB_OUTBOUND_ALLOW)",
    ]


async def _ensure_demo_connector(settings: Settings, base: str) -> None:
    hub = Hub(settings)
    try:
        config = connectors.demo_connector_config(base)
        secrets = connectors.Secrets.model_validate({"client_secret": DEMO_SIM_SECRET})
        async with hub.db.transaction() as session:
            try:
                await connectors.update_connector(hub, session, DEMO_CONNECTOR, config=config,
                                                  secrets=secrets, enabled=True)
                await connectors.request_run(hub, session, DEMO_CONNECTOR,
                                             requested_by="make run")
            except HubError:
                await connectors.create_connector(
                    hub, session, agency=DEMO_AGENCY, name="Tuyên Quang (mô phỏng)",
                    kind="rest", config=config, secrets=secrets, schedule_seconds=60,
                    connector_id=DEMO_CONNECTOR, created_by="make run",
                )
    finally:
        await hub.close()


def stop_process(process: Any) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()

