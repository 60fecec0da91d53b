"""Names to addresses, one family at a time: an AAAA-only host must be told apart from one
that does not resolve at all."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping, Sequence


class Resolver:
    """The system resolver, with fixed answers that act like /etc/hosts lines (the sandbox and
    the tests give a name only an IPv6 address this way). `system=False` answers only those:
    the sandbox must not look anything up on the network. `forward` sends a host's port to
    another one on the address it resolves to, like a port forward: the sandbox's servers listen
    on free ports while its URLs keep Supavisor's 5432 and 6543, which say the pooler's mode."""

    def __init__(
        self,
        hosts: Mapping[str, Sequence[str]] | None = None,
        *,
        system: bool = True,
        forward: Mapping[tuple[str, int], int] | None = None,
    ) -> None:
        self.hosts = dict(hosts or {})
        self.system = system
        self.forward = dict(forward or {})

    def port(self, host: str, port: int) -> int:
        """The port to dial for the URL's host and port."""
        return self.forward.get((host, port), port)

    async def families(
        self, host: str, port: int
    ) -> tuple[list[str] | BaseException, list[str] | BaseException]:
        """IPv4 and IPv6 asked at once; each the addresses, or the error that answered."""
        v4, v6 = await asyncio.gather(
            self.addresses(host, port, socket.AF_INET),
            self.addresses(host, port, socket.AF_INET6),
            return_exceptions=True,
        )
        return v4, v6

    async def addresses(self, host: str, port: int, family: socket.AddressFamily) -> list[str]:
        if host in self.hosts:
            version = 4 if family == socket.AF_INET else 6
            found = [a for a in self.hosts[host] if ipaddress.ip_address(a).version == version]
            if not found:
                raise socket.gaierror(socket.EAI_NODATA, "No address associated with hostname")
            return found
        if not self.system:
            raise socket.gaierror(socket.EAI_NONAME, "the sandbox resolves only its own names")
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, family=family, type=socket.SOCK_STREAM
        )
        return list(dict.fromkeys(str(info[4][0]) for info in infos))
