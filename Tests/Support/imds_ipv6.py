"""The strict IMDSv2 server (imds_server.py's handler, unchanged) listening on the IPv6
loopback [::1], for the poller's IPv6 IMDS endpoints (`http://[...]:port`).

    imds_ipv6.py --credentials JSON --region REGION --port-file PATH

Announces the port; stops when stdin closes. Exits 3 when the host has no IPv6 loopback.
"""
import argparse
import json
import socket
import sys
import threading
from http.server import ThreadingHTTPServer

from imds_server import IMDSState, make_handler
from serving import announce, serve_until_stopped


class IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--credentials", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    try:
        httpd = IPv6Server(("::1", 0), make_handler(IMDSState("inventory-poller", json.loads(args.credentials), args.region)))
    except OSError:
        sys.exit(3)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    announce(args.port_file, httpd.server_address[1])
    serve_until_stopped()
    httpd.shutdown()


if __name__ == "__main__":
    main()
