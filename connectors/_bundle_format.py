"""Offline exchange bundles, format v1: one tar file that carries change-feed entries where the
network does not (docs/exchange-api.md, "Offline exchange bundles").

Members, in this order::

    manifest.json       what the bundle holds (BundleManifest): cursor range, counts, and the
                        SHA-256 and size of every other part
    records.ndjson      one ``/v1/changes`` entry a line, in ``seq`` order, tombstones included
    files/<sha256>      optional: the bytes of the files the upserts list
    manifest.jws        a compact JWS (a JWT, ``typ`` rightshub-bundle+jwt) whose claims name the
                        SHA-256 of manifest.json's exact bytes, signed with the exporting hub's
                        token-signing key (``kid`` in its published JWKS)

The signature covers the manifest, the manifest covers every part: checking a bundle needs the
file and the exporter's JWKS, nothing else (no database). This module does no I/O beyond the
bundle file itself.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub import HubError

FORMAT = "rightshub-bundle"
FORMAT_VERSION = 1
TOKEN_TYPE = "rightshub-bundle+jwt"
TOKEN_KIND = "rightshub.bundle"
MANIFEST = "manifest.json"
RECORDS = "records.ndjson"
SIGNATURE = "manifest.jws"
FILES = "files/"
ALGORITHMS = ("ES256", "RS256")
_SHA = re.compile(r"^[0-9a-f]{64}$")
HASH_CHUNK = 1024 * 1024

Signer = Callable[[dict[str, Any]], str]  # claims -> compact JWS


class BundleRefused(HubError):
    """A bundle that is not taken, as a whole: nothing of it is imported. ``extra['code']``
    says why (signature, foreign_key, checksum, incomplete, format, replayed, gap, peer)."""

    status = 422
    type_slug = "bundle-refused"
    title_vi = "Gói trao đổi bị từ chối"
    title_en = "Exchange bundle refused"

    def __init__(self, code: str, detail_vi: str, detail_en: str, **extra: Any) -> None:
        super().__init__(f"Gói trao đổi bị từ chối: {detail_vi}",
                         f"Bundle refused: {detail_en}", code=code, **extra)
        self.code = code


class PartDigest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class CursorRange(BaseModel):
    """The exporter's change feed from ``after`` (exclusive) to ``until`` (inclusive): every
    change in it that the filters select is in records.ndjson."""

    model_config = ConfigDict(extra="forbid")

    after: int = Field(ge=0)
    until: int = Field(ge=0)
    first_seq: int | None = Field(default=None, ge=1)
    last_seq: int | None = Field(default=None, ge=1)


class BundleCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: int = Field(ge=0)
    upserts: int = Field(ge=0)
    deletes: int = Field(ge=0)
    withdraws: int = Field(ge=0)
    files: int = Field(ge=0)


class BundleSelection(BaseModel):
    """What the exporter chose: owner agencies and record types (None: all it may read), and
    the agency whose read rights applied."""

    model_config = ConfigDict(extra="forbid")

    agencies: list[str] | None = None
    record_types: list[str] | None = None
    as_agency: str
    files: bool


class BundleManifest(BaseModel):
    """manifest.json of a RightsHub offline exchange bundle (format v1)."""

    model_config = ConfigDict(extra="forbid", title="RightsHub exchange bundle manifest")

    format: Literal["rightshub-bundle"] = "rightshub-bundle"
    version: Literal[1] = 1
    bundle_id: str = Field(min_length=1, max_length=100)
    issuer: str = Field(min_length=1, max_length=500, description="The exporting hub's issuer URL")
    created_at: datetime
    selection: BundleSelection
    cursor: CursorRange
    counts: BundleCounts
    parts: dict[str, PartDigest] = Field(
        description="records.ndjson and every files/<sha256>: SHA-256 (hex) and size in bytes")


@dataclass(slots=True)
class Bundle:
    """A bundle that passed :func:`read_bundle`: signature, completeness and checksums."""

    path: Path
    manifest: BundleManifest
    manifest_sha256: str
    kid: str
    changes: list[dict[str, Any]]
    files: set[str] = field(default_factory=set)

    def extract_file(self, sha256: str, dest: Path) -> int:
        """Copy ``files/<sha256>`` (checked by :func:`read_bundle`) to ``dest``; its size."""
        with tarfile.open(self.path, "r:*") as tar:
            source = tar.extractfile(FILES + sha256)
            if source is None:
                raise KeyError(sha256)
            size = 0
            with dest.open("wb") as out:
                while block := source.read(HASH_CHUNK):
                    out.write(block)
                    size += len(block)
        return size


# --- writing --------------------------------------------------------------------------------


def _digest(data: bytes) -> PartDigest:
    return PartDigest(sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def _file_digest(path: Path) -> PartDigest:
    hasher, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(HASH_CHUNK):
            hasher.update(block)
            size += len(block)
    return PartDigest(sha256=hasher.hexdigest(), size=size)


def _add(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(mtime), 0o644
    tar.addfile(info, io.BytesIO(data))


def write_bundle(
    out: Path,
    *,
    issuer: str,
    selection: BundleSelection,
    after: int,
    until: int,
    changes: list[dict[str, Any]],
    blobs: dict[str, Path],
    sign: Signer,
) -> BundleManifest:
    """Write the bundle to ``out`` (through a temporary file, renamed at the end)."""
    records = b"".join(orjson.dumps(c) + b"\n" for c in changes)
    parts = {RECORDS: _digest(records)}
    for sha, path in sorted(blobs.items()):
        digest = _file_digest(path)
        if digest.sha256 != sha:
            raise ValueError(f"stored file {sha} hashes to {digest.sha256}")
        parts[FILES + sha] = digest
    ops = [c.get("op") for c in changes]
    seqs = [int(c["seq"]) for c in changes]
    manifest = BundleManifest(
        bundle_id=str(uuid.uuid4()), issuer=issuer, created_at=datetime.now().astimezone(),
        selection=selection,
        cursor=CursorRange(after=after, until=until, first_seq=seqs[0] if seqs else None,
                           last_seq=seqs[-1] if seqs else None),
        counts=BundleCounts(changes=len(changes), upserts=ops.count("upsert"),
                            deletes=ops.count("delete"), withdraws=ops.count("withdraw"),
                            files=len(blobs)),
        parts=parts,
    )
    manifest_bytes = orjson.dumps(manifest.model_dump(mode="json"),
                                  option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    token = sign({
        "iss": issuer, "iat": int(time.time()), "kind": TOKEN_KIND, "jti": manifest.bundle_id,
        "format_version": FORMAT_VERSION,
        "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
    })
    temporary = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.part")
    now = time.time()
    try:
        with tarfile.open(temporary, "w", format=tarfile.PAX_FORMAT) as tar:
            _add(tar, MANIFEST, manifest_bytes, now)
            _add(tar, RECORDS, records, now)
            for sha, path in sorted(blobs.items()):
                info = tar.gettarinfo(str(path), arcname=FILES + sha)
                info.mode, info.uid, info.gid, info.uname, info.gname = 0o644, 0, 0, "", ""
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
            _add(tar, SIGNATURE, token.encode(), now)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
    return manifest


# --- reading and checking -------------------------------------------------------------------


def _key_for(jwks: dict[str, Any], kid: str) -> tuple[ECKey | RSAKey, str] | None:
    for data in jwks.get("keys", []) if isinstance(jwks, dict) else []:
        if isinstance(data, dict) and data.get("kid") == kid:
            public = {k: v for k, v in data.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
            try:
                key = (ECKey.import_key(public) if public.get("kty") == "EC"
                       else RSAKey.import_key(public))
            except (JoseError, ValueError, TypeError, KeyError):
                return None
            return key, str(data.get("alg", ""))
    return None


def check_signature(
    token: str, manifest_bytes: bytes, jwks: dict[str, Any], *, issuer: str | None = None
) -> tuple[str, dict[str, Any]]:
    """``(kid, claims)`` of a valid signature over ``manifest_bytes`` by a key of ``jwks``."""
    try:
        header = jws.extract_compact(token.strip().encode()).headers()
    except (JoseError, ValueError, TypeError, UnicodeError):
        raise BundleRefused("signature", "manifest.jws không phải một JWS dạng compact.",
                            "manifest.jws is not a compact JWS.") from None
    algorithm, kid = header.get("alg"), header.get("kid")
    if header.get("typ") != TOKEN_TYPE:
        raise BundleRefused("signature", "chữ ký không phải của một gói trao đổi (typ sai).",
                            "the signature is not a bundle's (wrong typ).")
    if algorithm not in ALGORITHMS or not isinstance(kid, str) or not kid:
        raise BundleRefused("signature", f"thuật toán {algorithm!r} hoặc kid không hợp lệ.",
                            f"algorithm {algorithm!r} or kid not acceptable.")
    found = _key_for(jwks, kid)
    if found is None:
        raise BundleRefused(
            "foreign_key",
            f"gói được ký bằng khoá {kid!r}, không phải khoá của hub nguồn được tin cậy.",
            f"the bundle is signed with key {kid!r}, not a key of the trusted source hub.",
            kid=kid)
    key, key_algorithm = found
    if key_algorithm and key_algorithm != algorithm:
        raise BundleRefused("signature", "thuật toán không khớp khoá ký.",
                            "the algorithm does not match the signing key.")
    try:
        claims = jwt.decode(token.strip(), key, algorithms=[algorithm]).claims
    except (JoseError, ValueError, TypeError, KeyError):
        raise BundleRefused("signature", "chữ ký không hợp lệ.",
                            "the signature does not verify.") from None
    if claims.get("kind") != TOKEN_KIND or claims.get("format_version") != FORMAT_VERSION:
        raise BundleRefused("signature", "chữ ký không dành cho gói trao đổi phiên bản 1.",
                            "the signature is not for a version 1 bundle.")
    if claims.get("manifest_sha256") != hashlib.sha256(manifest_bytes).hexdigest():
        raise BundleRefused("checksum", "manifest.json đã bị thay đổi sau khi ký.",
                            "manifest.json was changed after it was signed.")
    if issuer is not None and claims.get("iss") != issuer:
        raise BundleRefused("peer", f"gói do {claims.get('iss')!r} xuất, không phải {issuer!r}.",
                            f"the bundle was exported by {claims.get('iss')!r}, not {issuer!r}.")
    return kid, claims


def _damaged(exc: BaseException) -> BundleRefused:
    return BundleRefused("incomplete", f"tệp bị cắt cụt hoặc hỏng ({exc}).",
                         f"the file is truncated or damaged ({exc}).")


def _read_members(path: Path) -> tuple[dict[str, bytes], dict[str, PartDigest]]:
    """Small members' bytes, and the digests of files/ members (hashed while streamed)."""
    small: dict[str, bytes] = {}
    blobs: dict[str, PartDigest] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                name = member.name
                if name in small or name in blobs:
                    raise BundleRefused("format", f"phần {name} xuất hiện hai lần.",
                                        f"part {name} appears twice.")
                if not member.isfile():
                    raise BundleRefused("format", f"phần {name} không phải tệp thường.",
                                        f"part {name} is not a regular file.")
                handle = tar.extractfile(member)
                assert handle is not None
                if name in (MANIFEST, RECORDS, SIGNATURE):
                    small[name] = handle.read()
                    if len(small[name]) != member.size:
                        raise _damaged(EOFError("short member"))
                elif name.startswith(FILES) and _SHA.match(name[len(FILES):]):
                    hasher, size = hashlib.sha256(), 0
                    while block := handle.read(HASH_CHUNK):
                        hasher.update(block)
                        size += len(block)
                    if size != member.size:
                        raise _damaged(EOFError("short member"))
                    blobs[name] = PartDigest(sha256=hasher.hexdigest(), size=size)
                else:
                    raise BundleRefused("format", f"phần không được phép trong gói: {name}.",
                                        f"part not allowed in a bundle: {name}.")
    except BundleRefused:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise _damaged(exc) from None
    return small, blobs


