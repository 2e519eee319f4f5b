"""A strict IMDSv2 endpoint for tests and the demo.

Strict the way EC2 is with HttpTokens=required:
  * PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds in 1..21600, else 400;
  * every GET needs a live token in X-aws-ec2-metadata-token, else 401 (no IMDSv1);
  * any request carrying X-Forwarded-For gets 403 (IMDS refuses proxied requests);
  * tokens expire after their TTL.

Faults are switched per server (see Faults) so a test can break exactly one thing.
"""
import json
import secrets
import threading
import time

from serving import QuietHandler, loopback_server


class Faults:
    def __init__(self):
        self.fail_next = 0          # the next N requests (any path) answer 500
        self.stall_seconds = 0.0    # sleep before answering every request
        self.stall_token_seconds = 0.0  # sleep before answering token PUTs only
        self.token_ttl_cap = None   # tokens live at most this many seconds
        self.no_role = False        # security-credentials/ answers 404, as with no role attached
        self.credentials_code = "Success"  # e.g. "AssumeRoleUnauthorizedAccess"
        self.no_expiration = False  # the credentials document has no Expiration
        self.credentials_body = None  # the credentials document, replaced by this raw text
        self.stall_credentials_seconds = 0.0  # sleep before answering the role's credentials (logged as status 0 on arrival)
        # The role's credentials document, and any POST, answer with this many bytes of
        # filler: "length" announces them in Content-Length, "chunked" streams them with no
        # length. Sending stops when the client hangs up, or after huge_body bytes.
        self.huge_body = 0
        self.huge_body_mode = "chunked"

    def update(self, changes):
        for key, value in changes.items():
            if not hasattr(self, key):
                raise KeyError(key)
            setattr(self, key, value)


class IMDSState:
    def __init__(self, role, credentials, region):
        self.role = role
        self.credentials = credentials   # dict: AccessKeyId, SecretAccessKey, Token, Expiration
        self.region = region
        self.faults = Faults()
        self.tokens = {}                 # token -> expiry (monotonic)
        self.lock = threading.Lock()
        self.requests = []               # (method, path, status)

    def expire_tokens(self):
        with self.lock:
            self.tokens.clear()


def make_handler(state):
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status, body="", headers=None):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
            with state.lock:
                state.requests.append((self.command, self.path, status))

        def _send_huge(self):
            """Streams faults.huge_body bytes in 64 KiB pieces; a bounded loop that ends early
            when the client closes the connection."""
            total = int(state.faults.huge_body)
            chunked = state.faults.huge_body_mode == "chunked"
            piece = b"x" * 65536
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(total))
            self.end_headers()
            with state.lock:
                state.requests.append((self.command, self.path, 200))
            sent = 0
            try:
                while sent < total:
                    n = min(len(piece), total - sent)
                    data = piece[:n]
                    self.wfile.write(b"%x\r\n%s\r\n" % (n, data) if chunked else data)
                    sent += n
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if state.faults.huge_body:
                self._send_huge()
            else:
                self._send(404, "Not Found")

        def _preamble(self):
            f = state.faults
            if f.stall_seconds:
                time.sleep(f.stall_seconds)
            if self.headers.get("X-Forwarded-For") is not None:
                self._send(403, "Forbidden")
                return False
            with state.lock:
                if f.fail_next > 0:
                    f.fail_next -= 1
                    fail = True
                else:
                    fail = False
            if fail:
                self._send(500, "Internal Server Error")
                return False
            return True

        def do_PUT(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if state.faults.stall_token_seconds:
                time.sleep(state.faults.stall_token_seconds)
            if not self._preamble():
                return
            if self.path != "/latest/api/token":
                self._send(404, "Not Found")
                return
            try:
                ttl = int(self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", ""))
            except ValueError:
                self._send(400, "Missing or invalid TTL")
                return
            if not 1 <= ttl <= 21600:
                self._send(400, "Invalid TTL")
                return
            if state.faults.token_ttl_cap is not None:
                ttl = min(ttl, state.faults.token_ttl_cap)
            token = "AQAEA" + secrets.token_urlsafe(40)
            with state.lock:
                state.tokens[token] = time.monotonic() + ttl
            self._send(200, token, {"X-aws-ec2-metadata-token-ttl-seconds": str(ttl)})

        def do_GET(self):
            if not self._preamble():
                return
            token = self.headers.get("X-aws-ec2-metadata-token")
            with state.lock:
                expiry = state.tokens.get(token) if token else None
            if expiry is None or expiry < time.monotonic():
                self._send(401, "Unauthorized")
                return
            path = self.path
            creds_prefix = "/latest/meta-data/iam/security-credentials/"
            if path == creds_prefix:
                if state.faults.no_role:
                    self._send(404, "Not Found")
                else:
                    self._send(200, state.role)
            elif path == creds_prefix + state.role and not state.faults.no_role:
                if state.faults.stall_credentials_seconds:
                    # Logged on arrival with status 0, so a test knows the read is in flight.
                    with state.lock:
                        state.requests.append((self.command, self.path, 0))
                    time.sleep(state.faults.stall_credentials_seconds)
                if state.faults.huge_body:
                    self._send_huge()
                    return
                if state.faults.credentials_body is not None:
                    self._send(200, state.faults.credentials_body)
                    return
                c = dict(state.credentials)
                if state.faults.no_expiration:
                    c.pop("Expiration", None)
                body = {"Code": state.faults.credentials_code, "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "Type": "AWS-HMAC"}
                if state.faults.credentials_code == "Success":
                    body.update(c)
                else:
                    body["Message"] = "The instance profile's role cannot be assumed"
                self._send(200, json.dumps(body, indent=2))
            elif path == "/latest/meta-data/placement/region":
                self._send(200, state.region)
            elif path == "/latest/meta-data/instance-id":
                self._send(200, "i-0123456789abcdef0")
            else:
                self._send(404, "Not Found")

    return Handler


class IMDSServer:
    """An IMDS server on a free loopback port, in a background thread."""

    def __init__(self, role, credentials, region, port=0):
        self.state = IMDSState(role, credentials, region)
        self.httpd = loopback_server(make_handler(self.state), port)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
