"""Tiny asyncio servers speaking just enough of the PostgreSQL v3 protocol to replay failures no
real server here produces: a blackholed pooler, old Supavisor's SCRAM `e=` answer
(reference/postgres-failures.md §2) and Supavisor's XX000 ErrorResponses (§4)."""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import struct
from dataclasses import dataclass
from typing import Self
from urllib.parse import quote

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
PROTOCOL_3 = 196608
DEFAULT_USER = "postgres.abcdefghij"
DEFAULT_PASSWORD = "not-the-password"


@dataclass(frozen=True)
class ScramError:
    """Answer the SCRAM exchange, then end it with `e=<reason>` (Supavisor before 2025-07)."""

    reason: str = "Wrong password"


@dataclass(frozen=True)
class ErrorAnswer:
    """Answer the startup message with an ErrorResponse and hang up (Supavisor's XX000s)."""

    code: str
    message: str
    severity: str = "FATAL"


Answer = ScramError | ErrorAnswer


def message(kind: bytes, body: bytes) -> bytes:
    """A backend message: type byte, int32 length (self-inclusive), body."""
    return kind + struct.pack("!i", len(body) + 4) + body


def auth(code: int, payload: bytes = b"") -> bytes:
    return message(b"R", struct.pack("!i", code) + payload)


def error_response(answer: ErrorAnswer) -> bytes:
    fields = [
        (b"S", answer.severity),
        (b"V", answer.severity),
        (b"C", answer.code),
        (b"M", answer.message),
    ]
    body = b"".join(tag + value.encode() + b"\0" for tag, value in fields) + b"\0"
    return message(b"E", body)


async def read_startup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """Refuse SSL/GSS encryption with `N` until the real StartupMessage arrives; return it."""
    while True:
        (length,) = struct.unpack("!i", await reader.readexactly(4))
        packet = await reader.readexactly(length - 4)
        (code,) = struct.unpack("!i", packet[:4])
        if length == 8 and code in (SSL_REQUEST, GSSENC_REQUEST):
            writer.write(b"N")
            await writer.drain()
            continue
        if code != PROTOCOL_3:
            raise ConnectionError(f"not a v3 startup message (code {code})")
        return packet


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """A frontend message after startup: (type byte, body)."""
    kind = await reader.readexactly(1)
    (length,) = struct.unpack("!i", await reader.readexactly(4))
    return kind, await reader.readexactly(length - 4)


class _Server:
    """Listens on 127.0.0.1:<free port>; subclasses say what to do with each connection."""

    def __init__(self, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD) -> None:
        self.user = user
        self.password = password
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return (
            f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@127.0.0.1:{self.port}/postgres"
        )

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._tasks:  # closed sockets end the handlers' reads; do not leave them to the loop
            _, stuck = await asyncio.wait(self._tasks, timeout=1)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self.serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up first: that is its business
        except asyncio.CancelledError:
            pass  # __aexit__ gave up on this handler; asyncio's streams log cancelled ones
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class SilentServer(_Server):
    """Accepts TCP and never sends a byte, like a pooler behind a blackholing firewall: the
    client's connect timeout is what fires (builtin TimeoutError in asyncpg)."""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(4096):
            pass  # swallow whatever comes until the client or __aexit__ hangs up


class WireServer(_Server):
    """Reads the startup message (refusing SSL/GSS), then plays `answer` and hangs up."""

    def __init__(
        self, answer: Answer, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD
    ) -> None:
        super().__init__(user, password)
        self.answer = answer

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_startup(reader, writer)
        if isinstance(self.answer, ErrorAnswer):
            writer.write(error_response(self.answer))
        else:
            await self._scram(reader, writer, self.answer)
        await writer.drain()

    async def _scram(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answer: ScramError
    ) -> None:
        writer.write(auth(10, b"SCRAM-SHA-256\0\0"))  # AuthenticationSASL
        await writer.drain()
        kind, body = await read_message(reader)  # SASLInitialResponse
        if kind != b"p":
            raise ConnectionError(f"expected SASLInitialResponse, got {kind!r}")
        found = re.search(rb"r=([^,]+)", body)
        client_nonce = found.group(1) if found else b""
        nonce = client_nonce + base64.b64encode(secrets.token_bytes(18))
        salt = base64.b64encode(secrets.token_bytes(16))
        server_first = b"r=" + nonce + b",s=" + salt + b",i=4096"
        writer.write(auth(11, server_first))  # AuthenticationSASLContinue
        await writer.drain()
        await read_message(reader)  # SASLResponse (client-final); its proof is never checked
        writer.write(auth(12, b"e=" + answer.reason.encode()))  # AuthenticationSASLFinal
