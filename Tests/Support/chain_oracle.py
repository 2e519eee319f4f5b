#!/usr/bin/env python3
"""botocore as the oracle for the poller's configuration and credential chain (issue 10).

    chain_oracle.py --port-file FILE [--count 320] [--seed 10] [--only c001,c002] [--run BINARY]

Starts, in this process: moto (STS/IAM, signature and IAM checks on; see `start_moto`), the
recording proxy forwarding AssumeRole* to it (recording_proxy.py), a strict IMDSv2 endpoint
(imds_server.py) and the container endpoint (container_credentials.py); the SSO portal is
answered by the proxy. Then it generates the cases (chain_cases.py), writes each one's files
under its own HOME, and lets botocore resolve each one for real: a session with the case's
environment, profile and region flag asks STS GetCallerIdentity and EC2 DescribeInstances
through the proxy (tag b-ID), which records hosts, key ids and credential scopes. FILE gets
{"cases": PATH, "control": URL} once that is done. PATH lists, per case, {"id", "title",
"args", "env", "botocore"}: the poller's flags and whole environment (proxy tag p-ID).

POST URL/judge {"results": {id: {"status", "stdout", "stderr"}}} compares the poller's runs with
botocore's answers (chain_judge.py) and returns {"total", "agreed", "mismatches": [...]}.

The only differences from botocore encoded here, both written in issue 10's table:
  * AWS_REGION comes before AWS_DEFAULT_REGION (botocore reads only the second): the oracle
    sets the session's region to AWS_REGION when it is set and no --region flag is given;
  * where botocore finds no region at all, the poller asks IMDS (placement/region) unless
    IMDS is disabled: the oracle then uses the IMDS region for the clients it creates.
"""
import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import threading

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chain_cases  # noqa: E402
import chain_judge  # noqa: E402
import container_credentials  # noqa: E402
import recording_proxy  # noqa: E402
from derived_credentials import derived  # noqa: E402
from imds_server import IMDSServer  # noqa: E402
from serving import QuietHandler, announce, loopback_server, serve_until_stopped, reply  # noqa: E402

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
IMDS_REGION = "ap-southeast-2"


def start_moto():
    """moto with IAM checks, where AssumeRoleWithWebIdentity needs no signature (as in AWS:
    moto's auth layer asks one of every Query action)."""
    import boto3
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.server import ThreadedMotoServer
    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authenticate(self, cls, resource="*"):
        if self._get_action() in ("AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"):
            return None
        return original(self, cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = "http://127.0.0.1:%d" % server._server.server_port

    def client(service, key):
        return boto3.client(service, region_name="us-east-1", endpoint_url=url, aws_access_key_id=key["AccessKeyId"],
                            aws_secret_access_key=key["SecretAccessKey"], aws_session_token=key.get("SessionToken"))

    iam = client("iam", {"AccessKeyId": "AKIABOOTSTRAP0000000", "SecretAccessKey": "bootstrap"})
    users = {}
    for name, policy in (("admin", ALLOW_ALL), ("user2", ALLOW_ALL), ("limited", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]})):
        iam.create_user(UserName="oracle-" + name)
        iam.put_user_policy(UserName="oracle-" + name, PolicyName="p", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="oracle-" + name)["AccessKey"]
        users[name] = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
        if name == "admin":
            iam = client("iam", users["admin"])
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                     "Action": ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"]}]}
    roles = []
    for name in ("oracle-a", "oracle-b", "oracle-c"):
        roles.append(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=43200)["Role"]["Arn"])
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(ALLOW_ALL))
    account = roles[0].split(":")[4]
    return server, url, users, roles, account


def register_in_moto(account, role_arn, creds):
    """Makes keys that a test server hands out (IMDS, container, SSO) good at moto, as a
    session of `role_arn`, so they can be the source of an assumed role."""
    from moto.sts.models import sts_backends
    backend = sts_backends[account]["aws"]
    for c in creds:
        role = backend.assume_role("us-east-1", "registered", role_arn, None, 43200, None)
        role.access_key_id, role.secret_access_key, role.session_token = c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]


