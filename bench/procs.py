"""Child processes of a bench run (always stopped at the end) and their memory (RSS) sampled in the background."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

_ALL: list["Proc"] = []
MB = 1024 * 1024


def free_port() -> int:
    """A currently free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proc:
    """One child started in its own session (so its own children can be signalled with it)."""

    name: str
    popen: subprocess.Popen
    log: Path

    @classmethod
    def spawn(cls, name: str, args: list[str], work: Path, env: dict[str, str] | None = None) -> "Proc":
        """Start `args`, output to work/<name>.log."""
        log = work / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work,
                                     start_new_session=True)
        proc = cls(name, popen, log)
        _ALL.append(proc)
        return proc

    def alive(self) -> bool:
        """Still running."""
        return self.popen.poll() is None

    def tail(self, n: int = 4000) -> str:
        """The end of its log."""
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM its process group, SIGKILL after `timeout`."""
        if not self.alive():
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


def stop_all() -> None:
    """Stop every process this run started (newest first)."""
    for proc in reversed(_ALL):
        proc.stop()


def wait_port(port: int, timeout: float, proc: Proc | None = None) -> None:
    """Block until something listens on the loopback port (or the process died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s" + (f":\n{proc.tail()}" if proc else ""))


def rss_bytes(pids: list[int]) -> int:
    """Total resident memory of the processes and all their descendants."""
    total = 0
    for pid in pids:
        try:
            p = psutil.Process(pid)
            procs = [p, *p.children(recursive=True)]
        except psutil.Error:
            continue
        for q in procs:
            try:
                total += q.memory_info().rss
            except psutil.Error:
                pass
    return total


@dataclass
class RssSampler:
    """Samples total RSS of `pids` every `interval` seconds in a thread; `peak` is the maximum seen."""

    pids: list[int]
    interval: float = 0.25
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "RssSampler":
        self.peak = rss_bytes(self.pids)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes(self.pids))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.peak = max(self.peak, rss_bytes(self.pids))
