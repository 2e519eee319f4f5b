"""A hostile peer: one HTTP server on loopback playing IMDS, STS and EC2, misbehaving on demand.

    hostile_server.py --port-file FILE [--modes JSON] [--skew SECONDS] [--skew-code CODE]

Writes its port to FILE once listening; runs until stdin closes or SIGTERM. Point the poller at
it with AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL_STS (or AWS_ENDPOINT_URL) and, for IMDS,
AWS_EC2_METADATA_SERVICE_ENDPOINT. Signatures are not checked (that is moto's job); only the
request's X-Amz-Date is, in skew mode.

Each action (DescribeInstances, DescribeRegions, GetCallerIdentity, AssumeRole, and "imds")
has a mode, "ok" by default:

  ok               a well-formed answer: a fleet of `fleet` instances paged by MaxResults
  errors200        HTTP 200 with an EC2 error document <Response><Errors>...
  html             HTTP 200 with a captive portal's HTML page
  other_operation  HTTP 200 with another operation's well-formed response
  wrong_namespace  the right root element in a foreign XML namespace
  no_regions       (DescribeRegions) a well-formed answer listing no region
  no_enabled_regions  (DescribeRegions) only regions that are not opted in
  empty            HTTP 200, empty body
  truncated        the ok body cut in half
  deep_error       HTTP 400, an error document whose message nests 10,000 elements
  deep_reply       the ok body with 10,000 nested elements inside its first value
  cycle            (DescribeInstances) NextTokens A -> B -> A -> ...
  duplicates       (DescribeInstances) instances repeated across and within pages
  huge             HTTP 200, a 100 MB body streamed (a document that never closes)
  signature_mismatch  HTTP 403 SignatureDoesNotMatch with the clocks in agreement (not skew)
  control_chars    HTTP 400, an error message with ANSI escapes, CR/LF and a forged log line
  slow             the ok body dripped in small pieces over about two seconds

Skew: with --skew S (or POST /_control {"skew": S}) the server's clock runs S seconds ahead of
the host's; it sends that clock in every `Date` header and answers `skew_code` (default
RequestTimeTooSkewed) to any request whose X-Amz-Date is more than 5 minutes off it.

Control (JSON): POST /_control {"modes": {...}, "skew": S, "skew_code": C, "fleet": N}
                GET /_control/requests -> [{"action", "mode", "status", "token"}]
"""
import argparse
import calendar
import email.utils
import json
import threading
import time
import urllib.parse

from hostile_bodies import (DEPTH, EC2_NS, HOSTILE_MESSAGE, HTML, HUGE, OTHER, STS_NS, assume_role_body, error_document,
                            identity_body, instances_page, regions_body)
from serving import QuietHandler, announce, loopback_server, serve_until_stopped

class State:
    def __init__(self, modes, skew, skew_code):
        self.lock = threading.Lock()
        self.modes = dict(modes)
        self.skew = skew
        self.skew_code = skew_code
        self.fleet = 7
        self.requests = []

    def mode(self, action):
        with self.lock:
            return self.modes.get(action, "ok")


