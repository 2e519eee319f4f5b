#!/usr/bin/env python3
"""The local AWS world: moto (EC2, STS, IAM) with signature and IAM checks on, a strict IMDSv2
endpoint serving an instance role's temporary credentials, and a small control API.

    python3 Tests/Support/world.py --state FILE [--size test|demo]     (--port-file is the same as --state)

It writes FILE (JSON) once everything is ready and runs until stdin closes or SIGTERM:
    {"moto_url", "imds_url", "control_url", "account", "role_arn", "regions", "counts", ...}

Control API (JSON over HTTP on control_url), for tests that need their own faults:
    POST /imds                    {"faults": {...}} -> {"id", "url"}   a fresh IMDS, same role
    POST /imds/<id>/faults        {...}                                switch faults on or off
    POST /imds/<id>/expire                                             expire every live token
    GET  /imds/<id>/requests                                           [[method, path, status], ...]
    POST /ec2/seed                {"region", "count"} -> {"ids"}       launch instances in a region of the test's own
    POST /ec2/change              {"region", "stop", "start", "terminate", "vanish": [ids],
                                   "tag": {id: {key: value}}, "type": {id: type}, "launch": n} -> {"launched"}
                                  "vanish" drops instances from moto outright, as EC2 forgets
                                  terminated instances after an hour
    POST /proxy                   {"rules": [...]} -> {"id", "url"}    a fault-injecting front for moto
    GET  /proxy/<id>/calls        {"<region>/<action>": count}
"""
import argparse
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

# moto reads this at import time. The first actions create the admin user and its key; every
# request after them must carry a valid SigV4 signature from a known key, and is checked
# against that identity's IAM policies.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"
os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imds_server import IMDSServer  # noqa: E402
from serving import announce, loopback_server, serve_until_stopped  # noqa: E402
from world_control import control_handler  # noqa: E402

ROLE_NAME = "inventory-poller"
POLLER_ACTIONS = ["ec2:DescribeInstances", "ec2:DescribeRegions", "sts:GetCallerIdentity", "sts:AssumeRole"]
# More accounts for --assume-role: in B the poller's role may poll; in C it may only ask who it is.
ACCOUNT_B = "111111111111"
ACCOUNT_C = "222222222222"
ROLE_B = "arn:aws:iam::%s:role/inventory-poller" % ACCOUNT_B
ROLE_C_DENIED = "arn:aws:iam::%s:role/inventory-poller" % ACCOUNT_C
ACCOUNT_B_REGIONS = {"us-east-1": 5, "eu-west-1": 3}
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
AMIS = ["ami-1e749f67", "ami-03cf127a"]
TYPES = ["t3.micro", "m5.large", "c5.xlarge", "t3.small"]

SPECIAL_TAGS = [
    {"Key": "Name", "Value": "ünïcødé-東京-🚀"},
    {"Key": "query-chars", "Value": "a&b=c+d/e?f"},
    {"Key": "xml<special>", "Value": "<tag> & \"quotes\" 'apos'"},
    {"Key": "empty", "Value": ""},
    {"Key": "spaces", "Value": "  leading and trailing  "},
    {"Key": "percent", "Value": "100% + 50%2F"},
]

