"""The one outbound guard: every call the hub makes to another system goes through here.

Pull connectors, hub-to-hub feeds, subscription deliveries, the OAuth2 token calls of both
and OIDC discovery all take their ``httpx`` client from :func:`guarded_client`. The guard:

1. **Normalises the address.** A host is parsed with :mod:`ipaddress` and with the BSD forms
   ``inet_aton`` accepts (``2130706433``, ``0x7f.1``, ``127.1``); an IPv6 address that embeds
   an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible, NAT64 ``64:ff9b::/96``,
   6to4 ``2002::/16``, Teredo ``2001::/32``) is judged by the IPv4 address as well.
2. **Resolves the name once and refuses every non-global address**: loopback, private,
   link-local (cloud metadata at 169.254.169.254), CGNAT, multicast, reserved, unspecified,
   site-local and anything else :mod:`ipaddress` does not call global.
3. **Connects to the address it checked** (a custom ``httpcore`` network backend), so a
   second DNS answer (rebinding) never decides where the bytes go. TLS still verifies the
   certificate against the URL's host name.
4. **Never follows redirects** (each client has ``follow_redirects=False``; a 3xx is an
   error the admin sees) and **caps every answer** (bytes per page, per token answer, per
   delivery answer): a larger body ends with :class:`ResponseTooLarge`.

``RIGHTSHUB_OUTBOUND_ALLOW`` (``Settings.outbound_allow``) is the only way to reach a refused
address: CIDRs (any port) or ``host:port`` entries, set in the hub's own configuration by
whoever runs the hub, never by an agency admin through the API. ``make run`` allows exactly
its demo simulator. The rule is the same in every environment.

Credentials are bound to their origin: :class:`OriginBoundAuth` adds them only to requests
for the origin they were configured for, whatever URL a page or a link names.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import ssl
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from connectors._errors import ConnectorError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")

KIB = 1024
MIB = 1024 * KIB


class OutboundRefused(ConnectorError):
    """The guard refused a destination (never retried); ``reason_*`` say why."""

    def __init__(self, host: str, reason_vi: str, reason_en: str) -> None:
        super().__init__(
            f"Hub không được gọi tới {host}: {reason_vi}. Quản trị hub có thể cho phép địa "
            "chỉ này bằng RIGHTSHUB_OUTBOUND_ALLOW.",
            f"The hub may not call {host}: {reason_en}. The hub's administrator can allow "
            "it with RIGHTSHUB_OUTBOUND_ALLOW.",
        )
        self.host = host
        self.reason_vi = reason_vi
        self.reason_en = reason_en


class Unresolved(OutboundRefused):
    """The name has no address now (DNS down, a typo): retried like a network error."""

    def __init__(self, host: str, reason_vi: str, reason_en: str) -> None:
        super().__init__(host, reason_vi, reason_en)
        self.retriable = True


class ResponseTooLarge(ConnectorError):
    """An upstream answer went past its cap (never retried: it would be as large again)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Câu trả lời của hệ thống bên kia vượt quá giới hạn {limit} byte.",
            f"The other system's answer is larger than the {limit}-byte limit.",
        )
        self.limit = limit


# --- addresses ------------------------------------------------------------------------------


def parse_host(host: str) -> IPAddress | None:
    """The address a URL host literally names, or None for a name to resolve. Accepts every
    spelling a resolver would: brackets, zone ids, and the BSD IPv4 forms."""
    text = host.strip().strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    # inet_aton takes what getaddrinfo takes: 2130706433, 0x7f000001, 0177.1, 127.1.
    if re.fullmatch(r"[0-9a-fA-FxX.]+", text) and re.match(r"[0-9]", text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in net for net in _NAT64) or (
        address in _IPV4_COMPATIBLE and int(address) > 1
    ):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


_REASONS: tuple[tuple[str, str, str], ...] = (
    ("is_unspecified", "địa chỉ không xác định", "an unspecified address"),
    ("is_loopback", "địa chỉ loopback (chính máy chủ hub)", "a loopback address (the hub itself)"),
    ("is_link_local", "địa chỉ link-local (như dịch vụ metadata của máy chủ đám mây)",
     "a link-local address (such as a cloud metadata service)"),
    ("is_multicast", "địa chỉ multicast", "a multicast address"),
    ("is_private", "mạng nội bộ (private)", "a private network"),
    ("is_reserved", "dải địa chỉ dành riêng", "a reserved range"),
    ("is_site_local", "địa chỉ site-local", "a site-local address"),
)