def read_bundle(
    path: Path, jwks: dict[str, Any], *, issuer: str | None = None
) -> Bundle:
    """Check a bundle whole, without a database: every part present, none extra, the
    signature by a key of ``jwks`` (and by ``issuer`` when given), every checksum, the counts
    and the order of records.ndjson. Raises :class:`BundleRefused`, naming the first fault."""
    small, blobs = _read_members(path)
    missing = [n for n in (MANIFEST, RECORDS, SIGNATURE) if n not in small]
    if SIGNATURE in missing or MANIFEST in missing:
        raise BundleRefused(
            "incomplete", f"thiếu {', '.join(missing)} (tệp bị cắt cụt hoặc không phải gói).",
            f"{', '.join(missing)} missing (the file is truncated or not a bundle).")
    kid, claims = check_signature(small[SIGNATURE].decode("ascii", "replace"),
                                  small[MANIFEST], jwks, issuer=issuer)
    try:
        manifest = BundleManifest.model_validate_json(small[MANIFEST])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BundleRefused("format", f"manifest.json không hợp lệ tại {where}.",
                            f"manifest.json is invalid at {where}: {first['msg']}.") from None
    if manifest.issuer != claims.get("iss") or manifest.bundle_id != claims.get("jti"):
        raise BundleRefused("signature", "manifest và chữ ký nói khác nhau về nguồn hoặc mã gói.",
                            "the manifest and the signature disagree on issuer or bundle id.")
    if RECORDS in missing:
        raise BundleRefused("incomplete", "thiếu records.ndjson.", "records.ndjson missing.")
    present = {RECORDS: _digest(small[RECORDS]), **blobs}
    for name, digest in manifest.parts.items():
        got = present.get(name)
        if got is None:
            raise BundleRefused("incomplete", f"thiếu phần {name} mà manifest liệt kê.",
                                f"part {name} listed in the manifest is missing.")
        if got != digest:
            raise BundleRefused("checksum", f"SHA-256 hoặc kích thước của {name} không khớp.",
                                f"the SHA-256 or size of {name} does not match.", part=name)
    extra = sorted(set(present) - set(manifest.parts))
    if extra:
        raise BundleRefused("format", f"phần không có trong manifest: {extra[0]}.",
                            f"part not in the manifest: {extra[0]}.")
    changes = _changes(small[RECORDS], manifest)
    return Bundle(path, manifest, hashlib.sha256(small[MANIFEST]).hexdigest(), kid, changes,
                  {name[len(FILES):] for name in blobs})


