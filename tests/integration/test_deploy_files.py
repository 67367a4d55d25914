"""The files under deploy/ stay true to the hub: settings, CLI options, metrics, upload sizes.

Fast: no server process; the app runs in-process behind httpx's ASGI transport.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import yaml

from gateway import create_app
from hub import Hub, Settings
from tests.conftest import auth, make_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENV_FILE = DEPLOY / "rightshub.env.example"
UNITS = DEPLOY / "systemd"
# Settings that only make sense outside production (listed nowhere in the template as lines).
NOT_FOR_PRODUCTION = {"dev_principals", "demo_simulator_port"}
METRIC = re.compile(r"\brightshub_[a-z_]+\b")


def _env_names(*, commented: bool) -> set[str]:
    pattern = r"^#?\s*RIGHTSHUB_([A-Z0-9_]+)=" if commented else r"^RIGHTSHUB_([A-Z0-9_]+)="
    return {m.group(1).lower() for m in re.finditer(pattern, ENV_FILE.read_text(), re.M)}


def _env_values() -> dict[str, str]:
    return {k.lower().removeprefix("rightshub_"): v for k, _, v in (
        line.partition("=") for line in ENV_FILE.read_text().splitlines()
        if line.startswith("RIGHTSHUB_"))}


def test_env_template_names_every_setting_and_only_settings() -> None:
    fields = set(Settings.model_fields)
    named = _env_names(commented=True)
    assert named - fields == set(), "not settings"
    assert fields - named - NOT_FOR_PRODUCTION == set(), "settings missing from the template"


def test_env_template_is_a_valid_production_configuration(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _env_values().items():
        monkeypatch.setenv(f"RIGHTSHUB_{name.upper()}", value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.environment == "production"
    assert settings.trusted_proxies == ["127.0.0.1"]
    assert settings.worker_in_process_on is False


def _help(command: str) -> str:
    done = subprocess.run([sys.executable, "-m", "gateway.cli", command, "--help"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "COLUMNS": "200", "PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(("unit", "command"), [("rightshub-serve@.service", "serve"),
                                                ("rightshub-worker@.service", "worker")])
def test_exec_start_uses_real_cli_options(unit: str, command: str) -> None:
    text = (UNITS / unit).read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", text, re.M)
    assert exec_start is not None
    words = exec_start.group(1).split()
    assert words[0].endswith("/rightshub") and words[1] == command
    options = [w for w in words[2:] if w.startswith("--")]
    shown = _help(command)
    for option in options:
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", shown), option
    for line in ("EnvironmentFile=/etc/rightshub/rightshub.env", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "PrivateTmp=yes", "User=rightshub",
                 "ReadWritePaths=/var/lib/rightshub", "PartOf=rightshub.target"):
        assert line in text.splitlines(), line


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed in this container")
    rightshub = Path(sys.executable).parent / "rightshub"
    if not rightshub.exists():
        pytest.skip(f"{rightshub} is missing: cannot stand in for /opt/rightshub")
    paths = []
    for name, instance in (("rightshub-serve@.service", "rightshub-serve@8001.service"),
                           ("rightshub-worker@.service", "rightshub-worker@1.service"),
                           ("rightshub.target", "rightshub.target")):
        text = (UNITS / name).read_text().replace("/opt/rightshub/.venv/bin/rightshub",
                                                   str(rightshub))
        (tmp_path / name).write_text(text)
        if instance != name:
            (tmp_path / instance).write_text(text)
        paths.append(str(tmp_path / instance))
    try:
        done = subprocess.run([tool, "verify", "--man=no", *paths], capture_output=True,
                              text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"systemd-analyze cannot run here: {exc}")
    if "Failed to" in done.stderr and "bus" in done.stderr.lower():
        pytest.skip(f"systemd-analyze cannot run here: {done.stderr.strip()}")
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def _alert_exprs() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rightshub-rules.yml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def _dashboard_exprs() -> list[str]:
    dash = json.loads((DEPLOY / "grafana" / "rightshub-dashboard.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p["targets"]]


def test_prometheus_files_parse() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert any(job["job_name"] == "rightshub" for job in config["scrape_configs"])
    names = {r["alert"] for g in yaml.safe_load(
        (DEPLOY / "prometheus" / "rightshub-rules.yml").read_text())["groups"] for r in g["rules"]}
    assert {"RightsHubHighErrorRate", "RightsHubDeliveryBacklog", "RightsHubDeadLetters",
            "RightsHubConnectorFailures", "RightsHubDatabaseDown",
            "RightsHubRedisDown"} <= names


def _base_name(metric: str) -> str:
    return re.sub(r"_(bucket|sum|count)$", "", metric)


@pytest.mark.anyio
async def test_every_metric_used_is_exported(database_url: str) -> None:
    hub = Hub(make_settings(database_url))
    try:
        app = create_app(hub.settings, hub=hub)
        app.state.hub = hub
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
            await c.get("/healthz")  # at least one request counted
            answer = await c.get("/metrics")
    finally:
        await hub.close()
    assert answer.status_code == 200
    exported = {_base_name(m.split("{")[0].split()[0])
                for m in answer.text.splitlines() if m.startswith("rightshub_")}
    used = {_base_name(m) for e in _alert_exprs() + _dashboard_exprs() for m in METRIC.findall(e)}
    assert used and used - exported == set()
    assert "rightshub_database_up 1.0" in answer.text


def _sizes(text: str) -> dict[str, int]:
    """client_max_body_size per location ("" = the server's own)."""
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    found: dict[str, int] = {}
    location = ""
    for line in text.splitlines():
        if m := re.match(r"\s*location\s+(.+?)\s*\{", line):
            location = m.group(1)
        elif re.match(r"\s*\}", line):
            location = ""
        if m := re.match(r"\s*client_max_body_size\s+(\d+)([kmg]?);", line):
            found[location] = int(m.group(1)) * units[m.group(2)]
    return found


def test_nginx_upload_sizes_cover_the_hub_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (DEPLOY / "nginx" / "rightshub.conf").read_text()
    sizes = _sizes(text)
    for name, value in _env_values().items():
        monkeypatch.setenv(f"RIGHTSHUB_{name.upper()}", value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    # tus: one PATCH may carry the whole file, so the limit is the largest file.
    assert sizes["/v1/uploads"] >= settings.archive_max_file_bytes
    assert sizes["~ ^/v1/records/[^/]+/files$"] >= settings.archive_simple_upload_max_bytes
    assert sizes[""] >= settings.max_body_bytes
    tus = text.split("location /v1/uploads", 1)[1].split("}", 1)[0]
    assert "proxy_request_buffering off;" in tus
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text  # overwrite, never append
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    for port in re.findall(r"server 127\.0\.0\.1:(\d+)", text):
        assert 1024 < int(port) < 65536


def _gauge(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found is not None, name
    return float(found.group(1))


@pytest.mark.anyio
async def test_operational_gauges_follow_the_database(hub: Hub,
                                                      client: httpx.AsyncClient) -> None:
    """A subscription behind the change log, a dead letter and a failing connector move the
    gauges the alert rules use, by exactly what was added."""
    import uuid

    from hub.tables import Connector, DeadLetter, Subscription, utcnow

    pushed = await client.post(
        "/v1/products:batch", headers=auth("g16"),
        json={"records": [{"source_id": f"DEPLOY-{i}", "kind": "book", "title": f"Sách {i}",
                           "languages": ["vie"]} for i in range(3)]})
    assert pushed.status_code == 200, pushed.text
    before = (await client.get("/metrics")).text
    sub_id, conn_id = str(uuid.uuid4()), f"deploy-{uuid.uuid4().hex[:8]}"
    async with hub.db.transaction() as session:
        session.add(Subscription(id=sub_id, agency="G16", name="deploy test",
                                 endpoint_url="https://sub.example/x", auth_kind="hmac",
                                 secret_encrypted="x", position=0, attempts=2))
        session.add(Connector(id=conn_id, agency="G16", name="deploy test", kind="rest",
                              config={}, failures=3, enabled=True))
    async with hub.db.transaction() as session:
        session.add(DeadLetter(subscription_id=sub_id, seq=1, event_id="e1", record_id="r1",
                               record_type="products", op="upsert", attempts=20,
                               dead_at=utcnow(), status="dead"))
    try:
        after = (await client.get("/metrics")).text
    finally:
        async with hub.db.transaction() as session:
            await session.execute(sa.delete(DeadLetter).where(DeadLetter.subscription_id == sub_id))
            await session.execute(sa.delete(Subscription).where(Subscription.id == sub_id))
            await session.execute(sa.delete(Connector).where(Connector.id == conn_id))
    async with hub.db.session() as session:
        head = (await session.execute(sa.text("SELECT max(seq) FROM record_changes"))).scalar()
    assert head and head >= 3

    def delta(name: str) -> float:
        return _gauge(after, name) - _gauge(before, name)

    assert delta("rightshub_delivery_backlog_events") == head
    assert delta("rightshub_delivery_subscriptions_failing") == 1
    assert delta("rightshub_delivery_dead_letters") == 1
    assert delta("rightshub_connectors_failing") == 1
    assert _gauge(after, "rightshub_database_up") == 1
    assert 'rightshub_rate_limit_storage_up{storage="memory"} 1.0' in after


@pytest.mark.anyio
async def test_database_and_redis_down_are_reported_not_raised() -> None:
    """Nothing listens on port 1: /metrics still answers, with both gauges at 0."""
    settings = make_settings("postgresql://postgres@127.0.0.1:1/rightshub_nowhere",
                             rate_limit_storage="redis://127.0.0.1:1/0")
    hub = Hub(settings)
    try:
        app = create_app(settings, hub=hub)
        app.state.hub = hub
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
            answer = await c.get("/metrics")
    finally:
        await hub.close()
    assert answer.status_code == 200
    assert _gauge(answer.text, "rightshub_database_up") == 0
    assert 'rightshub_rate_limit_storage_up{storage="redis"} 0.0' in answer.text


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for hub.example.gov.vn: nginx -t opens the files it names."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub.example.gov.vn")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    chain, private = directory / "fullchain.pem", directory / "privkey.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return chain, private


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    """`nginx -t` (Debian 12's nginx, as on the servers) on the shipped site file, inside a
    minimal main configuration; only the certificate paths are pointed at a throwaway pair."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if nginx is None:
        pytest.skip("nginx is not installed (.ci/tools installs it)")
    chain, private = _self_signed(tmp_path)
    site = (DEPLOY / "nginx" / "rightshub.conf").read_text()
    site = site.replace("/etc/ssl/rightshub/fullchain.pem", str(chain)).replace(
        "/etc/ssl/rightshub/privkey.pem", str(private))
    (tmp_path / "rightshub.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\nhttp {\n    access_log off;\n"
        f"    client_body_temp_path {tmp_path}/body;\n    proxy_temp_path {tmp_path}/proxy;\n"
        f"    include {tmp_path}/rightshub.conf;\n}}\n")
    done = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path), "-e", str(tmp_path / "e.log"),
                           "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr + (tmp_path / "e.log").read_text(errors="replace")


def test_promtool_accepts_the_config_and_the_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (.ci/tools installs Debian's prometheus)")
    rules = DEPLOY / "prometheus" / "rightshub-rules.yml"
    done = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    # The scrape config names its token file and the rules by absolute paths: check it with
    # both pointed into tmp_path.
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    shutil.copy(rules, tmp_path / "rightshub-rules.yml")
    config["rule_files"] = [str(tmp_path / "rightshub-rules.yml")]
    for job in config["scrape_configs"]:
        token = (job.get("authorization") or {}).get("credentials_file")
        if token:
            (tmp_path / "token").write_text("t" * 32)
            job["authorization"]["credentials_file"] = str(tmp_path / "token")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    done = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
