#!/usr/bin/env python3
"""A small, fast loopback AWS organization for --org-role: Organizations ListAccounts, STS
GetCallerIdentity and AssumeRole, EC2 DescribeRegions and DescribeInstances, each answered
after a fixed latency. moto is far too slow for thousands of slices; this server renders
answers from a few templates and is what `make bench` and OrganizationPoolTests run against.

    python3 Tests/Support/org_server.py --port-file FILE [--accounts 200] [--regions 17]
        [--instances 50] [--latency-ms 150] [--slow-assume ACCOUNT:MS]... [--no-role ACCOUNT]...
        [--expires-in SECONDS] [--assume-ms MS] [--garbled-not-found]

FILE (JSON, once listening): {"port", "management", "members": [ids], "regions": [names],
"key": {"AccessKeyId", "SecretAccessKey"}} (the caller's key, in the management account).

Honest enough to catch a client that signs wrongly: every request must carry a SigV4
Authorization header whose credential scope names the service the action belongs to
(organizations, sts, ec2) and a region that service is asked in (us-east-1 for
Organizations and STS, an enabled region for EC2), and an access key this server issued and
that has not expired (the caller's, or one AssumeRole gave; its session token must match).
An EC2 answer is for the account the key belongs to and the region its scope names.

    GET /_log   [[seq, "start"|"end", action, account, region], ...] in arrival order (the
                account a key belongs to; for AssumeRole, the account of the role asked for)
    GET /_stats {"max_assume_in_flight": {account: n}, "max_assume_overall": n, "calls": {action: n}}
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http.server import ThreadingHTTPServer  # noqa: E402

from serving import QuietHandler, announce, serve_until_stopped  # noqa: E402

MANAGEMENT = "100000000000"
HOME = "us-east-1"
REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1",
           "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1",
           "ap-southeast-2", "ca-central-1", "sa-east-1"]
ROLE = "inventory-reader"
SCOPE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, "
                   r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")
SERVICE = {"GetCallerIdentity": "sts", "AssumeRole": "sts", "DescribeRegions": "ec2", "DescribeInstances": "ec2"}

ITEM = ("<item><reservationId>r-{r}</reservationId><ownerId>{account}</ownerId><groupSet/><instancesSet><item>"
        "<instanceId>i-{iid}</instanceId><imageId>ami-0abcdef1234567890</imageId>"
        "<instanceState><code>16</code><name>running</name></instanceState>"
        "<privateDnsName>ip-10-0-0-{n}.ec2.internal</privateDnsName><instanceType>m5.large</instanceType>"
        "<launchTime>2026-01-10T03:21:33.000Z</launchTime><placement><availabilityZone>{region}a</availabilityZone>"
        "<tenancy>default</tenancy></placement><subnetId>subnet-0a1b2c3d4e5f67890</subnetId><vpcId>vpc-0a1b2c3d4e5f67890</vpcId>"
        "<privateIpAddress>10.0.0.{n}</privateIpAddress><architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType>"
        "<tagSet><item><key>Name</key><value>web-{n:03d}</value></item><item><key>env</key><value>prod</value></item></tagSet>"
        "</item></instancesSet></item>")


class Server(ThreadingHTTPServer):
    """Loopback only; a listen backlog for 32 workers connecting at once (the default 5
    would drop SYNs and cost a second's retransmit each)."""
    daemon_threads = True
    request_queue_size = 128


class Organization:
    def __init__(self, args):
        self.latency = args.latency_ms / 1000.0
        self.members = ["%012d" % (int(MANAGEMENT) + i) for i in range(1, args.accounts + 1)]
        self.regions = REGIONS[:args.regions]
        self.instances = args.instances
        self.slow = {a: int(ms) / 1000.0 for a, ms in (s.split(":") for s in args.slow_assume)}
        self.no_role = set(args.no_role)
        self.expires_in = args.expires_in
        self.assume_extra = args.assume_ms / 1000.0
        self.garbled_not_found = args.garbled_not_found
        self.lock = threading.Lock()
        self.caller = {"AccessKeyId": "AKIA" + secrets.token_hex(8).upper(), "SecretAccessKey": secrets.token_hex(20)}
        self.keys = {self.caller["AccessKeyId"]: (MANAGEMENT, None, None)}   # key -> (account, token, expires)
        self.log, self.seq, self.calls = [], 0, {}
        self.assuming, self.max_assume, self.max_overall = {}, {}, 0

    def note(self, what, action, account, region):
        with self.lock:
            self.seq += 1
            self.log.append([self.seq, what, action, account, region])
            if what == "start":
                self.calls[action] = self.calls.get(action, 0) + 1

    def assume_began(self, account, delta):
        with self.lock:
            self.assuming[account] = self.assuming.get(account, 0) + delta
            if delta > 0:
                self.max_assume[account] = max(self.max_assume.get(account, 0), self.assuming[account])
                self.max_overall = max(self.max_overall, sum(self.assuming.values()))

    def stats(self):
        with self.lock:
            return {"max_assume_in_flight": self.max_assume, "max_assume_overall": self.max_overall, "calls": self.calls}

    def issue(self, account):
        key, token = "ASIA" + secrets.token_hex(8).upper(), secrets.token_hex(24)
        expires = time.time() + self.expires_in
        with self.lock:
            self.keys[key] = (account, token, expires)
        return key, token, expires


def query_error(code, message, status=400):
    return status, "text/xml", ("<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors>"
                                "<RequestID>org-server</RequestID></Response>" % (code, message)).encode()


def sts_error(code, message, status=403):
    return status, "text/xml", ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                                "<Code>%s</Code><Message>%s</Message></Error><RequestId>org-server</RequestId></ErrorResponse>"
                                % (code, message)).encode()


