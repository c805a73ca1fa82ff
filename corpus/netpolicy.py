"""Which addresses the crawler may connect to: public ones only, unless told otherwise.

A crawled page can link or redirect to `127.0.0.1`, a cloud metadata service at
`169.254.169.254`, or an intranet name; fetching those would put internal content into a
public search index. The check runs where the socket is opened: httpx's network backend is
wrapped so that each new connection resolves the host, refuses it if any of its addresses is
internal, and connects to the address it checked (TLS still verifies the certificate against
the host name), so a DNS answer that changes between check and connection cannot slip past
it. The transport checks each request's host too, before any connection is looked for; every
redirect hop is a new request, so it is checked again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
SocketOption = tuple[Any, ...]


class BlockedAddress(httpx.TransportError):
    """The request would reach an address the network policy forbids."""


def address_problem(ip: Address) -> str:
    """The kind of internal address ip is ('loopback', 'private'...), '' for a public one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return address_problem(ip.ipv4_mapped)
    # Order matters: 127.0.0.1 is also "private" to the ipaddress module.
    for name, flag in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                       ("multicast", ip.is_multicast), ("unspecified", ip.is_unspecified),
                       ("reserved", ip.is_reserved), ("private", ip.is_private)):
        if flag:
            return name
    if not ip.is_global:  # shared address space (100.64/10) and the like
        return "non-public"
    return ""


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[Address]:
    """Every address host resolves to (an IP literal resolves to itself)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from exc
    seen: list[Address] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in seen:
            seen.append(ip)
    return seen


async def checked_address(host: str, port: int) -> Address:
    """The address to connect to, after every address of host passed the policy."""
    addresses = await resolve(host, port)
    if not addresses:
        raise httpx.ConnectError(f"{host} has no address")
    for ip in addresses:
        problem = address_problem(ip)
        if problem:
            shown = host if str(ip) == host.strip("[]") else f"{host} ({ip})"
            raise BlockedAddress(f"{problem} address {shown} refused: use --allow-private "
                                 "(VIKO_CRAWL_ALLOW_PRIVATE=1) for an intranet crawl")
    return addresses[0]


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to checked, public addresses."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[SocketOption] | None = None) -> httpcore.AsyncNetworkStream:
        ip = await checked_address(host, port)
        return await self._inner.connect_tcp(str(ip), port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[SocketOption] | None = None) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress(f"unix socket {path} refused")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PublicOnlyTransport(httpx.AsyncBaseTransport):
    """Wraps a transport: a request to an internal host is refused before it is sent, and the
    default transport's connections go through PublicOnlyBackend."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        if inner is None:
            inner = httpx.AsyncHTTPTransport()
            pool = getattr(inner, "_pool", None)
            backend = getattr(pool, "_network_backend", None)
            if backend is None:  # httpcore changed: fail closed rather than crawl unchecked
                raise RuntimeError("cannot install the crawler's address check in this httpcore version")
            pool._network_backend = PublicOnlyBackend(backend)  # type: ignore[union-attr]
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        await checked_address(host, request.url.port or (443 if request.url.scheme == "https" else 80))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
