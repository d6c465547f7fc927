"""The SSRF guard on tenant-registered webhook URLs: https only, and only to public addresses.

A URL is checked when it is registered and again before every attempt, after DNS resolution, and the
attempt then connects to the very address that was checked (so a name that re-resolves elsewhere between
the check and the connection — DNS rebinding — cannot reach an internal service). Hosts the operator names
in `[webhooks] allowed_hosts` skip the address check and may use plain http.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

__all__ = ["Target", "UnsafeUrlError", "check_target", "parse_target"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2048
# Named for the message only: every one of them is refused anyway as link-local, private or shared space.
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)


class UnsafeUrlError(Exception):
    """The URL may not receive webhooks; the message says why (shown to the tenant)."""


@dataclass(frozen=True)
class Target:
    url: httpx.URL
    host: str
    port: int
    trusted: bool  # named in allowed_hosts


def parse_target(url: str, allowed_hosts: Sequence[str]) -> Target:
    """Syntax and scheme checks, no I/O."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrlError(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise UnsafeUrlError("The URL is not valid.") from None
    host = parsed.host.lower()
    if not host or parsed.scheme not in ("https", "http"):
        raise UnsafeUrlError("The URL must be an absolute https:// URL.")
    if parsed.userinfo:
        raise UnsafeUrlError("The URL must not contain credentials.")
    trusted = host in {allowed.lower() for allowed in allowed_hosts}
    if parsed.scheme == "http" and not trusted:
        raise UnsafeUrlError("The URL must use https (plain http only for hosts the operator allows).")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return Target(url=parsed, host=host, port=port, trusted=trusted)


async def check_target(target: Target) -> IPAddress | None:
    """Resolve the host and refuse it unless every address is public; the address to connect to, or None
    for a trusted host (connected to by name)."""
    if target.trusted:
        return None
    addresses = await _resolve(target)
    for address in addresses:
        reason = _forbidden(address)
        if reason:
            message = f"The URL's host {target.host} resolves to {reason} address, which may not receive webhooks."
            raise UnsafeUrlError(message)
    return addresses[0]


async def _resolve(target: Target) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(target.host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrlError(f"The URL's host {target.host} does not resolve.") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeUrlError(f"The URL's host {target.host} does not resolve.")
    return addresses


def _forbidden(address: IPAddress) -> str | None:
    """Why an address is not public, or None. An IPv6 address that carries an IPv4 one (mapped, compatible,
    NAT64, 6to4, Teredo) is judged by that IPv4 address too: those reach it through a translator."""
    for candidate in (*_embedded_ipv4(address), address):
        if candidate in _METADATA:
            return "a cloud metadata"
        if candidate.is_loopback:
            return "a loopback"
        if candidate.is_link_local:
            return "a link-local"
        if candidate.is_private:
            return "a private"
        if not candidate.is_global or candidate.is_multicast:
            return "a non-public"
    return None


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [a for a in (address.ipv4_mapped, address.sixtofour, address.teredo and address.teredo[0]) if a]
    compatible = address in _IPV4_COMPATIBLE and int(address) > 1  # `::` and `::1` are IPv6's own
    if compatible or any(address in network for network in _NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found
