"""Optional OIDC single sign-on for the console, through Authlib's Starlette client.

Mounted only when ``RIGHTSHUB_OIDC_ISSUER`` (with the client id and secret) is set: the
IdP's discovery document gives the endpoints; the identity (``sub``, else a verified e-mail)
must match an existing, active admin account (``auth._admins.sso_login``). The answer is the
same short-lived admin token as ``POST /v1/admin/session``; the console (a later issue) will
keep it in its own session.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, Request
from joserfc.errors import JoseError
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response

import connectors
from auth import load_secret_key, sso_login, start_session
from gateway.console._session import signed_in_redirect, wants_html
from gateway.deps import get_hub
from gateway.http._json import JSON
from hub import Settings, Unauthenticated, Unavailable

log = structlog.get_logger("rightshub.auth")

LOGIN_PATH = "/console/login/sso"
CALLBACK_PATH = "/console/login/sso/callback"


def sso_configured(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret)


def session_middleware(settings: Settings) -> Middleware:
    """Signed-cookie session holding the OIDC state and nonce between redirect and callback;
    its key is derived from the hub's secret key."""
    key = hmac.new(load_secret_key(settings), b"rightshub console session",
                   hashlib.sha256).hexdigest()
    return Middleware(
        SessionMiddleware, secret_key=key, session_cookie="rightshub_console",
        max_age=600, same_site="lax", https_only=settings.base_url.startswith("https://"),
    )


def sso_router(settings: Settings) -> APIRouter:
    # Imported only when SSO is configured: Authlib's client module pulls in its httpx
    # integration, which warns at import time.
    from authlib.integrations.starlette_client import OAuth, OAuthError

    assert settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret
    oauth = OAuth()
    issuer = settings.oidc_issuer.rstrip("/")
    oauth.register(
        "idp",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        # Discovery, the JWKS and the token call go through the outbound guard like every
        # other call out (the IdP's address must be public or in RIGHTSHUB_OUTBOUND_ALLOW).
        client_kwargs={
            "scope": settings.oidc_scopes,
            "transport": connectors.guarded_transport(
                connectors.OutboundPolicy.from_settings(settings),
                max_bytes=settings.outbound_max_token_bytes, shared=True),
            "follow_redirects": False, "trust_env": False,
        },
    )
    router = APIRouter(tags=["Console"], include_in_schema=True)

    @router.get(LOGIN_PATH, summary="Start OIDC single sign-on (redirect to the IdP)",
                status_code=302, response_class=Response)
    async def sso_login_start(request: Request) -> Response:
        client: Any = oauth.create_client("idp")
        redirect_uri = settings.base_url + CALLBACK_PATH
        try:
            response: Response = await client.authorize_redirect(request, redirect_uri)
        except (httpx.HTTPError, connectors.ConnectorError) as exc:  # discovery failed
            log.warning("sso_idp_unreachable", error_type=type(exc).__name__)
            raise Unavailable("Không kết nối được nhà cung cấp định danh.",
                              "The identity provider is unreachable.") from None
        return response

    @router.get(CALLBACK_PATH, summary="OIDC callback: an admin token for the mapped account "
                "(a browser gets the console's session instead)")
    async def sso_callback(request: Request) -> Response:
        client: Any = oauth.create_client("idp")
        try:
            token = await client.authorize_access_token(request)
        except (httpx.HTTPError, connectors.ConnectorError) as exc:
            log.warning("sso_idp_unreachable", error_type=type(exc).__name__)
            raise Unavailable("Không kết nối được nhà cung cấp định danh.",
                              "The identity provider is unreachable.") from None
        except (OAuthError, JoseError, ValueError, KeyError) as exc:
            # A forged or replayed state, an IdP error, a bad ID token (signature, issuer,
            # audience, nonce, expiry): the same 401, the reason logged (no token in it).
            log.info("sso_rejected", error_type=type(exc).__name__,
                     error=str(getattr(exc, "error", "")) or None)
            raise Unauthenticated("Đăng nhập SSO không thành công.", "SSO login failed.") from None
        info = token.get("userinfo") or {}
        subject = str(info.get("sub") or "")
        email = info.get("email") if info.get("email_verified", True) else None
        if not subject:
            raise Unauthenticated("IdP không trả về định danh.", "The IdP returned no subject.")
        hub = await get_hub(request)
        admin = await sso_login(hub, subject=subject, email=email)
        if wants_html(request):  # a browser: the console's own session, then its pages
            return await signed_in_redirect(request, hub, admin.username)
        issued = await start_session(hub, admin)
        return JSON({**issued.as_response(), "username": admin.username, "role": admin.role,
                     "agency": admin.agency}, headers={"Cache-Control": "no-store"})

    return router
