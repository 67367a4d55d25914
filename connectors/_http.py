"""Outbound HTTP: the httpx client of a connector, its authenticators and the retry policy.

Errors are translated in one place (:func:`classify`): transport errors, 429 and 502/503/504
are retried (tenacity, jittered exponential back-off, ``Retry-After`` honoured, bounded by
attempts and a deadline); any other 4xx or 5xx is fatal for the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from connectors._config import AuthConfig, HttpOptions, RetryPolicy, Secrets
from connectors._errors import ConnectorError
from connectors._outbound import (
    OriginBoundAuth,
    OutboundPolicy,
    guarded_client,
    guarded_transport,
    sanitized_excerpt,
)
from hub import HubError

# 500 too, but only ``RetryPolicy.server_error_attempts`` times (``with_retries``).
RETRIABLE_STATUS = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "RightsHub-connector/1"
# private_key_jwt assertions the connectors sign (RFC 7523): one per token request.
ASSERTION_LIFETIME_SECONDS = 120
T = TypeVar("T")


class RetriableStatus(ConnectorError):
    """429, 500 or 502/503/504: worth another try, after ``retry_after`` seconds if the server
    said so (RFC 9110 §10.2.3)."""

    def __init__(self, status: int, url: str, retry_after: float | None) -> None:
        super().__init__(
            f"Hệ thống cơ quan trả lời {status} cho {url}.",
            f"The agency system answered {status} for {url}.", retriable=True,
        )
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify(response: httpx.Response) -> None:
    """Raise for a response that is not a success: retriable or fatal."""
    if response.is_success:
        return
    url = str(response.request.url.copy_with(query=None))
    if response.status_code in RETRIABLE_STATUS:
        raise RetriableStatus(
            response.status_code, url, retry_after_seconds(response.headers.get("retry-after"))
        )
    # Never the answer itself: a short, sanitised excerpt (it may be another system's).
    excerpt = sanitized_excerpt(response)
    tail = f": {excerpt}" if excerpt else ""
    raise ConnectorError(
        f"Hệ thống cơ quan trả lời {response.status_code} cho {url}{tail}",
        f"The agency system answered {response.status_code} for {url}{tail}",
    )


def _is_retriable(exc: BaseException) -> bool:
    if isinstance(exc, ConnectorError):
        return exc.retriable
    return isinstance(exc, httpx.TransportError)


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(multiplier=policy.initial_seconds, max=policy.max_seconds)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetriableStatus) and exc.retry_after is not None:
            # Never sooner than asked (a longer wait than the cap stops instead: _stop).
            return exc.retry_after
        return float(backoff(state))

    return wait


def _stop(policy: RetryPolicy) -> Callable[[RetryCallState], bool]:
    bounded = stop_after_attempt(policy.attempts) | stop_after_delay(policy.deadline_seconds)
    server_errors = 0

    def stop(state: RetryCallState) -> bool:
        nonlocal server_errors
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetriableStatus):
            if exc.retry_after is not None and exc.retry_after > policy.max_retry_after_seconds:
                return True
            if exc.status == 500:
                server_errors += 1
                if server_errors >= policy.server_error_attempts:
                    return True
        return bool(bounded(state))

    return stop


async def with_retries(
    policy: RetryPolicy,
    call: Callable[[], Awaitable[T]],
    *,
    on_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """``call()`` under the policy; the last error is raised when it gives up."""

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            exc = state.outcome.exception()
            if exc is not None:
                on_retry(exc)

    retrying = AsyncRetrying(
        retry=retry_if_exception(_is_retriable),
        wait=_wait(policy),
        stop=_stop(policy),
        before_sleep=before_sleep,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable")  # reraise=True raises the last error


@dataclass(frozen=True, slots=True)
class Outbound:
    """Where a connector may go and how much it may read: the hub's guard settings."""

    policy: OutboundPolicy
    max_page_bytes: int
    max_token_bytes: int

    @classmethod
    def of(cls, settings: Any) -> Outbound:
        return cls(OutboundPolicy.from_settings(settings), settings.outbound_max_page_bytes,
                   settings.outbound_max_token_bytes)


