"""Outbound HTTP to addresses agencies choose (webhook receivers), guarded against SSRF.

A webhook URL is chosen by an agency, so without a guard it points the server at whatever
the server can reach and the agency cannot: the cloud metadata service (169.254.169.254),
the database, an admin port on loopback, the agency next door's intranet. The guard:

* only ``http`` and ``https``;
* the host is resolved, and **every** address it resolves to must be public
  (``ipaddress``'s ``is_global``: not loopback, private, link-local — which holds the
  metadata address —, shared/CGNAT, reserved, multicast or unspecified; IPv4-mapped IPv6 is
  judged as the IPv4 address) unless it lies in ``BANGKOM_OUTBOUND_ALLOWED_NETWORKS``
  (tests allow ``127.0.0.1/32``);
* the connection goes to the address that was checked (the URL's host is replaced by it;
  ``Host`` and TLS SNI/certificate checks keep the name), so a name that resolves to a
  public address for the check and to 10.0.0.1 a moment later (DNS rebinding) cannot slip
  through;
* redirects are never followed (a 3xx is an answer like any other).

``check_url`` is the same decision for the API (refuse a subscription at once, with the
reason); the transport decides again at every connection, because DNS changes. Both take a
``resolver`` so tests decide what a name resolves to without sending a packet.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable
from functools import lru_cache

import httpx

from app.core.config import get_settings
from app.core.errors import ProblemError

Resolver = Callable[[str, int], list[str]]  # (host, port) -> addresses, blocking
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_REASONS = {
    "scheme": (
        "Only http and https URLs can receive webhooks; use an http(s) URL.",
        "Hanya URL http dan https yang dapat menerima webhook; gunakan URL http(s).",
    ),
    "host": (
        "The URL has no host name; give the full URL of your receiver.",
        "URL tidak memiliki nama host; berikan URL lengkap penerima Anda.",
    ),
    "address": (
        "The URL points to a loopback, private, link-local or reserved address, which "
        "Bangkom does not call; use a public address of your receiver.",
        "URL mengarah ke alamat loopback, privat, link-local, atau cadangan yang tidak "
        "dihubungi Bangkom; gunakan alamat publik penerima Anda.",
    ),
    "resolve": (
        "The URL's host name does not resolve to any address; check the host name.",
        "Nama host pada URL tidak mengarah ke alamat mana pun; periksa nama host tersebut.",
    ),
}


class DestinationRefused(httpx.TransportError):
    """The guard refused to connect; ``reason`` is one of scheme, host, address, resolve."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__(f"refused destination ({reason}): {url}")
        self.reason = reason
        self.url = url

    def problem(self, field: str = "url") -> ProblemError:
        """The 422 the API answers for a refused URL."""
        detail, detail_id = _REASONS[self.reason]
        return ProblemError(
            422,
            "destination_refused",
            detail,
            detail_id=detail_id,
            # the shape of every field error (loc, msg, type; msg_id under Accept-Language: id)
            errors=[
                {
                    "loc": ["body", field],
                    "msg": detail,
                    "msg_id": detail_id,
                    "type": f"destination_{self.reason}",
                }
            ],
        )


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in spec)


def allowed_networks() -> tuple[Network, ...]:
    return _networks(tuple(get_settings().outbound_allowed_networks))


# IPv6 forms that carry an IPv4 address: NAT64 (RFC 6052; a NAT64 gateway connects to
# the IPv4 address inside, 64:ff9b::10.0.0.1 reaches 10.0.0.1) and 6to4 (2002::/16) are
# judged as that IPv4 address; local-use NAT64 (RFC 8215) and the deprecated
# IPv4-compatible form (::/96) are never public. ``is_global`` says True for all of them.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NEVER_PUBLIC = (ipaddress.IPv6Network("64:ff9b:1::/48"), ipaddress.IPv6Network("::/96"))


def _judged(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address to judge: the IPv4 address inside an IPv6 form that carries one."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def address_allowed(address: str, allowed: Iterable[Network] = ()) -> bool:
    given = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    ip = _judged(given)
    if any(ip.version == net.version and ip in net for net in allowed):
        return True
    if isinstance(given, ipaddress.IPv6Address) and any(given in n for n in _NEVER_PUBLIC):
        return False
    return ip.is_global and not ip.is_multicast


def _target(url: httpx.URL) -> tuple[str, int]:
    if url.scheme not in ("http", "https"):
        raise DestinationRefused("scheme", str(url))
    if not url.host:
        raise DestinationRefused("host", str(url))
    return url.host, url.port or (443 if url.scheme == "https" else 80)


def checked_addresses(url: str | httpx.URL, *, resolver: Resolver | None = None) -> list[str]:
    """The addresses of ``url``'s host, all of them allowed; else DestinationRefused."""
    parsed = httpx.URL(url) if isinstance(url, str) else url
    host, port = _target(parsed)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = (resolver or system_resolver)(host, port)
        except OSError as exc:
            raise DestinationRefused("resolve", str(parsed)) from exc
    if not addresses:
        raise DestinationRefused("resolve", str(parsed))
    allowed = allowed_networks()
    if not all(address_allowed(a, allowed) for a in addresses):
        raise DestinationRefused("address", str(parsed))
    return addresses


def check_url(url: str, *, resolver: Resolver | None = None) -> None:
    """Raise DestinationRefused when the guard would refuse ``url`` now."""
    checked_addresses(url, resolver=resolver)


class GuardedTransport(httpx.AsyncBaseTransport):
    """Resolves, checks and pins every request's destination; see the module docstring."""

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._resolver = resolver
        self._inner = inner or httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        addresses = await asyncio.to_thread(checked_addresses, url, resolver=self._resolver)
        host = url.host
        request.url = url.copy_with(host=addresses[0])  # connect to what was checked
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def guarded_client(
    *,
    timeout: float = 10.0,
    resolver: Resolver | None = None,
    inner: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for agency-chosen URLs: guarded, never follows redirects, no proxies
    from the environment (a proxy would make the address check meaningless)."""
    return httpx.AsyncClient(
        transport=GuardedTransport(resolver=resolver, inner=inner),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
