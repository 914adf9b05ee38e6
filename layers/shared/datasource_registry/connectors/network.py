"""Network safety: resolve a user-supplied host once, refuse internal addresses, connect to the pinned IP."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from datasource_registry.connectors.errors import ConnectorError, ErrorCode

T = TypeVar("T")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance/task metadata endpoints: never reachable, whatever the allow list says.
ALWAYS_BLOCKED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.169.254/32",  # AWS, GCP, Azure, OpenStack instance metadata
        "169.254.170.2/32",  # ECS task metadata / credentials
        "169.254.170.23/32",  # EKS pod identity agent
        "fd00:ec2::254/128",  # AWS IMDS over IPv6
        "fd00:ec2::23/128",  # EKS pod identity agent over IPv6
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "0.0.0.0/8",  # "this network": 0.0.0.0 reaches the local host on Linux
        "::/128",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class NetworkPolicy:
    """Which non-public networks a connector may reach; public addresses are always allowed."""

    allowed_cidrs: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_string(cls, text: str) -> NetworkPolicy:
        """Parse a comma- or space-separated CIDR list such as "10.0.0.0/8,127.0.0.0/8"."""
        parts = [p for p in text.replace(",", " ").split() if p]
        try:
            return cls(tuple(ipaddress.ip_network(p, strict=False) for p in parts))
        except ValueError as exc:
            raise ValueError(f"invalid network policy CIDR: {exc}") from exc

    def check(self, address: IPAddress) -> str | None:
        """The reason `address` is refused, or None when it may be reached."""
        ip = _effective_address(address)
        if any(ip in net for net in ALWAYS_BLOCKED if net.version == ip.version):
            return f"{ip} is a cloud metadata or unspecified address"
        if ip.is_multicast or ip.is_unspecified:
            return f"{ip} is a multicast or unspecified address"
        if any(ip in net for net in self.allowed_cidrs if net.version == ip.version):
            return None
        if ip.is_global and not ip.is_reserved:
            return None
        return f"{ip} is a loopback, private, link-local or reserved address not allowed by the network policy"


def _effective_address(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form actually reaches (mapped, 6to4, Teredo, NAT64), else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


@dataclass(frozen=True)
class PinnedAddress:
    """A host name and the one IP address it was resolved to; drivers connect to `ip`, never re-resolve."""

    host: str
    ip: str
    port: int
    family: int


def normalize_host(host: str) -> str:
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or any(ch.isspace() or ch in "/\\@?#,;" for ch in host) or "://" in host:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, "host must be a host name or IP address")
    return host


def resolve_pinned(host: str, port: int, policy: NetworkPolicy, timeout: float) -> PinnedAddress:
    """Resolve `host` once and return the first address the policy allows (BLOCKED_ADDRESS if none)."""
    host = normalize_host(host)
    if not 0 < port < 65536:
        raise ConnectorError(ErrorCode.INVALID_CONFIG, f"port {port} is out of range")
    infos = _getaddrinfo_with_timeout(host, port, timeout)
    reasons: list[str] = []
    for resolved_family, _type, _proto, _canon, sockaddr in infos:
        ip, family = ipaddress.ip_address(sockaddr[0]), resolved_family
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip, family = ip.ipv4_mapped, socket.AF_INET  # connect over IPv4 to the address it names
        reason = policy.check(ip)
        if reason is None:
            return PinnedAddress(host=host, ip=str(ip), port=port, family=family)
        reasons.append(reason)
    raise ConnectorError(ErrorCode.BLOCKED_ADDRESS, f"{host} is not allowed: " + "; ".join(dict.fromkeys(reasons)))


def check_literal(host: str, policy: NetworkPolicy) -> None:
    """Refuse an IP literal the policy blocks (for hosts resolved elsewhere, e.g. behind an SSH tunnel)."""
    try:
        ip = ipaddress.ip_address(normalize_host(host))
    except ValueError:
        return
    reason = policy.check(ip)
    if reason is not None:
        raise ConnectorError(ErrorCode.BLOCKED_ADDRESS, reason)


def within(seconds: float, work: Callable[[], T], what: str) -> T:
    """`work()` on a daemon thread, given up at `seconds` (TIMEOUT: "<what> took longer than ..."): for calls with
    no timeout of their own (the resolver) or only per-step ones (a driver's connect). Its error is raised here."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True, name=what)
    worker.start()
    worker.join(max(seconds, 0.0))
    if worker.is_alive():
        raise ConnectorError(ErrorCode.TIMEOUT, f"{what} took longer than {seconds:.1f}s")
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


def _getaddrinfo_with_timeout(
    host: str, port: int, timeout: float
) -> list[tuple[int, int, int, str, tuple[str, int] | tuple[str, int, int, int]]]:
    # getaddrinfo has no timeout of its own; a stuck resolver must not outlive the test's deadline.
    try:
        infos: list[Any] = within(
            timeout, lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM), f"resolving {host}"
        )
    except (OSError, UnicodeError) as exc:
        raise ConnectorError(ErrorCode.DNS_FAILED, f"cannot resolve {host}: {exc}") from None
    if not infos:
        raise ConnectorError(ErrorCode.DNS_FAILED, f"{host} has no addresses")
    return infos


def open_socket(address: PinnedAddress, timeout: float) -> socket.socket:
    """A TCP connection to the pinned IP (never to the name), with errors mapped to stable codes."""
    if timeout <= 0:
        raise ConnectorError(ErrorCode.TIMEOUT, "the connection deadline has passed")
    try:
        sock = socket.create_connection((address.ip, address.port), timeout=timeout)
    except TimeoutError as exc:
        raise ConnectorError(
            ErrorCode.TIMEOUT, f"connecting to {address.host}:{address.port} timed out after {timeout:.1f}s"
        ) from exc
    except OSError as exc:
        raise ConnectorError(
            ErrorCode.UNREACHABLE, f"cannot connect to {address.host}:{address.port}: {exc.strerror or exc}"
        ) from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