def make_client(base_url: str, options: HttpOptions, auth: httpx.Auth | None,
                outbound: Outbound) -> httpx.AsyncClient:
    """The connector's client, through the outbound guard: explicit timeouts and connection
    limits, no redirects (a redirect is an error the admin should see), pages capped, and
    the credentials bound to ``base_url``'s origin."""
    return guarded_client(
        outbound.policy, max_bytes=outbound.max_page_bytes,
        base_url=base_url,
        auth=OriginBoundAuth(auth, base_url) if auth is not None else None,
        timeout=httpx.Timeout(connect=options.connect_timeout, read=options.read_timeout,
                              write=options.write_timeout, pool=options.pool_timeout),
        limits=httpx.Limits(max_connections=options.max_connections,
                            max_keepalive_connections=options.max_keepalive),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
    )


class ApiKeyAuth(httpx.Auth):
    def __init__(self, header: str, key: str) -> None:
        self._header = header
        self._key = key

    def __repr__(self) -> str:  # never the key
        return f"ApiKeyAuth(header={self._header!r})"

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers[self._header] = self._key
        yield request



def authlib_oauth2_client() -> Any:
    """Authlib's ``AsyncOAuth2Client``, imported on first use and quietly: importing Authlib's
    httpx integration warns about its own deprecation (it asks for httpx2, whose transports
    our outbound guard does not provide), which a ``-W error`` run would turn into a failed
    token request. The pull connectors and the subscription deliveries both get it here."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from authlib.integrations.httpx_client import AsyncOAuth2Client

    return AsyncOAuth2Client

class OAuth2ClientCredentials(httpx.Auth):
    """OAuth2 client credentials (RFC 6749 §4.4) at the agency's own token endpoint, through
    Authlib's ``AsyncOAuth2Client``: client_secret_basic, client_secret_post or
    private_key_jwt (RFC 7523). The token is cached, fetched again ``refresh_margin`` seconds
    before it expires, and once more when the API answers 401 (revoked or rotated early)."""

    requires_response_body = False

    def __init__(self, config: AuthConfig, secrets: Secrets, token_url: str,
                 options: HttpOptions, policy: RetryPolicy, outbound: Outbound) -> None:
        self._outbound = outbound
        self._config = config
        self._secrets = secrets
        self._token_url = token_url
        self._options = options
        self._policy = policy
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(client_id={self._config.client_id!r})"

    def _oauth_client(self) -> Any:
        AsyncOAuth2Client = authlib_oauth2_client()
        config = self._config
        timeout = httpx.Timeout(connect=self._options.connect_timeout,
                                read=self._options.read_timeout,
                                write=self._options.write_timeout,
                                pool=self._options.pool_timeout)
        # Authlib builds its own client: it gets the guard's transport (token answers capped).
        transport = guarded_transport(self._outbound.policy,
                                      max_bytes=self._outbound.max_token_bytes)
        if config.method == "private_key_jwt":
            from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign

            class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
                # Authlib signs assertions valid for an hour; a RightsHub token endpoint
                # (and most servers) accept a few minutes at most.
                def sign(self, auth: Any, token_endpoint: str) -> Any:
                    return private_key_jwt_sign(
                        auth.client_secret, client_id=auth.client_id,
                        token_endpoint=token_endpoint, alg=self.alg,
                        expires_in=ASSERTION_LIFETIME_SECONDS,
                    )

            if self._secrets.private_key is None:
                raise ConnectorError("Thiếu khoá riêng (private_key) cho private_key_jwt.",
                                     "private_key_jwt needs the private_key secret.")
            key = _private_key(self._secrets.private_key.get_secret_value())
            return AsyncOAuth2Client(
                client_id=config.client_id,
                client_secret=key,
                token_endpoint_auth_method=ShortLivedPrivateKeyJWT(
                    config.audience or self._token_url, alg=_signing_alg(key)
                ),
                scope=config.scope, timeout=timeout,
                transport=transport, follow_redirects=False, trust_env=False,
            )
        secret = self._secrets.client_secret
        if secret is None:
            raise ConnectorError("Thiếu client_secret.", "The client_secret secret is missing.")
        return AsyncOAuth2Client(
            client_id=config.client_id, client_secret=secret.get_secret_value(),
            token_endpoint_auth_method=config.method, scope=config.scope, timeout=timeout,
            transport=transport, follow_redirects=False, trust_env=False,
        )

    async def _fetch(self) -> None:
        async def fetch() -> dict[str, Any]:
            async with self._oauth_client() as client:
                # Seen before Authlib parses the answer: 429/5xx become retriable errors.
                client.register_compliance_hook("access_token_response", _token_response)
                try:
                    token: dict[str, Any] = await client.fetch_token(
                        self._token_url, grant_type="client_credentials"
                    )
                except (httpx.TransportError, ConnectorError):
                    raise
                except Exception as exc:  # Authlib's OAuthError (invalid_client...) and such
                    raise ConnectorError(
                        f"Không lấy được token OAuth2: {exc}", f"No OAuth2 token: {exc}"
                    ) from None
                return token

        token = await with_retries(self._policy, fetch)
        self.fetches += 1
        self._token = str(token["access_token"])
        expires_in = float(token.get("expires_in") or 300)
        self._expires_at = time.monotonic() + expires_in

    async def _ensure(self, *, force: bool = False, stale: str | None = None) -> str:
        async with self._lock:
            expiring = time.monotonic() >= self._expires_at - self._config.refresh_margin_seconds
            # ``stale``: another request already replaced the token that got the 401.
            if self._token is None or expiring or (force and self._token == stale):
                await self._fetch()
            assert self._token is not None
            return self._token

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._ensure()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = await self._ensure(force=True, stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


def _token_response(response: httpx.Response) -> httpx.Response:
    if response.status_code in RETRIABLE_STATUS or response.status_code >= 500:
        classify(response)
    return response


def _signing_alg(key: Any) -> str:
    """The JWS algorithm that fits the key (RFC 7518 §3.1): ES256/384/512 for EC curves,
    EdDSA for OKP, RS256 for RSA."""
    if key.key_type == "EC":
        return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}.get(
            str(key.as_dict().get("crv")), "ES256")
    if key.key_type == "OKP":
        return "EdDSA"
    return "RS256"


def _private_key(text: str) -> Any:
    """A private key from PEM or from a JWK in JSON, as a joserfc key (RSA, EC or OKP)."""
    import json

    from joserfc.jwk import ECKey, OKPKey, RSAKey

    text = text.strip()
    data: Any = json.loads(text) if text.startswith("{") else text
    kinds: dict[str, Any] = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}
    if isinstance(data, dict):
        kind = kinds.get(str(data.get("kty")))
        candidates = [kind] if kind else []
    else:
        candidates = list(kinds.values())
    for cls in candidates:
        try:
            return cls.import_key(data)
        except Exception:
            continue
    raise ConnectorError("Khoá riêng không đọc được (PEM hoặc JWK RSA, EC, OKP).",
                         "The private key cannot be read (PEM or JWK: RSA, EC, OKP).")


def build_auth(config: AuthConfig, secrets: Secrets, base_url: str, options: HttpOptions,
               policy: RetryPolicy, outbound: Outbound) -> httpx.Auth | None:
    if config.type == "api_key":
        if secrets.api_key is None:
            raise ConnectorError("Thiếu API key.", "The api_key secret is missing.")
        return ApiKeyAuth(config.header, secrets.api_key.get_secret_value())
    if config.type == "oauth2":
        token_url = (config.token_path if config.token_path.startswith(("http://", "https://"))
                     else base_url + "/" + config.token_path.lstrip("/"))
        return OAuth2ClientCredentials(config, secrets, token_url, options, policy, outbound)
    return None


class UpstreamFailed(HubError):
    """The agency system could not be reached or refused us (for the admin API: 502)."""

    status = 502
    type_slug = "upstream-failed"
    title_vi = "Hệ thống của cơ quan không trả lời đúng"
    title_en = "The agency system failed"

    @classmethod
    def of(cls, exc: BaseException) -> UpstreamFailed:
        if isinstance(exc, ConnectorError):
            return cls(exc.message_vi, exc.message_en)
        return cls(f"Lỗi mạng: {type(exc).__name__}", f"Network error: {type(exc).__name__}")