SIZES = {
    # region -> (single-instance reservations, three-instance reservations)
    "test": {"us-east-1": (1010, 5), "eu-west-1": (20, 3), "ap-southeast-2": (12, 2)},
    "demo": {"us-east-1": (14, 2), "eu-west-1": (8, 1), "ap-southeast-2": (5, 1)},
}


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class World:
    def __init__(self, size):
        self.size = size
        port = free_port()
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        import logging
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.moto.start()
        self.moto_url = "http://127.0.0.1:%d" % port
        self.imds = {}
        self.ids_lock = threading.Lock()
        self.proxies = {}
        self.counts = {}

    def client(self, service, region="us-east-1", creds=None):
        creds = creds or self.admin
        return boto3.client(service, region_name=region, endpoint_url=self.moto_url,
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds.get("SessionToken"))

    def setup_identities(self):
        bootstrap = {"AccessKeyId": "AKIABOOTSTRAP0000000", "SecretAccessKey": "bootstrap"}
        iam = self.client("iam", creds=bootstrap)
        iam.create_user(UserName="world-admin")
        iam.put_user_policy(UserName="world-admin", PolicyName="admin", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="world-admin")["AccessKey"]
        self.admin = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
        iam = self.client("iam")
        me = self.client("sts").get_caller_identity()
        self.account, admin_arn = me["Account"], me["Arn"]
        role = iam.create_role(RoleName=ROLE_NAME, MaxSessionDuration=43200, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "ec2.amazonaws.com", "AWS": admin_arn}}]}))
        self.role_arn = role["Role"]["Arn"]
        iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="inventory-read", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": POLLER_ACTIONS, "Resource": "*"}]}))
        # A user that may only ask who it is: DescribeInstances must be denied by IAM.
        iam.create_user(UserName="limited")
        iam.put_user_policy(UserName="limited", PolicyName="whoami", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="limited")["AccessKey"]
        self.limited = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
        creds = self.client("sts").assume_role(RoleArn=self.role_arn, RoleSessionName="i-0123456789abcdef0",
                                               DurationSeconds=43200)["Credentials"]
        self.role_credentials = {
            "AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretAccessKey"],
            "Token": creds["SessionToken"], "Expiration": creds["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def setup_second_account(self):
        """Roles in account B are made in moto's IAM backend directly: no identity exists in
        that account yet to make them through the API. Everything after that goes through it."""
        from moto.iam.models import iam_backends
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                     "Principal": {"AWS": "arn:aws:iam::%s:root" % self.account}}]})
        for account, name, actions in ((ACCOUNT_B, "world-admin", "*"), (ACCOUNT_B, "inventory-poller", POLLER_ACTIONS),
                                       (ACCOUNT_C, "inventory-poller", ["sts:GetCallerIdentity"])):
            iam = iam_backends[account]["aws"]
            iam.create_role(name, trust, "/", None, "", [], "43200")
            iam.put_role_policy(name, "policy", json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
        creds = self.client("sts").assume_role(RoleArn="arn:aws:iam::%s:role/world-admin" % ACCOUNT_B,
                                               RoleSessionName="world-setup")["Credentials"]
        b = {"AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretAccessKey"], "SessionToken": creds["SessionToken"]}
        for region, count in ACCOUNT_B_REGIONS.items():
            ec2 = self.client("ec2", region, creds=b)
            for i in range(count):
                ec2.run_instances(ImageId=AMIS[0], MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                  TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "b-%s-%d" % (region, i)}]}])

    def seed(self):
        plan = SIZES[self.size]
        jobs = []
        for region, (singles, triples) in plan.items():
            ec2 = self.client("ec2", region)
            groups = [ec2.create_security_group(GroupName="sg-%s-%d" % (kind, i), Description="%s tier" % kind)["GroupId"]
                      for i, kind in enumerate(["web", "db"])]
            for i in range(singles):
                jobs.append((region, i, 1, groups))
            for i in range(triples):
                jobs.append((region, singles + i, 3, groups))

        local = threading.local()

        def launch(job):
            region, i, count, groups = job
            # boto3 clients are slow to build (~40 ms); one per thread and region.
            clients = local.__dict__.setdefault("clients", {})
            ec2 = clients.get(region) or clients.setdefault(region, self.client("ec2", region))
            tags = [{"Key": "Name", "Value": "%s-node-%04d" % (region, i)}, {"Key": "env", "Value": ["prod", "staging", "dev"][i % 3]}]
            if i == 0:
                tags = list(SPECIAL_TAGS)
            if i == 1:
                tags = [{"Key": "k%02d" % n, "Value": "value %d &<>\"'" % n} for n in range(50)]
            kwargs = dict(ImageId=AMIS[i % 2], MinCount=count, MaxCount=count, InstanceType=TYPES[i % len(TYPES)],
                          SecurityGroupIds=groups[: 1 + i % 2],
                          TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
            if i % 7 == 3:
                kwargs["BlockDeviceMappings"] = [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "DeleteOnTermination": False}}]
            if i % 11 == 5:
                kwargs["Monitoring"] = {"Enabled": True}
            ids = [x["InstanceId"] for x in ec2.run_instances(**kwargs)["Instances"]]
            return region, i, ids

        with ThreadPoolExecutor(2) as pool:
            launched = list(pool.map(launch, jobs))

        by_region = {}
        for region, i, ids in launched:
            by_region.setdefault(region, []).append((i, ids))
        for region, items in by_region.items():
            ec2 = self.client("ec2", region)
            stop = [ids[0] for i, ids in items if i % 5 == 2]
            terminate = [ids[0] for i, ids in items if i % 9 == 4]
            if stop:
                ec2.stop_instances(InstanceIds=stop)
            if terminate:
                ec2.terminate_instances(InstanceIds=terminate)
            self.counts[region] = sum(len(ids) for _, ids in items)

    def seed_region(self, region, count):
        ec2 = self.client("ec2", region)
        ids = []
        for i in range(count):
            r = ec2.run_instances(ImageId=AMIS[i % 2], MinCount=1, MaxCount=1, InstanceType=TYPES[i % len(TYPES)],
                                  TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "%s-%02d" % (region, i)}]}])
            ids.append(r["Instances"][0]["InstanceId"])
        return ids

    def change(self, body):
        region = body["region"]
        ec2 = self.client("ec2", region)
        if body.get("stop"):
            ec2.stop_instances(InstanceIds=body["stop"])
        if body.get("start"):
            ec2.start_instances(InstanceIds=body["start"])
        if body.get("terminate"):
            ec2.terminate_instances(InstanceIds=body["terminate"])
        for instance_id, instance_type in (body.get("type") or {}).items():
            ec2.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": instance_type})
        for instance_id, tags in (body.get("tag") or {}).items():
            ec2.create_tags(Resources=[instance_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        launched = self.seed_region(region, body["launch"]) if body.get("launch") else []
        if body.get("vanish"):
            from moto.ec2.models import ec2_backends
            backend = ec2_backends[self.account][region]
            gone = set(body["vanish"])
            for rid, reservation in list(backend.reservations.items()):
                reservation.instances = [i for i in reservation.instances if i.id not in gone]
                if not reservation.instances:
                    del backend.reservations[rid]
        return {"launched": launched}

    def new_imds(self, faults=None):
        server = IMDSServer(ROLE_NAME, self.role_credentials, REGIONS[0])
        if faults:
            server.state.faults.update(faults)
        return self.register(self.imds, server), server

    def register(self, table, server):
        """Files a test's server under a fresh id. Control requests are served on threads:
        two tests asking at once must not be given one id."""
        with self.ids_lock:
            ident = str(len(table) + 1)
            table[ident] = server
        return ident


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", "--port-file", required=True, help="where to write the world's JSON description")
    parser.add_argument("--size", choices=sorted(SIZES), default="test")
    args = parser.parse_args()

    world = World(args.size)
    world.setup_identities()
    world.seed()
    world.setup_second_account()
    _, default_imds = world.new_imds()
    control = loopback_server(control_handler(world))

    state = {
        "moto_url": world.moto_url,
        "imds_url": default_imds.url,
        "control_url": "http://127.0.0.1:%d" % control.server_address[1],
        "account": world.account,
        "role_arn": world.role_arn,
        "role_credentials": world.role_credentials,
        "admin_credentials": world.admin,
        "limited_credentials": world.limited,
        "regions": REGIONS,
        "account_b": ACCOUNT_B,
        "role_b": ROLE_B,
        "role_c_denied": ROLE_C_DENIED,
        "account_b_counts": ACCOUNT_B_REGIONS,
        "counts": world.counts,
        "pid": os.getpid(),
    }
    announce(args.state, state)
    print("world ready: %s" % args.state, file=sys.stderr, flush=True)
    # Until the parent goes away (its end of our stdin closes): no world outlives its test run.
    serve_until_stopped()
    world.moto.stop()


if __name__ == "__main__":
    main()
