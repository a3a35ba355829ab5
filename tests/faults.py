"""Database faults on demand, for the under-fire suite.

PostgreSQL: `DatabaseProxy` stands between the service and the database server and can stall
it (connections stay open, nothing comes back) or drop it (every connection closed, new ones
refused). SQLite: another connection holding the write lock, or the database made read-only.
"""

import enum
import os
import random
import select
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

POLL_SECONDS = 0.05  # how quickly relays and the listener notice a change of mode


class Mode(enum.Enum):
    FORWARD = "forward"
    STALL = "stall"  # accept and keep every connection, pass nothing on
    DROP = "drop"  # close every connection, refuse new ones


class DatabaseProxy:
    """A TCP proxy to UPSTREAM that forwards, stalls or drops on demand (a context manager).

    It listens below the kernel's range of ephemeral ports, so that while it refuses
    connections (no listener at all) no outgoing connection can take its port.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._mode = Mode.FORWARD
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self._held = 0  # connections made during a stall, waiting for it to end
        self._held_lock = threading.Lock()
        for _ in range(50):
            self.port = random.randint(20_000, 32_000)
            try:
                self._listener = self._listen()
                break
            except OSError:
                continue
        else:
            raise OSError("no free port for the database proxy between 20000 and 32000")

    def __enter__(self) -> "DatabaseProxy":
        self._spawn(self._accept_loop)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed.set()
        for thread in self._threads:
            thread.join(timeout=5)

    @contextmanager
    def stalled(self) -> Iterator[None]:
        """The database accepts connections and never answers, until the block ends."""
        self._mode = Mode.STALL
        try:
            yield
        finally:
            self._mode = Mode.FORWARD

    @contextmanager
    def dropped(self) -> Iterator[None]:
        """Every connection is closed and new ones are refused, until the block ends."""
        self._mode = Mode.DROP
        time.sleep(4 * POLL_SECONDS)  # every relay and the listener have seen it
        try:
            yield
        finally:
            self._mode = Mode.FORWARD
            self._wait_for_listener()

    def wait_for_held_connections(self, count: int, timeout: float) -> int:
        """Wait (at most TIMEOUT seconds) until COUNT connections wait in a stall; how many do."""
        deadline = time.monotonic() + timeout
        while self._held < count and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        return self._held

    def _listen(self) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        listener.settimeout(POLL_SECONDS)
        return listener

    def _wait_for_listener(self, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while self._listener is None and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            if self._mode is Mode.DROP:
                if self._listener is not None:
                    self._listener.close()
                    self._listener = None
                time.sleep(POLL_SECONDS)
                continue
            if self._listener is None:
                try:
                    self._listener = self._listen()
                except OSError:
                    time.sleep(POLL_SECONDS)
                    continue
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            client.settimeout(5)
            self._spawn(self._relay, client)
        if self._listener is not None:
            self._listener.close()

    def _relay(self, client: socket.socket) -> None:
        with client:
            # A connection made during a stall waits, unanswered, for the stall to end.
            with self._holding():
                while self._mode is Mode.STALL and not self._closed.is_set() and _open(client):
                    time.sleep(POLL_SECONDS)
            if self._mode is not Mode.FORWARD or self._closed.is_set():
                return
            try:
                upstream = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                return
            with upstream:
                self._pump(client, upstream)

    @contextmanager
    def _holding(self) -> Iterator[None]:
        with self._held_lock:
            self._held += 1
        try:
            yield
        finally:
            with self._held_lock:
                self._held -= 1

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peer_of = {client: upstream, upstream: client}
        while not self._closed.is_set():
            if self._mode is Mode.DROP:
                return
            if self._mode is Mode.STALL:
                time.sleep(POLL_SECONDS)
                continue
            readable, _, _ = select.select(list(peer_of), [], [], POLL_SECONDS)
            for source in readable:
                try:
                    data = source.recv(65536)
                    if not data:
                        return
                    peer_of[source].sendall(data)
                except OSError:
                    return


def _open(connection: socket.socket) -> bool:
    """Whether the peer has not closed the connection (without taking any data from it)."""
    if not select.select([connection], [], [], 0)[0]:
        return True
    try:
        return bool(connection.recv(1, socket.MSG_PEEK))
    except OSError:
        return False


def sqlite_file(database_url: str) -> Path:
    """The file of a `sqlite+aiosqlite:////absolute/path.db` URL."""
    return Path(database_url.split(":///", 1)[1])


@contextmanager
def write_locked(database: Path) -> Iterator[None]:
    """Another connection holds SQLite's write lock (BEGIN EXCLUSIVE) until the block ends."""
    connection = sqlite3.connect(database, isolation_level=None, timeout=10)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


@contextmanager
def read_only(database: Path) -> Iterator[None]:
    """The database file and its WAL files are read-only (chmod 0444) until the block ends."""
    files = [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm")]
    modes = {path: path.stat().st_mode for path in files if path.exists()}
    for path in modes:
        path.chmod(0o444)
    try:
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def honouring_file_permissions() -> Sequence[str] | None:
    """A command prefix under which a server obeys file permissions, or None if impossible.

    root ignores them (CAP_DAC_OVERRIDE), so for root the prefix drops that capability from
    the server's process; anyone else needs none. None: root, and no `setpriv` to drop it.
    """
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    return (setpriv, "--bounding-set", "-dac_override", "--") if setpriv else None
