"""The OAuth2 authorization server's endpoints: token (client credentials), RFC 8414
metadata and the JWKS. Unauthenticated by design, outside ``/v1``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

import auth
from gateway.deps import HubDep
from gateway.http._json import JSON

router = APIRouter(tags=["OAuth2"])


@router.post(
    auth.TOKEN_PATH,
    summary="Get an access token (OAuth2 client credentials grant)",
    description=(
        "`grant_type=client_credentials` as `application/x-www-form-urlencoded`, optional "
        "`scope`. Client authentication: `client_secret_basic` (HTTP Basic), "
        "`client_secret_post` (`client_id` and `client_secret` in the body) or "
        "`private_key_jwt` (`client_assertion_type=urn:ietf:params:oauth:client-assertion-"
        "type:jwt-bearer` and `client_assertion`, RFC 7523; each `jti` is accepted once). "
        "Answers an RFC 6749 §5.1 token response (the access token is an RFC 9068 JWT), or an "
        "RFC 6749 §5.2 error object."
    ),
    responses={
        200: {"description": "Token response (access_token, token_type, expires_in, scope)"},
        400: {"description": "invalid_request, invalid_scope, unsupported_grant_type, ..."},
        401: {"description": "invalid_client"},
    },
)
async def token(request: Request, hub: HubDep) -> Response:
    return await auth.token_endpoint(hub, request)


@router.get(auth.METADATA_PATH, summary="Authorization server metadata (RFC 8414)")
async def metadata(hub: HubDep) -> Response:
    return JSON(auth.server_metadata(hub.settings),
                headers={"Cache-Control": "public, max-age=300"})


@router.get(auth.JWKS_PATH, summary="Public keys that verify access tokens (JWKS)")
async def jwks(hub: HubDep) -> Response:
    # Short cache: a rotated key must be found soon (verifiers also refetch on unknown kid).
    return JSON(await auth.jwks(hub), headers={"Cache-Control": "public, max-age=60"})
