"""A TCP proxy that makes a MongoDB test server throttle the way Azure Cosmos DB does.

Cosmos DB for MongoDB answers a command that exceeds the provisioned request units with error
16500 (``TooManyRequests``) and a message carrying ``RetryAfterMs=<n>``; the client must wait and
retry. A plain MongoDB server never does that, so without help our Cosmos adapter's retry path
(pymongo raising ``OperationFailure`` with code 16500) would only ever run against mocks.

:class:`ThrottlingProxy` sits between pymongo and a real MongoDB server and speaks the wire
protocol. For a seeded random share of data commands it answers the 16500 error itself instead of
forwarding the command, so the server never sees that command and nothing is written. Optionally
it forwards a command but drops the server's reply and closes the connection (a "lost reply":
the write happened, the client never learnt it). Handshake, monitoring, session and auth commands
always pass, so pymongo connects and monitors normally. The test server itself is never
modified; everything happens in the proxy.

Decisions come from ``random.Random(seed)``, one draw per throttleable command, so the same
sequence of commands meets the same faults on every run.

Usage::

    with ThrottlingProxy(mongo_uri, rate=0.3, seed=7) as proxy:
        client = MongoClient(proxy.uri, retryWrites=False, retryReads=False)
        ...
        with proxy.paused():
            ...  # set up or check data without faults
"""

from __future__ import annotations

import contextlib
import itertools
import random
import selectors
import socket
import struct
import threading
import uuid
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TypeVar

import bson

__all__ = ["THROTTLEABLE_COMMANDS", "ThrottlingProxy", "cosmos_throttle_message"]

OP_MSG = 2013
# OP_QUERY (legacy handshake) and OP_COMPRESSED are relayed without being looked at: the command
# name inside a compressed message is not visible, so such commands are never throttled.
_HEADER = struct.Struct("<iiii")
_MORE_TO_COME = 1 << 1
_CHECKSUM_PRESENT = 1 << 0

# Commands that consume request units on Cosmos DB, hence the ones it throttles. Everything else
# (hello, ping, auth, endSessions, killCursors, transaction commits and aborts, ...) passes, because
# failing those would test pymongo's connection handling rather than our retry path.
THROTTLEABLE_COMMANDS: frozenset[str] = frozenset(
    {
        "find",
        "aggregate",
        "insert",
        "update",
        "delete",
        "findAndModify",
        "getMore",
        "count",
        "distinct",
        "createIndexes",
        "listIndexes",
        "listCollections",
        "create",
        "drop",
        "dropDatabase",
    }
)

_POLL_SECONDS = 0.1


def cosmos_throttle_message(retry_after_ms: int, activity_id: str) -> str:
    """The ``errmsg`` Cosmos DB for MongoDB sends with error 16500.

    Clients (ours included) read the back-off hint from ``RetryAfterMs=<n>``, so that part must
    keep this exact spelling.
    """
    reason = (
        "Request rate is large. More Request Units may be needed, so no changes were made. "
        "Please retry this request later. Learn more: http://aka.ms/cosmosdb-error-429"
    )
    return (
        f"Error=16500, RetryAfterMs={retry_after_ms}, Details='Response status code does not indicate "
        f"success: TooManyRequests (429); Substatus: 3200; ActivityId: {activity_id}; Reason: "
        f'(\r\nErrors : [\r\n  "{reason}"\r\n]\r\n);'
    )


def _parse_upstream(upstream: str) -> tuple[str, int]:
    """``host:port`` of the first host in a ``mongodb://`` URI or a bare ``host:port``."""
    rest = upstream.split("://", 1)[1] if "://" in upstream else upstream
    hosts = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    host = hosts.split(",", 1)[0]
    if host.startswith("["):
        address, _, port = host[1:].partition("]")
        return address, int(port.lstrip(":") or 27017)
    address, _, port = host.partition(":")
    return address, int(port or 27017)


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    """``size`` bytes, or None if the peer closed first."""
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _recv_message(sock: socket.socket) -> bytes | None:
    header = _recv_exact(sock, _HEADER.size)
    if header is None:
        return None
    length = _HEADER.unpack(header)[0]
    if length < _HEADER.size:
        return None
    body = _recv_exact(sock, length - _HEADER.size)
    return None if body is None else header + body


def _op_msg_command(message: bytes) -> tuple[str | None, int]:
    """(command name, flagBits) of an OP_MSG; the name is None when no kind-0 section is found."""
    flags = struct.unpack_from("<I", message, _HEADER.size)[0]
    end = len(message) - (4 if flags & _CHECKSUM_PRESENT else 0)
    offset = _HEADER.size + 4
    while offset < end:
        kind = message[offset]
        size = struct.unpack_from("<i", message, offset + 1)[0]
        if kind == 0:
            document = bson.decode(message[offset + 1 : offset + 1 + size])
            return next(iter(document), None), flags
        # Kind 1 (document sequence): the size covers itself, the identifier and the documents.
        offset += 1 + size
    return None, flags


_Proxy = TypeVar("_Proxy", bound="ThrottlingProxy")  # so subclasses enter as themselves


