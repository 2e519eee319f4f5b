#!/usr/bin/env python3
"""A container credentials endpoint for tests: what ECS (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
on 169.254.170.2) and EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI with
AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]) serve.

    container_credentials.py --port-file FILE [--host 127.0.0.1] [--port 0]
        serves plain HTTP; FILE gets the port. --host 169.254.170.2 --port 80 makes it the ECS
        address where that address exists on the machine (it usually does not in tests).

Stateless: the URI path chooses the outcome, so a test writes the case into the variable:
  GET /creds/NAME            -> 200 credentials for NAME, whatever the Authorization header
  GET /auth/TOKEN/NAME       -> 200 credentials for NAME if the Authorization header is exactly
                                TOKEN, else 401 {"code": "AccessDenied", "message": ...}
  GET /fail/STATUS/NAME      -> STATUS (e.g. 500) with {"code": "InternalError", "message": ...}
  GET /garbage/NAME          -> 200 with a body that is not JSON
The credentials document is ECS's: {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"
(ISO 8601, one hour ahead), "RoleArn"}, with keys derived_credentials.derived("CONT", NAME).
GET /_requests lists what was asked, as [[path, authorization], ...] (a test support route).

`respond(method, path, headers)` is the same logic without a server, for the recording proxy.
"""
import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from derived_credentials import derived  # noqa: E402
from serving import announce, serve_until_stopped, recording_handler  # noqa: E402


def expected_credentials(name):
    """What the endpoint answers for NAME: the test's own expectation."""
    return derived("CONT", name)


def _json(status, doc):
    return status, {"Content-Type": "application/json"}, json.dumps(doc).encode()


def respond(method, path, headers):
    parts = path.split("?", 1)[0].strip("/").split("/")
    if method != "GET" or len(parts) < 2:
        return _json(404, {"code": "NotFound", "message": "no such path"})
    kind, name = parts[0], parts[-1]
    if kind == "auth" and len(parts) == 3:
        if headers.get("Authorization") != parts[1]:
            return _json(401, {"code": "AccessDenied", "message": "authorization token refused"})
    elif kind == "fail" and len(parts) == 3 and parts[1].isdigit():
        return _json(int(parts[1]), {"code": "InternalError", "message": "the agent failed"})
    elif kind == "garbage" and len(parts) == 2:
        return 200, {"Content-Type": "text/html"}, b"<html>captive portal</html>"
    elif kind != "creds" or len(parts) != 2:
        return _json(404, {"code": "NotFound", "message": "no such path"})
    c = expected_credentials(name)
    return _json(200, {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"], "Token": c["SessionToken"],
                       "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)),
                       "RoleArn": "arn:aws:iam::123456789012:role/%s" % name})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    Handler = recording_handler(respond, "Authorization")

    from http.server import ThreadingHTTPServer
    httpd = ThreadingHTTPServer((args.host, args.port), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    announce(args.port_file, httpd.server_address[1])
    serve_until_stopped()


if __name__ == "__main__":
    main()