def refusal_reason(address: IPAddress) -> tuple[str, str] | None:
    """(Vietnamese, English) reason the address is not a public one, or None."""
    # The embedded IPv4 address first: it says where the packets really go.
    for candidate in (embedded_ipv4(address), address):
        if candidate is None:
            continue
        for attribute, vi, en in _REASONS:
            if getattr(candidate, attribute, False):
                return vi, en
        if isinstance(candidate, ipaddress.IPv4Address) and candidate in _CGNAT:
            return "mạng CGNAT (100.64.0.0/10)", "a CGNAT network (100.64.0.0/10)"
        if not candidate.is_global:
            return "không phải địa chỉ công cộng", "not a public address"
    return None


# --- the policy -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _HostPort:
    host: str  # a lower-case name, or an address's compressed text
    port: int


def _allow_entry(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | _HostPort:
    text = entry.strip()
    host_port = re.fullmatch(r"\[?([^\[\]]+?)\]?:(\d{1,5})", text)
    if host_port and (text.startswith("[") or text.count(":") == 1):
        host, port = host_port.group(1), int(host_port.group(2))
        if not 0 < port < 65536:
            raise ValueError(f"outbound_allow: bad port in {entry!r}")
        address = parse_host(host)
        return _HostPort(address.compressed if address else host.lower(), port)
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(
            f"outbound_allow: {entry!r} is neither a CIDR nor host:port"
        ) from None


def check_allow_list(entries: Iterable[str]) -> None:
    """Raise ValueError naming the first entry that is not a CIDR or host:port."""
    for entry in entries:
        _allow_entry(entry)


Resolver = Any  # async (host, port) -> list of address strings


async def _system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    )
    return [str(info[4][0]) for info in infos]


class OutboundPolicy:
    """Which destinations the hub may call: public addresses, and what the allow-list adds."""

    def __init__(self, allow: Sequence[str] = (), *, resolver: Resolver | None = None) -> None:
        self._networks = []
        self._host_ports = set()
        for entry in allow:
            parsed = _allow_entry(entry)
            if isinstance(parsed, _HostPort):
                self._host_ports.add(parsed)
            else:
                self._networks.append(parsed)
        self._resolve = resolver or _system_resolve

    @classmethod
    def from_settings(cls, settings: Any) -> OutboundPolicy:
        return cls(tuple(getattr(settings, "outbound_allow", ()) or ()))

    def allowed(self, address: IPAddress, port: int, name: str | None = None) -> bool:
        unwrapped = embedded_ipv4(address)
        for candidate in (address, unwrapped):
            if candidate is None:
                continue
            if any(candidate.version == net.version and candidate in net
                   for net in self._networks):
                return True
            if _HostPort(candidate.compressed, port) in self._host_ports:
                return True
        return name is not None and _HostPort(name.lower(), port) in self._host_ports

    def check_address(self, address: IPAddress, port: int, name: str | None = None,
                      *, shown: str | None = None) -> None:
        if self.allowed(address, port, name):
            return
        reason = refusal_reason(address)
        if reason is not None:
            raise OutboundRefused(shown or name or address.compressed, *reason)

    async def resolve(self, host: str, port: int) -> str:
        """The checked address to connect to for ``host:port``; one lookup, no second."""
        literal = parse_host(host)
        if literal is not None:
            self.check_address(literal, port, shown=host)
            return _connectable(literal)
        try:
            found = await self._resolve(host, port)
        except OSError as exc:
            raise Unresolved(host, f"không phân giải được tên ({exc})",
                             f"the name does not resolve ({exc})") from None
        refused: OutboundRefused | None = None
        for text in found:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            try:
                self.check_address(address, port, host)
            except OutboundRefused as exc:
                refused = refused or exc
                continue
            return _connectable(address)
        raise refused or OutboundRefused(host, "tên không có địa chỉ", "the name has no address")

    async def check_url(self, url: str) -> None:
        """Resolve and check a URL's host now (a configuration check at save time); the
        connection checks again, and only that check decides. A name that does not resolve
        yet passes here (the run will say so)."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise OutboundRefused(host, "cổng không hợp lệ", "the port is invalid") from None
        try:
            await self.resolve(host, port)
        except Unresolved:
            return


def _connectable(address: IPAddress) -> str:
    # The IPv4 address itself when the IPv6 form only wraps it: that is where the kernel
    # would send an IPv4-mapped connection anyway, and what was checked.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


# --- the transport --------------------------------------------------------------------------


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the check between resolution and connection."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self._policy.resolve(host, port)
        return await self._inner.connect_tcp(address, port, timeout=timeout,
                                             local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused(path, "không dùng socket unix", "unix sockets are not used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._limit:
                raise ResponseTooLarge(self._limit)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


@functools.cache
def _ssl_context(verify: bool) -> ssl.SSLContext:
    """One context per process: building one loads the CA bundle (~10 ms of CPU), and every
    connector run, token call and delivery makes a client (8 % of a 34-province pull's CPU
    went there). A context is safe to share between connections."""
    return httpx.create_ssl_context(verify=verify, trust_env=False)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over :class:`GuardedBackend`, with answers capped at ``max_bytes``
    (counted as the body is read)."""

    def __init__(self, policy: OutboundPolicy, *, max_bytes: int,
                 limits: httpx.Limits = httpx.Limits(), verify: Any = True) -> None:
        context = _ssl_context(verify) if isinstance(verify, bool) else verify
        super().__init__(limits=limits, verify=context, trust_env=False)
        # httpx takes no network backend; its pool is rebuilt with the same options and ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )
        self.max_bytes = max_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        # Counted as it is read, not judged by Content-Length: a length is a promise, and a
        # cut answer must stay a (retriable) network error.
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _CappedStream(response.stream, self.max_bytes)
        return response