def materialise(case, root, world, proxy_port):
    """Writes the case's files under its own HOME; returns (home, env) with the placeholders
    filled in and the proxy variables for `tag` left to the caller."""
    home = os.path.join(root, case["id"])

    def fill(text):
        return text.replace("{HOME}", home).replace("{PYTHON}", sys.executable)
    for path, text in case["files"].items():
        full = os.path.join(home, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(fill(text))
    os.makedirs(home, exist_ok=True)
    env = {k: fill(v) for k, v in case["env"].items()}
    env["HOME"] = home
    return env


def proxy_environment(port, tag):
    url = "http://%s:x@127.0.0.1:%d" % (tag, port)
    return {"HTTPS_PROXY": url, "https_proxy": url, "HTTP_PROXY": url, "http_proxy": url,
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def run_all(binary, listing, root):
    """The poller on every case, four at a time, as ConfigOracleTests runs it."""
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    def run(case):
        env = dict(case["env"], PATH=os.environ.get("PATH", "/usr/bin:/bin"))
        args = [binary] + case["args"] + ["--format", "json", "--lock-file", os.path.join(root, case["id"] + ".lock")]
        p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        return case["id"], {"status": p.returncode, "stdout": p.stdout[:4000], "stderr": p.stderr[-4000:]}
    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(run, listing))


def print_table(verdict):
    print("%d of %d cases agree" % (verdict["agreed"], verdict["total"]))
    for m in verdict["mismatches"]:
        print("%s | %s | exit %s | %s" % (m["id"], m["botocore"], m["poller_exit"], m["poller_said"]))
        print("    config: " + m["title"])
        for d in m["differences"]:
            print("    - " + d)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--count", type=int, default=320)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--only", help="comma-separated case ids (debugging)")
    parser.add_argument("--run", metavar="BINARY", help="run this poller binary on every case, print the mismatch table "
                        "and exit (by hand, without swift test); --port-file is then only a scratch file")
    args = parser.parse_args()

    moto, moto_url, users, roles, account = start_moto()
    root = tempfile.mkdtemp(prefix="chain-oracle-")
    os.makedirs(os.path.join(root, "proxy"))
    proxy, proxy_port = recording_proxy.start(os.path.join(root, "proxy"), moto_url)
    imds_creds = derived("IMDS", chain_cases.IMDS_NAME)
    imds = IMDSServer("oracle-instance", {"AccessKeyId": imds_creds["AccessKeyId"], "SecretAccessKey": imds_creds["SecretAccessKey"],
                                          "Token": imds_creds["SessionToken"], "Expiration": chain_cases.iso(6 * 3600)}, IMDS_REGION)

    class ContainerHandler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            status, headers, body = container_credentials.respond("GET", self.path, self.headers)
            reply(self, status, headers, body)

    container = loopback_server(ContainerHandler)
    world = dict(users, roles=roles, account=account, imds_url=imds.url, imds_region=IMDS_REGION,
                 container_url="http://127.0.0.1:%d" % container.server_address[1], ca_bundle=proxy.ca.bundle)
    registered = chain_cases.registrations(world)
    register_in_moto(account, roles[0], registered)
    proxy.secrets.update({u["AccessKeyId"]: u["SecretAccessKey"] for u in users.values()})
    proxy.secrets.update({c["AccessKeyId"]: c["SecretAccessKey"] for c in registered})

    cases = chain_cases.generate(args.count, args.seed, world)
    if args.only:
        cases = [c for c in cases if c["id"] in args.only.split(",")]
    answers, listing = {}, []
    base = {k: os.environ[k] for k in ("PATH", "LANG") if k in os.environ}
    for case in cases:
        env = materialise(case, os.path.join(root, "homes"), world, proxy_port)
        answers[case["id"]] = chain_judge.ask_botocore(case, dict(base, **env, **proxy_environment(proxy_port, "b-" + case["id"])), world)
        listing.append({"id": case["id"], "title": case["title"], "args": case["args"], "botocore": answers[case["id"]],
                        "env": dict(env, **proxy_environment(proxy_port, "p-" + case["id"]))})
    cases_path = os.path.join(root, "cases.json")
    with open(cases_path, "w") as f:
        json.dump(listing, f)
    judge = chain_judge.Judge(proxy, {c["id"]: c for c in cases}, answers, users)
    lock = threading.Lock()

    class Control(QuietHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            with lock:
                out = json.dumps(judge.judge(body.get("results", {}))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    if args.run:
        print_table(judge.judge(run_all(args.run, listing, root)))
        moto.stop()
        shutil.rmtree(root, ignore_errors=True)
        return
    control = loopback_server(Control)
    announce(args.port_file, {"cases": cases_path, "control": "http://127.0.0.1:%d" % control.server_address[1],
                              "count": len(cases)})
    serve_until_stopped()
    moto.stop()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
