"""Starting Offload's processes as a deployment would: separate, configured by env.

Used by the end-to-end and fault tests and by the benchmarks, which all run
the gateway and services as child processes and wait until they are ready.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """One `python -m <module> [args]` child, its output kept in a log file for failures."""

    def __init__(
        self,
        module: str,
        env: Mapping[str, str],
        log_dir: Path,
        health_url: str | None,
        ready: Callable[[httpx.Response], bool] = lambda response: response.status_code == 200,
        args: Sequence[str] = (),
    ) -> None:
        self.module = module
        self.args = list(args)
        self.health_url = health_url
        self._ready = ready
        self.log_path = log_dir / f"{module}-{time.monotonic_ns()}.log"
        self._env = {**os.environ, "LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1", **env}
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout: float | None = 30.0) -> Process:
        """Start it and wait until its health URL says ready (`ready_timeout` None: don't wait)."""
        log = self.log_path.open("wb")
        self._popen = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            cwd=ROOT,
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if self.health_url is not None and ready_timeout is not None:
            self.wait_until_ready(ready_timeout)
        return self

    def wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._popen is not None and self._popen.poll() is not None:
                raise RuntimeError(f"{self.module} exited with {self._popen.returncode}:\n{self.output()}")
            try:
                if self._ready(httpx.get(self.health_url, timeout=1)):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.module} not ready after {timeout}s:\n{self.output()}")

    @property
    def pid(self) -> int:
        assert self._popen is not None
        return self._popen.pid

    def signal(self, sig: signal.Signals) -> None:
        assert self._popen is not None
        self._popen.send_signal(sig)

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""
        assert self._popen is not None
        return self._popen.poll()

    def wait(self, timeout: float) -> int:
        assert self._popen is not None
        return self._popen.wait(timeout)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self._popen is None or self._popen.poll() is not None:
            return self._popen.returncode if self._popen else None
        self._popen.send_signal(signal.SIGTERM)
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            return self._popen.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