def _changes(records: bytes, manifest: BundleManifest) -> list[dict[str, Any]]:
    lines = records.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    changes: list[dict[str, Any]] = []
    previous = manifest.cursor.after
    for number, line in enumerate(lines, start=1):
        try:
            change = orjson.loads(line)
            seq = int(change["seq"])
            assert isinstance(change["record"], dict) and change["op"] in (
                "upsert", "delete", "withdraw")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AssertionError):
            raise BundleRefused("format", f"dòng {number} của records.ndjson không phải một "
                                "thay đổi.", f"line {number} of records.ndjson is not a change."
                                ) from None
        if not previous < seq <= manifest.cursor.until:
            raise BundleRefused("format", f"dòng {number}: seq {seq} sai thứ tự hoặc ngoài "
                                "khoảng con trỏ.", f"line {number}: seq {seq} out of order or "
                                "outside the cursor range.")
        previous = seq
        changes.append(change)
    if len(changes) != manifest.counts.changes:
        raise BundleRefused("incomplete", "số thay đổi không khớp manifest.",
                            "the number of changes does not match the manifest.")
    return changes


def file_shas(changes: Iterable[dict[str, Any]]) -> set[str]:
    """The SHA-256 of every file the upserts of ``changes`` list."""
    return {str(f["sha256"]) for c in changes if c.get("op") == "upsert"
            for f in (c["record"].get("files") or []) if _SHA.match(str(f.get("sha256", "")))}
