#!/usr/bin/env python3
"""moto's STS for AssumeRoleWithWebIdentity, which the SDKs send UNSIGNED (the token is the
proof). The world's moto checks every request's SigV4 signature, so an unsigned request
cannot reach its STS; this one runs with moto's default (no signature checks) and serves
only the tests that call AssumeRoleWithWebIdentity.

    sts_web_identity.py --port-file FILE        plain HTTP on 127.0.0.1; FILE gets the port
"""
import argparse
import logging
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moto.server import ThreadedMotoServer  # noqa: E402
from serving import announce, serve_until_stopped  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    announce(args.port_file, port)
    serve_until_stopped()
    server.stop()


if __name__ == "__main__":
    main()
