"""A fake TCP server on a free loopback port, for tests of misbehaving or scripted peers.

Subclasses say what to do with each accepted connection (:meth:`LoopbackServer.handle`, run in
the accept thread, so connections are served one after another unless the handler starts a
thread). The base class owns the listener, the accept loop, the connection count and cleanup.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class LoopbackServer:
    """Listens on 127.0.0.1 at once; :meth:`close` stops it and closes every accepted socket."""

    def __init__(self, accept_timeout: float = 0.05) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(accept_timeout)
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopping = threading.Event()
        self.connections = 0  # accepted so far: shows reconnects and pooling
        self.accepted: list[socket.socket] = []
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept_thread.start()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self.accepted.append(conn)
            with contextlib.suppress(OSError):
                self.handle(conn)

    def close(self) -> None:
        self.stopping.set()
        self._accept_thread.join(5)
        self.listener.close()
        for conn in self.accepted:
            conn.close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
