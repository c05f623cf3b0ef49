#!/usr/bin/env python3
"""An unauthenticated flood against an orchestrator: idle TCP sockets and large health watches.

Usage: connection_flood.py --port PORT --sockets N --source ADDR --handshake-timeout SECONDS
                           --watches W --watch-name-bytes B

1. Starts W Health.Watch streams with B-byte service names on one channel; each must be
   answered (SERVICE_UNKNOWN or an error) rather than held with its name.
2. Opens N TCP sockets from ADDR (a loopback address of its own, so the per-address limit
   does not touch the test's own client) and never sends a byte; prints "opened N, M open"
   (the test checks a legitimate client now, while they are held).
3. Waits up to 90 s for the server to close every one, and sorts them by how long each lived
   after it connected: "refused" (closed at accept: under half the handshake timeout) and
   "deadline" (closed at the handshake timeout or later). Prints both counts.
"""
import argparse
import errno
import resource
import select
import socket
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def say(line):
    print(line, flush=True)


def start_watches(port, count, name_bytes):
    channel = grpc.insecure_channel(
        f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 << 20)])
    stub = health_pb2_grpc.HealthStub(channel)
    answered = 0
    for index in range(count):
        name = ("w%d-" % index) + "x" * name_bytes
        call = stub.Watch(health_pb2.HealthCheckRequest(service=name), timeout=30)
        try:
            response = next(call)
            assert response.status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN, response
        except grpc.RpcError as error:
            assert error.code() in (grpc.StatusCode.INVALID_ARGUMENT,
                                    grpc.StatusCode.RESOURCE_EXHAUSTED), error
        answered += 1
        call.cancel()
    channel.close()
    say(f"watches answered {answered}")


def ready(sockets, events, seconds):
    """The sockets among `sockets` ready for `events` (or in error) within `seconds`; poll,
    because select cannot watch a descriptor above 1023."""
    by_fd = {sock.fileno(): sock for sock in sockets}
    poller = select.poll()
    for fd in by_fd:
        poller.register(fd, events)
    return [by_fd[fd] for fd, _ in poller.poll(seconds * 1000)]


def closed_by_peer(sock):
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


class Flood:
    def __init__(self, port, source):
        self.port = port
        self.source = source
        self.connected_at = {}  # socket -> when its connect completed
        self.lifetimes = []  # seconds each closed socket lived after connecting

    def open(self, count):
        """Connects in batches of 100, each connected before the next: a full accept backlog
        drops SYNs, and a retried SYN would only slow the flood down."""
        while len(self.connected_at) + len(self.lifetimes) < count:
            pending = set()
            for _ in range(min(100, count - len(self.connected_at) - len(self.lifetimes))):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                sock.bind((self.source, 0))
                code = sock.connect_ex(("127.0.0.1", self.port))
                assert code in (0, errno.EINPROGRESS), errno.errorcode.get(code, code)
                pending.add(sock)
            deadline = time.monotonic() + 30
            while pending and time.monotonic() < deadline:
                for sock in ready(pending, select.POLLOUT, 0.2):
                    error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    assert error == 0, f"connect failed: {errno.errorcode.get(error, error)}"
                    pending.discard(sock)
                    self.connected_at[sock] = time.monotonic()
                self.collect(0)
            assert not pending, f"{len(pending)} sockets never connected"

    def collect(self, seconds):
        """Notes the sockets the server has closed, waiting up to `seconds` for one."""
        for sock in ready(self.connected_at.keys(), select.POLLIN, seconds):
            if closed_by_peer(sock):
                self.lifetimes.append(time.monotonic() - self.connected_at.pop(sock))
                sock.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sockets", type=int, required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--handshake-timeout", type=float, required=True)
    parser.add_argument("--watches", type=int, required=True)
    parser.add_argument("--watch-name-bytes", type=int, required=True)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    start_watches(args.port, args.watches, args.watch_name_bytes)
    flood = Flood(args.port, args.source)
    flood.open(args.sockets)
    say(f"opened {args.sockets}, {len(flood.connected_at)} open")
    deadline = time.monotonic() + 90
    while flood.connected_at and time.monotonic() < deadline:
        flood.collect(0.5)
    refused = sum(1 for lived in flood.lifetimes if lived < args.handshake_timeout / 2)
    at_deadline = sum(1 for lived in flood.lifetimes if lived >= args.handshake_timeout)
    say(f"refused {refused}")
    say(f"closed at the deadline {at_deadline}")
    say(f"never closed {len(flood.connected_at)}")
    if flood.lifetimes:
        say(f"longest lived {max(flood.lifetimes):.1f}s")


if __name__ == "__main__":
    main()
