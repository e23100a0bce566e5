"""The client's IP: the socket's address, unless the socket is a trusted proxy."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


@lru_cache(maxsize=4096)
def normalise_ip(raw: str) -> str | None:
    """Canonical text; IPv4-mapped IPv6 becomes IPv4 and IPv6 collapses to its /64, so
    rewriting one address or rotating within a subnet does not escape a rate limit."""
    try:
        ip = ipaddress.ip_address(raw.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _trusted(raw: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(raw.strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in proxies)


def client_ip(peer: str | None, forwarded_for: str | None, proxies: tuple[Network, ...]) -> str:
    """Walk X-Forwarded-For right to left past trusted proxies; ignore it from anyone else."""
    if not peer:
        return "unknown"
    if not proxies or not forwarded_for or not _trusted(peer, proxies):
        return normalise_ip(peer) or "unknown"
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return normalise_ip(hop) or "unknown"
    return normalise_ip(hops[0]) if hops else normalise_ip(peer) or "unknown"
