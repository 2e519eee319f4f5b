#!/usr/bin/env python3
"""An IAM Identity Center (SSO) portal for tests: GetRoleCredentials, as botocore's `sso`
client (service model sso/2019-06-10, rest-json) calls it.

    sso_portal.py --port-file FILE          serves plain HTTP on 127.0.0.1; FILE gets the port

    GET /federation/credentials?role_name=ROLE&account_id=ACCOUNT
        x-amz-sso_bearer_token: TOKEN

Stateless rules (the test chooses the outcome by the names it writes in its config files):
  * no token header                          -> 401 UnauthorizedException
  * a token starting with "revoked"          -> 401 UnauthorizedException (as for a token the
                                                portal no longer knows)
  * a role name starting with "denied"       -> 403 ForbiddenException ("No access")
  * an account id that is not 12 digits      -> 400 InvalidRequestException
  * a role name starting with "missing"      -> 404 ResourceNotFoundException
  * otherwise 200 {"roleCredentials": {"accessKeyId", "secretAccessKey", "sessionToken",
    "expiration" (epoch milliseconds, one hour ahead)}}, the keys being
    derived_credentials.derived("SSO", account, role, token): the same every time.
Errors carry the `x-amzn-ErrorType` header and a JSON body {"message": ...}, as the portal's
rest-json errors do. Anything else is 404. GET /_requests lists what was asked, as
[[path, token], ...] (a test support route, not the portal's).

`respond(method, path, headers)` is the same logic without a server, for the recording proxy.
"""
import argparse
import json
import os
import re
import sys
import time
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from derived_credentials import derived  # noqa: E402
from serving import announce, loopback_server, serve_until_stopped, recording_handler  # noqa: E402


def expected_credentials(account, role, token):
    """What the portal answers for a good request: the test's own expectation."""
    return derived("SSO", account, role, token)


def _error(status, kind, message):
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": kind}, json.dumps({"message": message}).encode()


def respond(method, path, headers):
    """(status, headers, body) for one request; `headers` is any mapping with .get (case as sent
    by the client is not relied on: both the exact and the lower-case name are looked up)."""
    parts = urlsplit(path)
    if method != "GET" or parts.path != "/federation/credentials":
        return 404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}'
    query = parse_qs(parts.query)
    role = (query.get("role_name") or [""])[0]
    account = (query.get("account_id") or [""])[0]
    token = headers.get("x-amz-sso_bearer_token") or headers.get("X-Amz-Sso_Bearer_Token")
    if not token or token.startswith("revoked"):
        return _error(401, "UnauthorizedException", "Session token not found or invalid")
    if not role or not re.fullmatch(r"[0-9]{12}", account):
        return _error(400, "InvalidRequestException", "role_name and a 12-digit account_id are required")
    if role.startswith("denied"):
        return _error(403, "ForbiddenException", "No access")
    if role.startswith("missing"):
        return _error(404, "ResourceNotFoundException", "Could not find role %s" % role)
    c = expected_credentials(account, role, token)
    body = {"roleCredentials": {"accessKeyId": c["AccessKeyId"], "secretAccessKey": c["SecretAccessKey"],
                                "sessionToken": c["SessionToken"], "expiration": int((time.time() + 3600) * 1000)}}
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    Handler = recording_handler(respond, "x-amz-sso_bearer_token")

    httpd = loopback_server(Handler)
    announce(args.port_file, httpd.server_address[1])
    serve_until_stopped()


if __name__ == "__main__":
    main()
