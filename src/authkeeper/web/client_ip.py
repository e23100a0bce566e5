"""The client's IP: the socket's address, unless the socket is a trusted proxy; then the
address the trusted proxies saw, read from the proxy headers as the proxies wrote them."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import HTTPConnection

from ..core.models import ClientInfo

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(items: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def _address(raw: str) -> Address | None:
    """One address (``[...]`` brackets and an IPv6 zone allowed); IPv4-mapped IPv6 as IPv4."""
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]  # the zone of a link-local address names no other host
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _hop(item: str) -> Address | None:
    """One entry of a proxy header: an address, perhaps with the port some proxies add
    (``203.0.113.5:4711``, ``[2001:db8::1]:4711``)."""
    text = item.strip()
    if text.startswith("["):
        end = text.find("]")
        port = text[end + 1 :]
        if end < 0 or (port and not (port[:1] == ":" and port[1:].isascii() and port[1:].isdigit())):
            return None
        text = text[: end + 1]
    elif text.count(":") == 1:
        text, _, port = text.partition(":")
        if not (port.isascii() and port.isdigit()):
            return None
    return _address(text)


def _canonical(ip: Address) -> str:
    """IPv6 collapses to its /64, so rotating within a subnet does not escape a rate limit."""
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@lru_cache(maxsize=4096)
def normalise_ip(raw: str) -> str | None:
    """Canonical text; IPv4-mapped IPv6 becomes IPv4 and IPv6 collapses to its /64, so
    rewriting one address or rotating within a subnet does not escape a rate limit."""
    ip = _address(raw)
    return _canonical(ip) if ip is not None else None


def _trusted(ip: Address, proxies: tuple[Network, ...]) -> bool:
    return any(ip in net for net in proxies)


def client_ip(peer: str | None, forwarded: str | Sequence[str] | None, proxies: tuple[Network, ...]) -> str:
    """The client's address, canonical (see :func:`normalise_ip`).

    ``forwarded`` holds every line of the proxy header, in order (or one line). It is read
    only when the socket's address is a trusted proxy: then the entries of all lines are
    walked from the right, past trusted proxies, and the first address that is not one is
    the client (each proxy appends the address it saw, so entries to the left of that are
    the client's own and never believed). An entry that is not an address stops the walk:
    the client is then the last trusted hop reached, the nearest address the trusted chain
    vouches for, never a value the client chose. Every entry trusted: the leftmost one.
    """
    if not peer:
        return "unknown"
    peer_ip = _address(peer)
    if peer_ip is None:
        return "unknown"
    if not proxies or not forwarded or not _trusted(peer_ip, proxies):
        return _canonical(peer_ip)
    lines = [forwarded] if isinstance(forwarded, str) else forwarded
    hops = [item for line in lines for item in line.split(",")]
    last = peer_ip
    for item in reversed(hops):
        ip = _hop(item)
        if ip is None:
            break
        if not _trusted(ip, proxies):
            return _canonical(ip)
        last = ip
    return _canonical(last)


def client_info(request: HTTPConnection, proxies: tuple[Network, ...], proxy_headers: Sequence[str]) -> ClientInfo:
    """Who sends ``request``: the client's address (see :func:`client_ip`) and user agent.

    Every line of the first proxy header present, in order: a proxy appends its own line (or
    entry), and the client's own lines come first. Read only with trusted proxies."""
    headers = request.headers
    peer = request.scope["client"][0] if request.scope.get("client") else None
    forwarded: list[str] = []
    if proxies:
        forwarded = next((lines for name in proxy_headers if (lines := headers.getlist(name))), [])
    return ClientInfo(ip=client_ip(peer, forwarded, proxies), user_agent=headers.get("user-agent", "")[:512])