class ThrottlingProxy:
    """Relays MongoDB wire traffic and answers a seeded share of data commands with Cosmos's 16500.

    ``rate``: probability that a throttleable command is answered with the 16500 error instead of
    being forwarded. ``lost_reply_rate``: probability that a throttleable command that was not
    throttled is forwarded but its reply dropped and the client connection closed.
    ``retry_after_ms``: the back-off hint put in the message.

    Counters (read them any time): ``injected``, ``injected_by_command``, ``lost_replies`` and
    ``forwarded`` (client messages relayed to the server, lost-reply ones included).
    """

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.2,
        seed: int = 0,
        retry_after_ms: int = 3,
        lost_reply_rate: float = 0.0,
    ) -> None:
        if not 0.0 <= rate <= 1.0 or not 0.0 <= lost_reply_rate <= 1.0:
            raise ValueError("rate and lost_reply_rate are probabilities in [0, 1]")
        self.upstream = _parse_upstream(upstream)
        self.rate = rate
        self.lost_reply_rate = lost_reply_rate
        self.retry_after_ms = retry_after_ms
        self.seed = seed
        # A plain attribute so a test can flip it; faults are only drawn while it is True, so the
        # seeded sequence does not depend on what ran while paused.
        self.enabled = True
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        # A separate generator for activity ids keeps them reproducible without shifting the
        # fault decisions.
        self._ids = random.Random(seed)
        self._request_ids = itertools.count(1)
        self._injected = 0
        self._injected_by_command: dict[str, int] = {}
        self._lost_replies = 0
        self._forwarded = 0
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self.port: int | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self: _Proxy) -> _Proxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        # A timeout lets the accept loop notice stop(); closing a socket does not wake accept().
        listener.settimeout(_POLL_SECONDS)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._spawn(self._accept_loop, "fault-proxy-accept")
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            sockets = list(self._sockets)
            self._sockets.clear()
        for sock in sockets:
            self._close(sock)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2)

    def __enter__(self: _Proxy) -> _Proxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def uri(self) -> str:
        if self.port is None:
            raise RuntimeError("start() the proxy first")
        # Direct connection: the upstream replica set's hello names the upstream host, which
        # pymongo would otherwise discover and connect to, bypassing the proxy.
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    # -- switching faults off --------------------------------------------------------------------

    def pause(self) -> None:
        self.enabled = False

    def resume(self) -> None:
        self.enabled = True

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No faults inside the block (e.g. while a test sets up or checks data)."""
        previous = self.enabled
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = previous

    # -- counters --------------------------------------------------------------------------------

    @property
    def injected(self) -> int:
        with self._lock:
            return self._injected

    @property
    def injected_by_command(self) -> dict[str, int]:
        with self._lock:
            return dict(self._injected_by_command)

    @property
    def lost_replies(self) -> int:
        with self._lock:
            return self._lost_replies

    @property
    def forwarded(self) -> int:
        with self._lock:
            return self._forwarded

    # -- relaying --------------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            # Drop finished connections so a long test does not accumulate dead threads.
            self._threads = [alive for alive in self._threads if alive.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _track(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._stopping.is_set():
                return False
            self._sockets.add(sock)
            return True

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        # shutdown() first so a thread blocked in recv() on this socket wakes up.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            if not self._track(client):
                self._close(client)
                return
            self._spawn(self._serve, "fault-proxy-conn", client)

    def _decide(self, command: str | None, flags: int) -> str:
        """What to do with one client OP_MSG: ``forward``, ``throttle`` or ``lose`` (its reply)."""
        if command not in THROTTLEABLE_COMMANDS or flags & _MORE_TO_COME or not self.enabled:
            # moreToCome: the client waits for no reply, so an injected error would be read as
            # the answer to its next command.
            return "forward"
        with self._lock:
            if self._rng.random() < self.rate:
                return "throttle"
            if self.lost_reply_rate and self._rng.random() < self.lost_reply_rate:
                return "lose"
        return "forward"

    def _throttle_reply(self, command: str, request_id: int) -> bytes:
        with self._lock:
            self._injected += 1
            self._injected_by_command[command] = self._injected_by_command.get(command, 0) + 1
            activity_id = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
            reply_id = next(self._request_ids)
        body = bson.encode(
            {
                "ok": 0.0,
                "errmsg": cosmos_throttle_message(self.retry_after_ms, activity_id),
                "code": 16500,
                "codeName": "RequestRateTooLarge",
            }
        )
        payload = struct.pack("<I", 0) + b"\x00" + body
        return _HEADER.pack(_HEADER.size + len(payload), reply_id, request_id, OP_MSG) + payload

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            self._close(client)
            return
        if not self._track(server):
            self._close(server)
            self._close(client)
            return
        # One thread per connection, both directions multiplexed: replies cannot be strictly
        # paired with requests, because monitoring hellos stream several replies (exhaust).
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, "client")
        selector.register(server, selectors.EVENT_READ, "server")
        lost_request: int | None = None
        try:
            while not self._stopping.is_set():
                for key, _ in selector.select(timeout=_POLL_SECONDS):
                    if key.data == "client":
                        message = _recv_message(client)
                        if message is None:
                            return
                        to_lose = self._handle_request(client, server, message)
                        if to_lose is not None:
                            lost_request = to_lose
                    else:
                        message = _recv_message(server)
                        if message is None:
                            return
                        if lost_request is not None and _HEADER.unpack_from(message)[2] == lost_request:
                            # The server has finished the command; the client is left not knowing.
                            with self._lock:
                                self._lost_replies += 1
                            return
                        client.sendall(message)
        except (OSError, ValueError):
            # The peer or stop() closed a socket; either way this connection is over.
            return
        finally:
            selector.close()
            self._close(client)
            self._close(server)

    def _handle_request(self, client: socket.socket, server: socket.socket, message: bytes) -> int | None:
        """Throttle or relay one client message; the request id whose reply must be lost, if any."""
        _, request_id, _, op_code = _HEADER.unpack_from(message)
        action = "forward"
        command: str | None = None
        if op_code == OP_MSG:
            command, flags = _op_msg_command(message)
            action = self._decide(command, flags)
        if action == "throttle" and command is not None:
            client.sendall(self._throttle_reply(command, request_id))
            return None
        server.sendall(message)
        with self._lock:
            self._forwarded += 1
        return request_id if action == "lose" else None
