#!/usr/bin/env python3
"""A misbehaving AWS Organizations endpoint (JSON 1.1 protocol) for --org-role.

    python3 Tests/Support/org_hostile.py --port-file FILE --mode MODE --account ID --log FILE

Modes (what every ListAccounts gets):
    cycle      a page whose NextToken is always the same: the listing would never end
    html200    200 with an HTML page
    type200    200 with a JSON error document (`__type`)
    huge       200 with a 2 MiB JSON body
    badid      200 listing an account whose Id is a path, not 12 digits
    throttle   400 TooManyRequestsException once, then one page listing ACCOUNT only
Each request is logged to the --log file as one JSON line: {"target", "content_type", "authorization"}.
"""
import argparse
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serving import QuietHandler, announce, loopback_server, serve_until_stopped  # noqa: E402


def handler(mode, account, log):
    lock = threading.Lock()
    seen = {"n": 0}

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def reply(self, status, body, content_type="application/x-amz-json-1.1"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", "hostile-%d" % seen["n"])
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                seen["n"] += 1
                n = seen["n"]
                with open(log, "a") as f:
                    f.write(json.dumps({"target": self.headers.get("X-Amz-Target"), "content_type": self.headers.get("Content-Type"),
                                        "authorization": self.headers.get("Authorization")}) + "\n")
            page = {"Accounts": [{"Id": account, "Name": "me", "State": "ACTIVE"}]}
            if mode == "cycle":
                self.reply(200, dict(page, NextToken="again"))
            elif mode == "html200":
                self.reply(200, b"<html><body>Sign in to the proxy</body></html>", "text/html")
            elif mode == "type200":
                self.reply(200, {"__type": "ServiceException", "message": "an error document with a 200"})
            elif mode == "huge":
                self.reply(200, {"Accounts": [], "Padding": "x" * (2 << 20)})
            elif mode == "badid":
                self.reply(200, {"Accounts": [{"Id": "../../etc", "State": "ACTIVE"}]})
            elif mode == "throttle" and n == 1:
                self.reply(400, {"__type": "com.amazonaws.organizations#TooManyRequestsException", "Message": "slow down"})
            else:
                self.reply(200, page)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    server = loopback_server(handler(args.mode, args.account, args.log))
    announce(args.port_file, server.server_address[1])
    serve_until_stopped()


if __name__ == "__main__":
    main()
