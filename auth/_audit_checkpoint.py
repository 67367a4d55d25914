"""Signed checkpoints of the audit chain (``rightshub audit checkpoint``).

The chain's head sits in the database it protects, so whoever holds the database and the
secret key could rewrite entries and recompute every HMAC and the head. A checkpoint is the
head (seq, hash, count) at one moment, signed as a compact JWS (``typ``
``rightshub-audit-checkpoint+jwt``) with the hub's current token-signing key (``kid`` in the
header), meant to be kept outside the database (a ticket, a mail, a WORM bucket).
:func:`verify_audit_checkpoint` checks the signature against the hub's keys (every key it ever
had: a checkpoint outlives the JWKS's retention; or a JWKS kept with the checkpoint), then
walks the chain with the checkpoint as its anchor: the entry it names must still end in its
hash, so a rewrite of it or of any entry before it, a deletion or a truncation below it, made
after the checkpoint, is found.
"""

from __future__ import annotations

import time
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError

from auth._authority import authority
from auth._keys import ALLOWED_ALGORITHMS, Key, import_public_key, stored_public_key
from hub import AuditAnchor, AuditReport, Hub, InvalidInput, verify_audit, verify_audit_locked

CHECKPOINT_TYPE = "rightshub-audit-checkpoint+jwt"
CHECKPOINT_KIND = "rightshub.audit.checkpoint"


def _refused(vi: str, en: str) -> InvalidInput:
    return InvalidInput(f"Điểm neo bị từ chối: {vi}", f"Checkpoint refused: {en}")


async def create_audit_checkpoint(hub: Hub) -> tuple[AuditReport, str | None]:
    """Verify the whole chain (holding the write lock, so the head cannot move meanwhile) and
    sign its head. The token is None, and nothing is signed, when the chain is broken."""
    async with hub.db.transaction() as session:
        report = await verify_audit_locked(session)
        await session.rollback()  # the lock only; nothing to keep
    if not report.ok:
        return report, None
    keys = authority(hub).keys
    await keys.refresh()
    kid, algorithm, key = keys.signing_key()
    claims: dict[str, Any] = {
        "iss": hub.settings.issuer_url,
        "iat": int(time.time()),
        "kind": CHECKPOINT_KIND,
        "audit_seq": report.head_seq,
        "audit_hash": report.head_hash,
        "audit_count": report.entries,
    }
    header = {"alg": algorithm, "kid": kid, "typ": CHECKPOINT_TYPE}
    return report, jwt.encode(header, claims, key, algorithms=[algorithm])


def _key_from_jwks(jwks: dict[str, Any], kid: str) -> tuple[Key, str] | None:
    for data in jwks.get("keys", []):
        if isinstance(data, dict) and data.get("kid") == kid:
            try:
                return import_public_key(data), str(data.get("alg", ""))
            except (JoseError, ValueError, TypeError, KeyError):
                return None
    return None


async def read_audit_checkpoint(
    hub: Hub, token: str, *, jwks: dict[str, Any] | None = None
) -> AuditAnchor:
    """The anchor a checkpoint names, once its signature, type and issuer check out.

    The key is looked up by ``kid`` among the hub's signing keys (retired ones too) or, with
    ``jwks``, only in that key set (a copy of the JWKS kept with the checkpoint, out of reach of
    whoever can write the database). Raises :class:`hub.InvalidInput` otherwise.
    """
    token = token.strip()
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError, TypeError, UnicodeError):
        raise _refused("tệp không phải một JWS dạng compact.",
                       "the file is not a compact JWS.") from None
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise _refused(f"thuật toán {algorithm!r} không được chấp nhận.",
                       f"algorithm {algorithm!r} is not accepted.")
    if header.get("typ") != CHECKPOINT_TYPE:
        raise _refused("đây không phải điểm neo nhật ký kiểm toán (typ sai).",
                       "this is not an audit checkpoint (wrong typ).")
    if not isinstance(kid, str) or not kid:
        raise _refused("thiếu kid.", "no kid.")
    found = (
        _key_from_jwks(jwks, kid) if jwks is not None else await stored_public_key(hub.db, kid)
    )
    if found is None:
        raise _refused(f"khoá ký {kid!r} không phải khoá của hub này.",
                       f"signing key {kid!r} is not one of this hub's keys.")
    key, key_algorithm = found
    if key_algorithm and key_algorithm != algorithm:
        raise _refused("thuật toán không khớp khoá ký.",
                       "the algorithm does not match the signing key.")
    try:
        claims = jwt.decode(token, key, algorithms=[algorithm]).claims
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": hub.settings.issuer_url},
            iat={"essential": True},
            kind={"essential": True, "value": CHECKPOINT_KIND},
            audit_seq={"essential": True},
            audit_hash={"essential": True},
            audit_count={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError, TypeError, KeyError):
        raise _refused("chữ ký không hợp lệ hoặc thiếu trường (iss, seq, hash).",
                       "bad signature, or missing or wrong claims (iss, seq, hash).") from None
    seq, entry_hash, count = claims["audit_seq"], claims["audit_hash"], claims["audit_count"]
    if not (
        isinstance(seq, int) and seq >= 0 and isinstance(count, int) and count >= 0
        and isinstance(entry_hash, str) and len(entry_hash) == 64
    ):
        raise _refused("seq, hash hoặc count không hợp lệ.", "bad seq, hash or count.")
    return AuditAnchor(seq=seq, entry_hash=entry_hash, count=count)


async def verify_audit_checkpoint(
    hub: Hub, token: str, *, jwks: dict[str, Any] | None = None
) -> AuditReport:
    """Check the checkpoint's signature (:func:`read_audit_checkpoint`), then walk the whole
    chain with it as the anchor."""
    anchor = await read_audit_checkpoint(hub, token, jwks=jwks)
    async with hub.db.session() as session:
        return await verify_audit(session, anchor=anchor)
