"""A throwaway RabbitMQ node that the fault tests and the chaos benchmark may stop, kill and restart.

The broker on 5672 serves every other test, so faults go to a node of its
own: its own name, ports, config and data directory, started with the
distribution's scripts as in reference/MACHINE.md and deleted afterwards.

    with RabbitNode() as node:          # or node.start() ... finally node.stop()
        connection = await aio_pika.connect(node.amqp_url)
        await asyncio.to_thread(node.kill)

The methods block while they shell out to `rabbitmq-server` and `rabbitmqctl`;
when the test's loop holds live connections, call them through
`asyncio.to_thread` so heartbeats and reconnects keep running meanwhile.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

RABBITMQ_SERVER = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
RABBITMQCTL = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"

# The AMQP port comes from this range and the distribution port sits 20000
# above it: both stay clear of the shared node (5672, 25672), of the CLI
# tools' own distribution ports (35672-35682) and of the kernel's ephemeral
# ports (32768 and up), which outgoing connections could take meanwhile.
_AMQP_PORTS = range(10000, 12500)
_DIST_OFFSET = 20000

# The `rabbitmq` user runs the server when root starts it (Debian's wrapper).
_SERVER_USER = "rabbitmq"


def rabbitmq_installed() -> bool:
    return Path(RABBITMQ_SERVER).exists() and Path(RABBITMQCTL).exists()


class RabbitNode:
    """One RabbitMQ node on loopback, in a temporary directory of its own."""

    def __init__(self, ready_timeout: float = 60.0) -> None:
        self.name = f"fault-{secrets.token_hex(4)}@localhost"
        self.port, self.dist_port = _free_port_pair()
        self.ready_timeout = ready_timeout
        self._dir: Path | None = None

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self) -> RabbitNode:
        """Create the node's directory and boot it; return once it accepts AMQP."""
        if self._dir is not None:
            raise RuntimeError(f"{self.name} was already started")
        self._dir = Path(tempfile.mkdtemp(prefix="offload-fault-"))
        (self._dir / "enabled_plugins").write_text("[].\n")
        # Without a config of its own the node reads /etc/rabbitmq/rabbitmq.conf,
        # whose listener on 127.0.0.1:5672 belongs to the shared node: the boot
        # then fails with eaddrinuse.
        (self._dir / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n")
        if os.geteuid() == 0:
            shutil.chown(self._dir, _SERVER_USER, _SERVER_USER)
            for path in self._dir.iterdir():
                shutil.chown(path, _SERVER_USER, _SERVER_USER)
        try:
            self._boot()
        except BaseException:
            self.stop()
            raise
        return self

    def stop_app(self) -> None:
        """Stop the RabbitMQ application, leaving the Erlang node up: connections drop."""
        self._ctl("stop_app")

    def start_app(self) -> None:
        """Start the application again; return once it accepts AMQP."""
        self._ctl("start_app")
        self._wait_for_amqp()

    def kill(self) -> None:
        """SIGKILL the node's beam process, as a crash would, and wait until it is gone.

        It first gives quorum queues declared just now a moment (at most 5 s)
        to be registered on disk: RabbitMQ 3.10 writes a new quorum queue's
        Raft server name to the Ra directory (`names.dets`) up to a second
        after the declare returns, and a node killed before then recovers the
        queue's definition but cannot restart its server, so every operation
        on the queue hangs ("leader not known"). That edge is the broker's
        own; the fault tests look at what happens to messages.
        """
        pid = self._pid()
        if pid is None:
            raise RuntimeError(f"{self.name} has no pid file: is it running?")
        try:
            _wait_until(self._quorum_queues_on_disk, timeout=5, what="quorum queues on disk")
        except TimeoutError:
            pass  # crash anyway: the test asked for it
        os.kill(pid, signal.SIGKILL)
        _wait_until(lambda: not _alive(pid), timeout=10, what=f"{self.name} (pid {pid}) to die")

    def restart(self) -> None:
        """Boot the node again on the same data directory, so durable state survives."""
        if self._dir is None:
            raise RuntimeError(f"{self.name} was never started")
        self._shut_down()
        self._boot()

    def stop(self) -> None:
        """Shut the node down, cleanly if it lets us, and delete its directory.

        Safe in any state: never started, killed, app stopped, half booted.
        """
        if self._dir is None:
            return
        self._shut_down()
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    def accepts_amqp(self) -> bool:
        """Whether the node answers an AMQP protocol header with connection.start."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"AMQP\x00\x00\x09\x01")
                # Frame type 1 (method) opens the broker's connection.start.
                return sock.recv(1) == b"\x01"
        except OSError:
            return False

    def log(self) -> str:
        """The node's own log, for failure messages."""
        if self._dir is None:
            return ""
        logs = sorted((self._dir / "log").glob("*.log")) + [self._dir / "server.out"]
        return "\n".join(path.read_text(errors="replace") for path in logs if path.exists())

    def __enter__(self) -> RabbitNode:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def _pid_file(self) -> Path:
        assert self._dir is not None
        return self._dir / "pid"

    def _env(self) -> dict[str, str]:
        assert self._dir is not None
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self._dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self._dir / "log"),
            "RABBITMQ_PID_FILE": str(self._pid_file),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self._dir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self._dir / "rabbitmq.conf"),
            # Not created: keeps /etc/rabbitmq/advanced.config out, should one appear.
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self._dir / "advanced.config"),
        }

    def _boot(self) -> None:
        assert self._dir is not None
        # A pid file left by a killed node would send `wait` after a dead pid.
        self._pid_file.unlink(missing_ok=True)
        # Output goes to a file: the detached server must not hold a pipe of ours open.
        with (self._dir / "server.out").open("ab") as out:
            subprocess.run(
                [RABBITMQ_SERVER, "-detached"], env=self._env(), stdout=out, stderr=out, check=True, timeout=30
            )
        self._ctl("wait", str(self._pid_file), "--timeout", str(int(self.ready_timeout)))
        self._wait_for_amqp()

    def _wait_for_amqp(self) -> None:
        _wait_until(self.accepts_amqp, timeout=self.ready_timeout, what=f"{self.name} to accept AMQP")

    def _ctl(self, *args: str, timeout: float | None = None) -> str:
        result = subprocess.run(
            [RABBITMQCTL, "-n", self.name, *args],
            capture_output=True,
            text=True,
            timeout=timeout if timeout is not None else self.ready_timeout + 30,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} on {self.name} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n--- node log ---\n{self.log()[-4000:]}"
            )
        return result.stdout

    def _pid(self) -> int | None:
        try:
            return int(self._pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _quorum_queues_on_disk(self) -> bool:
        """Whether every quorum queue's server directory is named in the Ra directory."""
        assert self._dir is not None
        ra_dir = self._dir / "mnesia" / self.name / "quorum" / self.name
        names = ra_dir / "names.dets"
        if not names.exists():
            return True  # no quorum queue was ever declared
        registered = names.read_bytes()
        return all(server.name.encode() in registered for server in ra_dir.iterdir() if server.is_dir())

    def _shut_down(self) -> None:
        pid = self._pid()
        if pid is not None and _alive(pid):
            # The Erlang VM takes SIGTERM as init:stop(), the same clean shutdown
            # as `rabbitmqctl stop`, in a second instead of four (no CLI VM to boot).
            os.kill(pid, signal.SIGTERM)
            try:
                _wait_until(lambda: not _alive(pid), timeout=30, what=f"{self.name} to stop")
            except TimeoutError:
                pass
        # Whatever still runs with this node's environment (a boot that never
        # wrote its pid file, a node that would not stop) is killed.
        leftovers = self._processes()
        for leftover in leftovers:
            try:
                os.kill(leftover, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for leftover in leftovers:
            _wait_until(lambda pid=leftover: not _alive(pid), timeout=10, what=f"pid {leftover} to die")

    def _processes(self) -> list[int]:
        """Live processes started with this node's name in their environment.

        epmd is left alone: had this node started it, other nodes use it too.
        """
        marker = f"RABBITMQ_NODENAME={self.name}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:  # gone meanwhile, or not ours to read
                continue
            if marker in environ.split(b"\0") and _alive(int(entry.name)) and _command(entry) != "epmd":
                found.append(int(entry.name))
        return found


def _free_port_pair() -> tuple[int, int]:
    for port in random.sample(_AMQP_PORTS, 50):
        if _port_free(port) and _port_free(port + _DIST_OFFSET):
            return port, port + _DIST_OFFSET
    raise RuntimeError("no free pair of ports for a throwaway RabbitMQ node")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    """Running, and not a zombie (in a container nobody may reap the detached beam)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _command(proc_entry: Path) -> str:
    try:
        return (proc_entry / "comm").read_text().strip()
    except OSError:
        return ""


def _wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
