"""Where a webhook may go: an http(s) URL whose host resolves only to addresses on the public internet.

Checked when an endpoint is registered and again before every attempt; the attempt then connects to the very
address that was checked (shared.webhooks.sending), so a name that resolves elsewhere a moment later (DNS
rebinding) cannot lead a delivery into the office's own network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

# Never a webhook's target, whatever webhook_allow_private says: cloud metadata services.
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks; the message (Indonesian) says why."""


@dataclass(frozen=True)
class Target:
    """A checked URL, taken apart: what to connect to and what to ask for."""

    scheme: str
    host: str  # as written, lower case, without brackets
    port: int
    path: str  # path and query, at least "/"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = {"http": 80, "https": 443}[self.scheme]
        return host if self.port == default else f"{host}:{self.port}"


def parse_target(url: str) -> Target:
    """url taken apart, or UnsafeTarget: http or https, a host, no user name or password, no fragment."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise UnsafeTarget("alamat tidak boleh memuat spasi atau karakter kendali")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget("alamat tidak valid") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("alamat harus diawali http:// atau https://")
    if not parts.hostname:
        raise UnsafeTarget("alamat tidak menyebut nama host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("alamat tidak boleh memuat nama pengguna atau kata sandi")
    if parts.fragment:
        raise UnsafeTarget("alamat tidak boleh memuat fragmen (#...)")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path)


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why a webhook may not go to address (Indonesian), or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA:
        return f"{address} adalah alamat layanan metadata"
    if address.is_unspecified or address.is_multicast:
        return f"{address} bukan alamat tujuan yang sah (unspecified/multicast)"
    if allow_private:
        return None
    if address.is_loopback:
        return f"{address} adalah alamat loopback"
    if address.is_link_local:
        return f"{address} adalah alamat link-local"
    if address.is_private or not address.is_global:
        return f"{address} adalah alamat jaringan privat"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address host resolves to (A and AAAA), as the system's resolver gives them."""
    infos: list[Any] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_address(target: Target, *, allow_private: bool, resolver: Resolver = system_resolver) -> str:
    """The address to connect to: host resolved once, every address it gives checked; else UnsafeTarget."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolver(target.host, target.port)]
        except (OSError, UnicodeError, ValueError) as exc:
            raise UnsafeTarget(f"nama host {target.host} tidak dapat ditemukan") from exc
    if not addresses:
        raise UnsafeTarget(f"nama host {target.host} tidak dapat ditemukan")
    # one refused address is enough: a name that also points inside must not be tried at all
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            raise UnsafeTarget(f"{target.host} mengarah ke {reason}")
    return str(addresses[0])
