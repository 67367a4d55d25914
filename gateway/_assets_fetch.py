"""Install-time fetch of GraphiQL's browser files (``make install`` runs it; the hub never
does): no Python package ships React and GraphiQL, and a closed network cannot reach the CDN
Strawberry's page names. Each file is pinned in ``gateway/static/vendor.lock.json`` by its
npm package, version, the tarball's SHA-512 (the registry's ``dist.integrity``) and the file's
own SHA-384 (the Subresource-Integrity hash Strawberry's page already carries), and written
under ``gateway/static/vendor/``; a mismatch stops the install.

    python -m gateway._assets_fetch            fetch what the lock names (skips files present)
    python -m gateway._assets_fetch --lock     rewrite the lock from Strawberry's page

``RIGHTSHUB_ASSETS_REGISTRY`` points it at an internal npm mirror (default the public registry).
This runs as a build step beside pip, before any hub is configured: it is not a call of the
hub's to an agency system, so it does not go through the connectors' outbound guard.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent / "static"
LOCK = STATIC / "vendor.lock.json"
VENDOR = STATIC / "vendor"
REGISTRY = os.environ.get("RIGHTSHUB_ASSETS_REGISTRY", "https://registry.npmjs.org").rstrip("/")
# <script src="https://unpkg.com/react@18.2.0/umd/react.production.min.js"
#         integrity="sha384-...">  (also <link href=...>), as Strawberry writes them.
_CDN_FILE = re.compile(
    r'(?:src|href)="https://unpkg\.com/(?P<package>(?:@[^/@"]+/)?[^/@"]+)@(?P<version>[^/"]+)'
    r'/(?P<path>[^"]+)"\s+integrity="(?P<integrity>sha384-[^"]+)"')


def cdn_files(html: str) -> list[dict[str, str]]:
    """The CDN files a page names, with their SRI hashes."""
    return [m.groupdict() for m in _CDN_FILE.finditer(html)]


def local_path(package: str, version: str, path: str) -> str:
    """Where a vendored file is served from, below ``/static/vendor/``."""
    return f"{package}@{version}/{path}"


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return bytes(answer.read())


def _sri(algorithm: str, data: bytes) -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def write_lock() -> None:
    from strawberry.http.ides import get_graphql_ide_html

    files = cdn_files(get_graphql_ide_html(graphql_ide="graphiql"))
    packages: dict[str, Any] = {}
    for f in files:
        key = f"{f['package']}@{f['version']}"
        if key not in packages:
            meta = json.loads(_get(f"{REGISTRY}/{f['package']}/{f['version']}"))
            packages[key] = {"tarball": meta["dist"]["tarball"],
                             "integrity": meta["dist"]["integrity"], "files": {}}
        packages[key]["files"][f["path"]] = f["integrity"]
    LOCK.write_text(json.dumps({"packages": packages}, indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")


def fetch() -> int:
    lock = json.loads(LOCK.read_text(encoding="utf-8"))
    written = 0
    for key, package in lock["packages"].items():
        targets = {path: VENDOR / key / path for path in package["files"]}
        if all(t.exists() and _sri("sha384", t.read_bytes()) == package["files"][p]
               for p, t in targets.items()):
            continue
        tarball_url = package["tarball"].replace("https://registry.npmjs.org", REGISTRY)
        tarball = _get(tarball_url)
        if _sri("sha512", tarball) != package["integrity"]:
            raise SystemExit(f"{key}: the tarball's SHA-512 differs from the lock")
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for path, integrity in package["files"].items():
                member = archive.extractfile(f"package/{path}")
                if member is None:
                    raise SystemExit(f"{key}: {path} is not in the package")
                data = member.read()
                if _sri("sha384", data) != integrity:
                    raise SystemExit(f"{key}/{path}: SHA-384 differs from the lock")
                targets[path].parent.mkdir(parents=True, exist_ok=True)
                targets[path].write_bytes(data)
                written += 1
    return written


if __name__ == "__main__":
    if "--lock" in sys.argv[1:]:
        write_lock()
        print(f"wrote {LOCK}")
    else:
        print(f"GraphiQL assets: {fetch()} file(s) fetched into {VENDOR}")
