#!/usr/bin/env python3
"""Drives Orchion's NodeService and Health through grpcio stubs generated from api/*.proto.

A client nobody on the Swift side wrote: it checks the wire contract from outside Swift.
Usage: node_api_client.py --port PORT --token ADMIN_TOKEN [--api-dir DIR]
Exits 0 when every check passes; prints what failed otherwise.
"""
import argparse
import collections
import importlib
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc
import grpc_tools


def generate_stubs(api_dir: str, out_dir: str) -> None:
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    protos = [os.path.join("orchion/v1", name)
              for name in sorted(os.listdir(os.path.join(api_dir, "orchion/v1")))
              if name.endswith(".proto")]
    args = ["protoc", f"-I{api_dir}", f"-I{well_known}",
            f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", *protos]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed on " + " ".join(protos))


def expect_code(code, call, *args):
    try:
        call(*args)
    except grpc.RpcError as error:
        assert error.code() == code, f"expected {code}, got {error.code()}: {error.details()}"
        return error.details()
    raise AssertionError(f"expected {code}, call succeeded")


class CallDetails(collections.namedtuple(
        "CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready",
                        "compression")), grpc.ClientCallDetails):
    pass


class BearerToken(grpc.UnaryUnaryClientInterceptor):
    """Adds `authorization: Bearer <token>` to every call, as Orchion requires."""

    def __init__(self, token: str):
        self.token = token

    def intercept_unary_unary(self, continuation, details, request):
        metadata = list(details.metadata or []) + [("authorization", f"Bearer {self.token}")]
        return continuation(CallDetails(details.method, details.timeout, metadata,
                                        details.credentials, details.wait_for_ready,
                                        details.compression), request)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--api-dir", default=os.path.join(os.path.dirname(__file__), "../../api"))
    options = parser.parse_args()

    out_dir = tempfile.mkdtemp(prefix="orchion-py-")
    generate_stubs(os.path.abspath(options.api_dir), out_dir)
    sys.path.insert(0, out_dir)
    node_pb2 = importlib.import_module("orchion.v1.node_pb2")
    node_grpc = importlib.import_module("orchion.v1.node_pb2_grpc")
    # The health stubs come from gRPC's own grpcio-health-checking package.
    from grpc_health.v1 import health_pb2, health_pb2_grpc as health_grpc

    bare = grpc.insecure_channel(f"127.0.0.1:{options.port}")
    # Health checks need no token (probes carry none); everything else does.
    health = health_grpc.HealthStub(bare)
    status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status
    assert status == health_pb2.HealthCheckResponse.SERVING, status
    expect_code(grpc.StatusCode.UNAUTHENTICATED, node_grpc.NodeServiceStub(bare).ListNodes,
                node_pb2.ListNodesRequest())

    channel = grpc.intercept_channel(bare, BearerToken(options.token))
    nodes = node_grpc.NodeServiceStub(channel)

    request = node_pb2.RegisterNodeRequest(
        node_id="py-node", address="192.0.2.7:9000",
        labels={"lang": "python"}, metadata={"client": "grpcio"})
    request.resources.cpu_millis = 4000
    request.resources.memory_bytes = 8 << 30
    request.resources.gpus = 1
    request.resources.extended["tool/codex"] = 2
    response = nodes.RegisterNode(request, timeout=10)
    assert response.created, response
    assert response.node.id == "py-node"
    assert response.node.status == node_pb2.NODE_STATUS_ACTIVE
    assert response.node.resources.extended["tool/codex"] == 2
    assert response.heartbeat_interval.seconds > 0

    beat = nodes.Heartbeat(node_pb2.HeartbeatRequest(node_id="py-node"), timeout=10)
    assert beat.status == node_pb2.NODE_STATUS_ACTIVE

    listed = nodes.ListNodes(node_pb2.ListNodesRequest(status=node_pb2.NODE_STATUS_ACTIVE), timeout=10)
    assert [n.id for n in listed.nodes] == ["py-node"], listed

    temp = nodes.RegisterNode(node_pb2.RegisterNodeRequest(), timeout=10).node
    assert temp.id.startswith("node-"), temp.id
    # UnregisterNode removes the node: it is no longer listed.
    left = nodes.UnregisterNode(node_pb2.UnregisterNodeRequest(node_id=temp.id), timeout=10)
    assert left.node.id == temp.id, left
    everyone = nodes.ListNodes(node_pb2.ListNodesRequest(), timeout=10)
    assert temp.id not in [n.id for n in everyone.nodes], everyone

    expect_code(grpc.StatusCode.NOT_FOUND, nodes.Heartbeat,
                node_pb2.HeartbeatRequest(node_id="nobody"))
    details = expect_code(grpc.StatusCode.INVALID_ARGUMENT, nodes.RegisterNode,
                          node_pb2.RegisterNodeRequest(node_id="has space"))
    assert "node_id" in details, details
    expect_code(grpc.StatusCode.NOT_FOUND, nodes.Heartbeat,
                node_pb2.HeartbeatRequest(node_id=temp.id))
    expect_code(grpc.StatusCode.NOT_FOUND, health.Check,
                health_pb2.HealthCheckRequest(service="nope"))
    print("python interop: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
