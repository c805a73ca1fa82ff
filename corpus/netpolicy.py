"""Which addresses the crawler may connect to: public ones only, unless told otherwise.

A crawled page can link or redirect to `127.0.0.1`, a cloud metadata service at
`169.254.169.254`, or an intranet name; fetching those would put internal content into a
public search index. The check runs on the address actually connected to: the transport
resolves the host, refuses it if any of its addresses is internal, and then connects to the
address it checked (the TLS name and the Host header stay the original host), so a DNS
answer that changes between check and connection cannot slip past it. Every redirect hop is
a new request through the same transport, so it is checked again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


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


class PublicOnlyTransport(httpx.AsyncBaseTransport):
    """Wraps a transport: each request goes to a checked, public address of its host."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        ip = await checked_address(host, port)
        if str(ip) != host.strip("[]"):
            # Connect to the address just checked; TLS still verifies the certificate
            # against the host name, and the Host header (already set) names the site.
            request.url = request.url.copy_with(host=str(ip))
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
