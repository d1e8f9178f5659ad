"""Who is asking: the client's address, with X-Forwarded-For believed only from our own proxies.

COP_PORTAL_TRUSTED_PROXIES lists the proxies in front of the portal (addresses or CIDRs, comma
separated, e.g. "10.0.0.0/24, 127.0.0.1"). A request from one of them is attributed to the address
its proxy saw: X-Forwarded-For read from the right, skipping trusted proxies, up to the first
address that is not one of ours (anything left of it was written by the client and proves nothing).
With no trusted proxies the header is ignored: the address is the connection's peer.
"""
from __future__ import annotations

import functools
import ipaddress
import os

TRUSTED_PROXIES_ENV = "COP_PORTAL_TRUSTED_PROXIES"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ProxySettingError(ValueError):
    """COP_PORTAL_TRUSTED_PROXIES holds something that is not an address or a CIDR."""


def trusted_proxies() -> tuple[Network, ...]:
    return _parse(os.environ.get(TRUSTED_PROXIES_ENV, ""))


@functools.lru_cache(maxsize=8)
def _parse(text: str) -> tuple[Network, ...]:
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ProxySettingError(f"{TRUSTED_PROXIES_ENV}: '{item}' is not an IP address or CIDR") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_trusted(address, proxies: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_address(peer: str | None, forwarded_for: list[str]) -> str:
    """The client's address from the connection's peer and the X-Forwarded-For header lines."""
    proxies = trusted_proxies()
    current = peer or "unknown"
    if not _is_trusted(_address(current), proxies):
        return current
    hops = [hop.strip() for line in forwarded_for for hop in line.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # garbage written by whoever our proxy heard from: stop at that proxy
            return current
        current = str(address)
        if not _is_trusted(address, proxies):
            return current
    return current