def json_error(code, message, status=400):
    return status, "application/x-amz-json-1.1", json.dumps({"__type": code, "Message": message}).encode()


def handler(org):
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"
        # Python's http.server otherwise waits ~40 ms (Nagle, delayed ACK) on a reused connection.
        disable_nagle_algorithm = True

        def answer(self, status, ctype, body):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/_log":
                with org.lock:
                    body = json.dumps(org.log).encode()
            elif self.path == "/_stats":
                body = json.dumps(org.stats()).encode()
            else:
                return self.answer(*query_error("NotFound", "no such path", 404))
            self.answer(200, "application/json", body)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = self.headers.get("X-Amz-Target")
            if target:
                action, service, form = target.rsplit(".", 1)[-1], "organizations", {}
            else:
                form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
                action = form.get("Action", "")
                service = SERVICE.get(action)
            if service is None:
                return self.answer(*query_error("InvalidAction", "not served here"))
            problem, account, region = self.authorize(service)
            if problem:
                fail = json_error if service == "organizations" else sts_error if service == "sts" else query_error
                return self.answer(*fail(problem[0], problem[1], 403 if problem[0] != "ExpiredToken" else 400))
            # AssumeRole is logged under the account whose role it asks for.
            parts = form.get("RoleArn", "").split(":")
            logged = parts[4] if action == "AssumeRole" and len(parts) == 6 else account
            org.note("start", action, logged, region)
            time.sleep(org.latency)
            try:
                self.answer(*self.respond(action, account, region, form, body))
            finally:
                org.note("end", action, logged, region)

        def authorize(self, service):
            """(problem, account, region): the SigV4 scope must name `service` and one of its
            regions, and the key must be one this server issued and that has not expired."""
            match = SCOPE.match(self.headers.get("Authorization") or "")
            if not match:
                return ("IncompleteSignature", "no SigV4 Authorization header"), None, None
            key, _, region, signed_service = match.group(1), match.group(2), match.group(3), match.group(4)
            if signed_service != service:
                return ("SignatureDoesNotMatch", "signed for %s, sent to %s" % (signed_service, service)), None, None
            allowed = org.regions if service == "ec2" else [HOME]
            if region not in allowed:
                return ("SignatureDoesNotMatch", "signed for region %s" % region), None, None
            if "host" not in match.group(5).split(";") or "x-amz-date" not in match.group(5).split(";"):
                return ("SignatureDoesNotMatch", "Host and X-Amz-Date must be signed"), None, None
            with org.lock:
                known = org.keys.get(key)
            if known is None:
                return ("InvalidClientTokenId", "The security token included in the request is invalid"), None, None
            account, token, expires = known
            if token is not None and self.headers.get("X-Amz-Security-Token") != token:
                return ("InvalidClientTokenId", "The security token included in the request is invalid"), None, None
            if expires is not None and time.time() >= expires:
                return ("ExpiredToken", "The security token included in the request is expired"), None, None
            return None, account, region

        def respond(self, action, account, region, form, body):
            if action == "ListAccounts":
                return self.list_accounts(body)
            if action == "GetCallerIdentity":
                return 200, "text/xml", ('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                                         "<GetCallerIdentityResult><Arn>arn:aws:iam::%s:user/poller</Arn><UserId>AIDAPOLLER</UserId>"
                                         "<Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId>"
                                         "</ResponseMetadata></GetCallerIdentityResponse>" % (account, account)).encode()
            if action == "AssumeRole":
                return self.assume_role(account, form)
            if action == "DescribeRegions":
                items = "".join("<item><regionName>%s</regionName><regionEndpoint>ec2.%s.amazonaws.com</regionEndpoint>"
                                "<optInStatus>opt-in-not-required</optInStatus></item>" % (r, r) for r in org.regions)
                return 200, "text/xml", ('<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                                         "<requestId>r</requestId><regionInfo>%s</regionInfo></DescribeRegionsResponse>" % items).encode()
            return self.describe_instances(account, region, form)

        def list_accounts(self, body):
            try:
                request = json.loads(body or b"{}")
            except ValueError:
                return json_error("InvalidInputException", "not JSON")
            everyone = [MANAGEMENT] + org.members
            start = int(request.get("NextToken") or 0)
            size = int(request.get("MaxResults") or 20)
            page = everyone[start:start + size]
            out = {"Accounts": [{"Id": a, "Name": "account-%s" % a, "State": "ACTIVE", "Status": "ACTIVE",
                                 "Arn": "arn:aws:organizations::%s:account/o-bench/%s" % (MANAGEMENT, a)} for a in page]}
            if start + size < len(everyone):
                out["NextToken"] = str(start + size)
            return 200, "application/x-amz-json-1.1", json.dumps(out).encode()

        def assume_role(self, caller, form):
            arn = form.get("RoleArn", "")
            parts = arn.split(":")
            target = parts[4] if len(parts) == 6 else ""
            if caller != MANAGEMENT or target not in org.members or target in org.no_role or parts[5] != "role/" + ROLE:
                return sts_error("AccessDenied", "User is not authorized to perform: sts:AssumeRole on resource: %s" % arn)
            org.assume_began(target, 1)
            try:
                time.sleep(org.slow.get(target, 0) + org.assume_extra)
                key, token, expires = org.issue(target)
            finally:
                org.assume_began(target, -1)
            stamp = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            return 200, "text/xml", ('<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
                                     "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
                                     "<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>"
                                     "<AssumedRoleUser><AssumedRoleId>AROA:%s</AssumedRoleId><Arn>arn:aws:sts::%s:assumed-role/%s/s</Arn>"
                                     "</AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId>"
                                     "</ResponseMetadata></AssumeRoleResponse>"
                                     % (key, secrets.token_hex(20), token, stamp, target, target, ROLE)).encode()

        def describe_instances(self, account, region, form):
            """Every instance of the slice, or with `InstanceId.N` those asked for; any id the
            slice does not hold refuses the whole call, as EC2 does (InvalidInstanceID.NotFound)."""
            ids = ["i-" + hashlib.sha1(("%s%s%d" % (account, region, n)).encode()).hexdigest()[:17] for n in range(org.instances)]
            asked = [v for k, v in sorted(form.items()) if k.startswith("InstanceId.")]
            unknown = [i for i in asked if i not in ids]
            if unknown:
                message = ("The instance ID %s does not exist" % unknown[0] if org.garbled_not_found
                           else "The instance IDs '%s' do not exist" % ", ".join(unknown) if len(unknown) > 1
                           else "The instance ID '%s' does not exist" % unknown[0])
                return query_error("InvalidInstanceID.NotFound", message)
            wanted = [n for n in range(org.instances) if not asked or ids[n] in asked]
            items = "".join(ITEM.format(r=hashlib.md5(("%s%s%d" % (account, region, n)).encode()).hexdigest()[:17],
                                        iid=ids[n][2:], account=account, region=region, n=n) for n in wanted)
            return 200, "text/xml", ('<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                                     "<requestId>r</requestId><reservationSet>%s</reservationSet></DescribeInstancesResponse>"
                                     % items).encode()

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--accounts", type=int, default=200, help="member accounts besides the management account")
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--instances", type=int, default=50, help="instances in each (account, region)")
    parser.add_argument("--latency-ms", type=float, default=150)
    parser.add_argument("--slow-assume", action="append", default=[], help="ACCOUNT:MS more for that account's AssumeRole")
    parser.add_argument("--assume-ms", type=float, default=0, help="more for every AssumeRole")
    parser.add_argument("--no-role", action="append", default=[], help="an account whose role cannot be assumed")
    parser.add_argument("--garbled-not-found", action="store_true",
                        help="InvalidInstanceID.NotFound without the quotes around the ids (a message no parser can read)")
    parser.add_argument("--expires-in", type=float, default=3600, help="lifetime of AssumeRole's credentials")
    args = parser.parse_args()
    org = Organization(args)
    httpd = Server(("127.0.0.1", 0), handler(org))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    announce(args.port_file, {"port": httpd.server_address[1], "management": MANAGEMENT, "members": org.members,
                              "regions": org.regions, "role": ROLE, "key": org.caller})
    serve_until_stopped()


if __name__ == "__main__":
    main()
