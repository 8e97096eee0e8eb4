"""The SSRF guard: webhooks go only to public addresses on the internet.

A URL is checked when it is registered and again at every connection, against the address the
connection actually uses, so a host name that later resolves somewhere private (DNS rebinding)
is refused too. The resolver is the system's (`getaddrinfo`), which also reads the numeric forms
that slip past a textual check (`0x7f000001`, `2130706433`, `127.1`): what is checked is the
address they mean.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

CGNAT = ipaddress.ip_network("100.64.0.0/10")


class ForbiddenAddress(ValueError):
    """The URL may not be called; the message says why."""


def why_forbidden(address: IPAddress) -> str | None:
    """The class of a non-public address, or None when the address is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        reason = why_forbidden(address.ipv4_mapped)
        return f"IPv4-mapped {reason}" if reason else None
    checks = (
        (address.is_unspecified, "unspecified address"),
        (address.is_loopback, "loopback address"),
        (address.is_link_local, "link-local address (cloud metadata among them)"),
        (address.is_multicast, "multicast address"),
        (address in CGNAT, "carrier-grade NAT address"),
        (address.is_reserved, "reserved address"),
        (address.is_private, "private address"),
        (not address.is_global, "address that is not globally reachable"),
    )
    return next((reason for forbidden, reason in checks if forbidden), None)


def parse_url(url: str, allow_private: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of a webhook URL, or ForbiddenAddress saying what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ForbiddenAddress(f"Not a URL: {error}.") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise ForbiddenAddress("Webhook URLs must use HTTPS.")
    if not parts.hostname:
        raise ForbiddenAddress("The URL has no host.")
    if parts.username or parts.password:
        raise ForbiddenAddress("Credentials in the URL are not allowed; use custom headers.")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int, allow_private: bool) -> list[IPAddress]:
    """Every address `host` resolves to; ForbiddenAddress if any is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise ForbiddenAddress(f"The host {host!r} does not resolve: {error}.") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        reason = why_forbidden(address)
        if reason and not allow_private:
            raise ForbiddenAddress(f"The host {host!r} resolves to a {reason} ({address}).")
        addresses.append(address)
    return addresses


def check_url(url: str, allow_private: bool) -> None:
    """At registration: a URL whose host resolves only to public addresses."""
    _, host, port = parse_url(url, allow_private)
    resolve(host, port, allow_private)