class Handler(QuietHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set by main

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(time.time() + self.state.skew, usegmt=True)

    # -- plumbing --------------------------------------------------------------------------

    def _send(self, status, body, content_type="text/xml;charset=UTF-8", action="", mode="", token=None):
        data = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body
        with self.state.lock:
            self.state.requests.append({"action": action, "mode": mode, "status": status, "token": token})
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if mode == "slow":
                step = max(1, len(data) // 10)
                for i in range(0, len(data), step):
                    self.wfile.write(data[i:i + step])
                    self.wfile.flush()
                    time.sleep(0.2)
            else:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_huge(self, head, action):
        with self.state.lock:
            self.state.requests.append({"action": action, "mode": "huge", "status": 200, "token": None})
        chunk = b" " * (1024 * 1024)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(head) + HUGE))
            self.end_headers()
            self.wfile.write(head)
            for _ in range(HUGE // len(chunk)):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    # -- IMDS ------------------------------------------------------------------------------

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/latest/api/token":
            return self._send(404, "Not Found", "text/plain", "imds")
        self._send(200, "AQAEAhostiletoken", "text/plain", "imds-token")

    def do_GET(self):
        if self.path.startswith("/_control/requests"):
            with self.state.lock:
                listing = json.dumps(self.state.requests)
            return self._send(200, listing, "application/json")
        if self.headers.get("X-aws-ec2-metadata-token") != "AQAEAhostiletoken":
            return self._send(401, "Unauthorized", "text/plain", "imds")
        mode = self.state.mode("imds")
        prefix = "/latest/meta-data/iam/security-credentials/"
        if self.path == prefix:
            return self._send(200, "hostile-role", "text/plain", "imds", mode)
        if self.path == prefix + "hostile-role":
            if mode == "huge":
                return self._send_huge(b'{"Code": "Success", "AccessKeyId": "', "imds")
            if mode == "html":
                return self._send(200, HTML, "text/html", "imds", mode)
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 6 * 3600))
            body = {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIAIMDSHOSTILE", "SecretAccessKey": "imds-secret",
                    "Token": "imds-token", "Expiration": expires, "LastUpdated": expires}
            return self._send(200, json.dumps(body), "text/plain", "imds", mode)
        if self.path == "/latest/meta-data/placement/region":
            return self._send(200, "us-east-1", "text/plain", "imds", mode)
        self._send(404, "Not Found", "text/plain", "imds", mode)

    # -- STS and EC2 ------------------------------------------------------------------------

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/_control"):
            return self._control(json.loads(body or b"{}"))
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
        action = form.get("Action", "")
        mode = self.state.mode(action)
        if self._skewed(action):
            return
        if form.get("DryRun") == "true" and mode == "ok":
            return self._send(412, error_document("DryRunOperation", "Request would have succeeded, but DryRun flag is set."),
                              action=action, mode=mode)
        if mode == "huge":
            return self._send_huge(b'<DescribeInstancesResponse xmlns="%s"><requestId>x</requestId><padding>' % EC2_NS.encode(), action)
        status, text = self._answer(action, mode, form)
        self._send(status, text, "text/html" if mode == "html" else "text/xml;charset=UTF-8", action, mode, form.get("NextToken"))

    def _skewed(self, action):
        with self.state.lock:
            skew, code = self.state.skew, self.state.skew_code
        if not skew:
            return False
        stamp = self.headers.get("X-Amz-Date", "")
        try:
            signed = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            signed = 0
        server = time.time() + skew
        if abs(server - signed) <= 300:
            return False
        message = ("Signature expired: %s is now earlier than %s (%s - 5 min.)" % (stamp, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(server)),
                   time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(server)))) if code == "SignatureDoesNotMatch" \
            else "The difference between the request time and the current time is too large."
        if action in ("GetCallerIdentity", "AssumeRole"):
            text = ("<ErrorResponse xmlns=\"%s\"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
                    "<RequestId>hostile-skew</RequestId></ErrorResponse>" % (STS_NS, code, message))
        else:
            text = error_document(code, message)
        self._send(403 if code != "RequestExpired" else 400, text, action=action, mode="skewed")
        return True

    def _ok(self, action, form):
        if action == "DescribeInstances":
            return instances_page(*self._page(form))
        if action == "DescribeRegions":
            return regions_body([("us-east-1", "opt-in-not-required"), ("eu-west-1", "opt-in-not-required"),
                                 ("ap-east-1", "not-opted-in")])
        if action == "GetCallerIdentity":
            return identity_body()
        if action == "AssumeRole":
            return assume_role_body()
        return None

    def _page(self, form):
        size = int(form.get("MaxResults", "1000"))
        token = form.get("NextToken")
        start = int(token.split("-")[1]) if token and token.startswith("page-") else 0
        with self.state.lock:
            fleet = self.state.fleet
        end = min(fleet, start + size)
        return list(range(start + 1, end + 1)), ("page-%d" % end if end < fleet else None)

    def _answer(self, action, mode, form):
        ok = self._ok(action, form)
        if ok is None:
            return 400, error_document("InvalidAction", "The action %s is not valid for this web service." % action)
        if mode == "errors200":
            return 200, error_document("UnauthorizedOperation", "You are not authorized to perform this operation.")
        if mode == "html":
            return 200, HTML
        if mode == "other_operation":
            return 200, self._ok(OTHER[action], {}) if action in OTHER else HTML
        if mode == "wrong_namespace":
            return 200, ok.replace(EC2_NS, "http://example.com/not-aws/").replace(STS_NS, "http://example.com/not-aws/")
        if mode == "no_regions":
            return 200, regions_body([])
        if mode == "no_enabled_regions":
            return 200, regions_body([("ap-east-1", "not-opted-in"), ("me-south-1", "not-opted-in")])
        if mode == "empty":
            return 200, ""
        if mode == "truncated":
            return 200, ok[: len(ok) // 2]
        if mode == "deep_error":
            return 400, error_document("UnauthorizedOperation", "deep" + "<a>" * DEPTH + "x" + "</a>" * DEPTH)
        if mode == "deep_reply":
            # Inside the first value: <Arn> for STS, <instanceId> or <regionName> for EC2.
            first = next(tag for tag in ("<Arn>", "<instanceId>", "<regionName>") if tag in ok)
            cut = ok.index("</", ok.index(first))
            return 200, ok[:cut] + "<a>" * DEPTH + "</a>" * DEPTH + ok[cut:]
        if mode == "cycle" and action == "DescribeInstances":
            token = form.get("NextToken")
            nxt = {None: "A", "A": "B", "B": "A"}.get(token, "A")
            number = {None: 1, "A": 2, "B": 3}.get(token, 9)
            return 200, instances_page([number], nxt)
        if mode == "duplicates" and action == "DescribeInstances":
            if form.get("NextToken") == "D2":
                return 200, instances_page([3, 4, 4, 5])
            return 200, instances_page([1, 2, 3], "D2")
        if mode == "signature_mismatch":
            return 403, error_document("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
        if mode == "control_chars":
            return 400, error_document("UnauthorizedOperation", HOSTILE_MESSAGE)
        return 200, ok

    def _control(self, changes):
        with self.state.lock:
            self.state.modes.update(changes.get("modes", {}))
            self.state.skew = changes.get("skew", self.state.skew)
            self.state.skew_code = changes.get("skew_code", self.state.skew_code)
            self.state.fleet = changes.get("fleet", self.state.fleet)
        self._send(200, "{}", "application/json")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--modes", default="{}")
    parser.add_argument("--skew", type=float, default=0)
    parser.add_argument("--skew-code", default="RequestTimeTooSkewed")
    args = parser.parse_args()
    Handler.state = State(json.loads(args.modes), args.skew, args.skew_code)
    httpd = loopback_server(Handler)
    announce(args.port_file, httpd.server_address[1])
    serve_until_stopped()
    httpd.shutdown()


if __name__ == "__main__":
    main()