def guarded_client(policy: OutboundPolicy, *, max_bytes: int,
                   limits: httpx.Limits | None = None, **kwargs: Any) -> httpx.AsyncClient:
    """The only way the hub makes an ``httpx`` client for calls out: guarded transport,
    no redirects, no proxies from the environment."""
    if "transport" in kwargs or "follow_redirects" in kwargs:
        raise TypeError("the guard sets the transport and refuses redirects itself")
    transport = GuardedTransport(policy, max_bytes=max_bytes, limits=limits or httpx.Limits())
    return httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False,
                             **kwargs)


class _SharedTransport(GuardedTransport):
    async def aclose(self) -> None:
        """Kept open: a library closes each short-lived client it makes around it."""


def guarded_transport(policy: OutboundPolicy, *, max_bytes: int,
                      shared: bool = False) -> GuardedTransport:
    """For libraries that build their own client (Authlib): pass as ``transport=``.
    ``shared``: one transport for every client the library makes (Authlib's Starlette
    integration makes one per call from the same keyword arguments); it outlives them."""
    cls = _SharedTransport if shared else GuardedTransport
    return cls(policy, max_bytes=max_bytes)


# --- origins --------------------------------------------------------------------------------


def origin_of(url: str | httpx.URL) -> tuple[str, str, int]:
    """(scheme, host, port) with the default port filled in: what credentials are bound to."""
    parsed = httpx.URL(str(url))
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.scheme, parsed.host.lower(), port


def same_origin(url: str | httpx.URL, base: str | httpx.URL) -> bool:
    return origin_of(url) == origin_of(base)


class OriginBoundAuth(httpx.Auth):
    """Wraps an authenticator: it runs only for requests to ``origin``; any other request
    goes out with no credentials (and the connectors refuse to make one anyway)."""

    def __init__(self, inner: httpx.Auth, origin: str) -> None:
        self.inner = inner
        self._origin = origin_of(origin)
        self.requires_request_body = inner.requires_request_body
        self.requires_response_body = inner.requires_response_body

    def __repr__(self) -> str:
        return f"OriginBoundAuth({self.inner!r}, {self._origin})"

    def sync_auth_flow(self, request: httpx.Request) -> Any:
        raise RuntimeError("the hub's outbound clients are asynchronous")

    async def async_auth_flow(self, request: httpx.Request) -> Any:
        if origin_of(request.url) != self._origin:
            yield request
            return
        flow = self.inner.async_auth_flow(request)
        response = None
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return


# --- what comes back to a caller ------------------------------------------------------------

_TOKENISH = re.compile(r"[A-Za-z0-9_\-+/=.]{24,}")
EXCERPT_CHARS = 120


def sanitized_excerpt(response: httpx.Response) -> str:
    """A short, printable excerpt of an upstream answer for an admin's error message: text
    types only, control characters dropped, long token-like strings masked."""
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (media.startswith("text/") or media.endswith(("json", "xml"))):
        return ""
    try:
        text = response.text
    except Exception:  # an unread stream or an unknown charset: say nothing
        return ""
    text = "".join(ch if ch.isprintable() else " " for ch in text[: EXCERPT_CHARS * 4])
    text = _TOKENISH.sub("…", " ".join(text.split()))
    return text[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS else "")
