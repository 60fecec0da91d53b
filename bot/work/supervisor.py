"""`fracas serve --workers N`: the web process keeps N `fracas worker` processes running,
restarts one that dies (with a growing pause if it keeps dying), wakes them after each enqueue
through a pipe each (a byte written before the child reads it is simply read later, where a
signal could kill a child still starting) and, at shutdown, passes SIGTERM on and waits for
them to drain. Each child watches its pipe: if this process dies, the child stops too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time

log = logging.getLogger(__name__)
STEADY = 60.0  # a worker that lived this long was healthy: restart it at once
MAX_PAUSE = 30.0
WAKE_FD = "FRACAS_WAKE_FD"


class Supervisor:
    def __init__(self, count: int, grace: float) -> None:
        self.count, self.grace = count, grace
        self._procs: dict[int, asyncio.subprocess.Process] = {}
        self._pipes: dict[int, int] = {}  # slot -> the write end of its child's wake pipe
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._keep(slot)) for slot in range(self.count)]

    def nudge(self) -> None:
        """New work: wake idle workers now instead of at their next poll."""
        for pipe in self._pipes.values():
            with contextlib.suppress(BlockingIOError, BrokenPipeError):  # full: already woken
                os.write(pipe, b"\0")

    async def _keep(self, slot: int) -> None:
        pause = 1.0
        while not self._stopping.is_set():
            started = time.monotonic()
            proc = await self._spawn(slot)
            log.info("worker process %d started (pid %d)", slot, proc.pid)
            code = await proc.wait()
            os.close(self._pipes.pop(slot))
            if self._stopping.is_set():
                return
            lived = time.monotonic() - started
            pause = 1.0 if lived > STEADY else min(pause * 2, MAX_PAUSE)
            log.error(
                "worker process %d (pid %d) exited with %s; restarting in %.0f s",
                slot,
                proc.pid,
                code,
                pause,
            )
            await asyncio.sleep(pause)

    async def _spawn(self, slot: int) -> asyncio.subprocess.Process:
        read, write = os.pipe()
        os.set_blocking(write, False)
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "worker",
                env={**os.environ, WAKE_FD: str(read)},
                pass_fds=(read,),
            )
        finally:
            os.close(read)
        self._pipes[slot], self._procs[slot] = write, proc
        return proc

    async def stop(self) -> None:
        """SIGTERM to every worker, then wait for their drain; SIGKILL past the grace."""
        self._stopping.set()
        live = [p for p in self._procs.values() if p.returncode is None]
        for proc in live:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        if live:
            await asyncio.wait([asyncio.create_task(p.wait()) for p in live], timeout=self.grace)
            for proc in live:
                if proc.returncode is None:
                    log.error("worker pid %d did not stop in %.0f s: killed", proc.pid, self.grace)
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
