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
# IETF protocol assignments (192.0.0.0/24): none is a place to send webhooks to.
PROTOCOL_ASSIGNMENTS = ipaddress.ip_network("192.0.0.0/24")
# Global unicast: every IPv6 address a public host can have lies here.
IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


class ForbiddenAddress(ValueError):
    """The URL may not be called; the message says why."""


def why_forbidden(address: IPAddress) -> str | None:
    """The class of a non-public address, or None when the address is public."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address wrapped in IPv6 (mapped, 6to4, Teredo) is judged as what it wraps.
        for kind, wrapped in (
            ("IPv4-mapped", address.ipv4_mapped),
            ("6to4", address.sixtofour),
            ("Teredo", address.teredo[1] if address.teredo else None),
        ):
            if wrapped is not None:
                reason = why_forbidden(wrapped)
                if reason:
                    return f"{kind} {reason}"
    checks = (
        (address.is_unspecified, "unspecified address"),
        (address.is_loopback, "loopback address"),
        (address.is_link_local, "link-local address (cloud metadata among them)"),
        (address.is_multicast, "multicast address"),
        (address in CGNAT, "carrier-grade NAT address"),
        (address in PROTOCOL_ASSIGNMENTS, "reserved address"),
        (getattr(address, "is_site_local", False), "site-local address"),
        (address.is_reserved, "reserved address"),
        (address.is_private, "private address"),
        (
            isinstance(address, ipaddress.IPv6Address) and address not in IPV6_GLOBAL_UNICAST,
            "address outside IPv6 global unicast",
        ),
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
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        raise ForbiddenAddress(
            "The URL has spaces or characters outside ASCII; percent-encode them (IDNA for hosts)."
        )
    if port == 0:
        raise ForbiddenAddress("Port 0 is not a port to send to.")
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
