#!/usr/bin/env python3
"""An AWS organization for --org-role: moto (Organizations, STS, IAM, EC2) with signature and
IAM checks on, in a process of its own, so the shared world's account stays outside any
organization.

    python3 Tests/Support/org_world.py --port-file FILE

FILE (JSON, written once ready): {"moto_url", "control_url", "management", "role_name",
"poller", "denied", "outsider", "members": [{"id", "name", "role", "state", "instances":
{region: [ids]}}], "management_instances": {region: [ids]}, "china": {"poller", "members",
"management_instances"}}: "china" is the same management account's organization in aws-cn. Credentials are
{"AccessKeyId", "SecretAccessKey"} of IAM users: "poller" in the management account may list
accounts, assume roles and read EC2; "denied" there may not call ListAccounts; "outsider" lives
in an account of no organization.

    GET <control_url>/assumed     [[role_arn, external_id], ...] every AssumeRole moto granted

Two places where moto is laxer than AWS are brought in line (both are documented moto gaps):
AssumeRole on a role that does not exist is refused with AccessDenied, as AWS does (moto grants
it), and ListAccounts outside any organization is AWSOrganizationsNotInUseException (moto
answers an empty list).
"""
import argparse
import json
import os
import sys

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serving import QuietHandler, announce, loopback_server, serve_until_stopped  # noqa: E402

ROLE_NAME = "inventory-reader"
POLLER_ACTIONS = ["ec2:DescribeInstances", "ec2:DescribeRegions", "sts:GetCallerIdentity"]
MEMBERS = 24                  # with the management account, more than one ListAccounts page (20)
OUTSIDER_ACCOUNT = "555555555555"
# member index -> what it holds. Every other member has the role and no instance.
NO_ROLE = 3
SUSPENDED = (4, 5)
INSTANCES = {0: {"us-east-1": 1}, 1: {"us-east-1": 2, "eu-west-1": 1}, 2: {"eu-west-1": 3}, 3: {"us-east-1": 1},
             4: {"us-east-1": 2}, 6: {"us-east-1": 4}}
MANAGEMENT_INSTANCES = {"us-east-1": 2}
CHINA_REGION = "cn-northwest-1"


def align_moto_with_aws():
    from moto.iam.models import iam_backends
    from moto.organizations.exceptions import AWSOrganizationsNotInUseException
    from moto.organizations.models import OrganizationsBackend, organizations_backends
    from moto.sts.exceptions import STSClientError
    from moto.sts.models import STSBackend

    assume = STSBackend.assume_role

    def assume_role(self, region_name, role_session_name, role_arn, policy, duration, external_id):
        parts = role_arn.split(":")
        try:
            iam_backends[parts[4]][parts[1]].get_role_by_arn(role_arn)
        except Exception:
            raise STSClientError("AccessDenied", "User is not authorized to perform: sts:AssumeRole on resource: %s" % role_arn)
        return assume(self, region_name, role_session_name, role_arn, policy, duration, external_id)

    STSBackend.assume_role = assume_role
    list_accounts = OrganizationsBackend.list_accounts

    def list_accounts_in_org(self, *args, **kwargs):
        if self.org is None and self.account_id not in organizations_backends.master_accounts:
            raise AWSOrganizationsNotInUseException
        return list_accounts(self, *args, **kwargs)

    OrganizationsBackend.list_accounts = list_accounts_in_org


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OrgWorld:
    def __init__(self):
        port = free_port()
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        import logging
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.moto.start()
        self.url = "http://127.0.0.1:%d" % port

    def client(self, service, creds, region="us-east-1"):
        return boto3.client(service, region_name=region, endpoint_url=self.url,
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds.get("SessionToken"))

    @staticmethod
    def user(account, name, actions, partition="aws"):
        """An IAM user with a key, made in moto's backend: an account of its own has no identity yet."""
        from moto.iam.models import iam_backends
        iam = iam_backends[account][partition]
        iam.create_user(CHINA_REGION if partition == "aws-cn" else "us-east-1", name)  # the region sets its ARN's partition
        iam.put_user_policy(name, "policy", json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
        key = iam.create_access_key(name)
        return {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key}

    @staticmethod
    def role(account, name, actions, trusted, partition="aws"):
        from moto.iam.models import iam_backends
        iam = iam_backends[account][partition]
        trust = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:%s:iam::%s:root" % (partition, trusted)}}]})
        iam.create_role(name, trust, "/", None, "", [], "3600")
        iam.put_role_policy(name, "policy", json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "*"}]}))

    def launch(self, creds, plan):
        out = {}
        for region, count in plan.items():
            ec2 = self.client("ec2", creds, region)
            r = ec2.run_instances(ImageId="ami-1e749f67", MinCount=count, MaxCount=count, InstanceType="t3.micro")
            out[region] = sorted(i["InstanceId"] for i in r["Instances"])
        return out

    def setup(self):
        bootstrap = {"AccessKeyId": "AKIABOOTSTRAP0000000", "SecretAccessKey": "bootstrap"}
        iam = self.client("iam", bootstrap)
        iam.create_user(UserName="org-admin")
        iam.put_user_policy(UserName="org-admin", PolicyName="admin", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="org-admin")["AccessKey"]
        admin = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
        self.management = self.client("sts", admin).get_caller_identity()["Account"]
        orgs = self.client("organizations", admin)
        orgs.create_organization(FeatureSet="ALL")
        members = []
        for i in range(MEMBERS):
            status = orgs.create_account(AccountName="member-%02d" % i, Email="m%02d@example.com" % i)["CreateAccountStatus"]
            members.append({"id": status["AccountId"], "name": "member-%02d" % i, "role": i != NO_ROLE, "state": "ACTIVE",
                            "instances": {}})
        sts = self.client("sts", admin)
        for i, member in enumerate(members):
            if member["role"]:
                self.role(member["id"], ROLE_NAME, POLLER_ACTIONS, self.management)
            if i in INSTANCES:
                self.role(member["id"], "world-admin", "*", self.management)
                c = sts.assume_role(RoleArn="arn:aws:iam::%s:role/world-admin" % member["id"], RoleSessionName="setup")["Credentials"]
                member["instances"] = self.launch(c, INSTANCES[i])
        for i in SUSPENDED:
            orgs.close_account(AccountId=members[i]["id"])
            members[i]["state"] = "SUSPENDED"
        self.management_instances = self.launch(admin, MANAGEMENT_INSTANCES)
        self.poller = self.user(self.management, "org-poller",
                                POLLER_ACTIONS + ["organizations:ListAccounts", "sts:AssumeRole"])
        self.denied = self.user(self.management, "no-org", POLLER_ACTIONS + ["sts:AssumeRole"])
        self.outsider = self.user(OUTSIDER_ACCOUNT, "outsider", POLLER_ACTIONS + ["organizations:ListAccounts", "sts:AssumeRole"])
        self.members = members

    def setup_china(self):
        """A second organization, in the aws-cn partition (moto keeps partitions apart, as AWS
        does): the role ARNs the poller builds must carry the caller's partition."""
        admin = self.user(self.management, "cn-admin", "*", partition="aws-cn")
        orgs = self.client("organizations", admin, CHINA_REGION)
        orgs.create_organization(FeatureSet="ALL")
        sts = self.client("sts", admin, CHINA_REGION)
        self.china = {"members": [], "management_instances": self.launch(admin, {CHINA_REGION: 1})}
        for i in range(2):
            member = orgs.create_account(AccountName="cn-%d" % i, Email="cn%d@example.com" % i)["CreateAccountStatus"]["AccountId"]
            self.role(member, ROLE_NAME, POLLER_ACTIONS, self.management, partition="aws-cn")
            self.role(member, "world-admin", "*", self.management, partition="aws-cn")
            c = sts.assume_role(RoleArn="arn:aws-cn:iam::%s:role/world-admin" % member, RoleSessionName="setup")["Credentials"]
            self.china["members"].append({"id": member, "instances": self.launch(c, {CHINA_REGION: i + 1})})
        self.china["poller"] = self.user(self.management, "cn-poller", POLLER_ACTIONS + ["organizations:ListAccounts", "sts:AssumeRole"],
                                         partition="aws-cn")


def control_handler():
    class Handler(QuietHandler):
        def do_GET(self):
            from moto.sts.models import sts_backends
            if self.path != "/assumed":
                self.send_response(404)
                self.end_headers()
                return
            granted = [[r.role_arn, r.external_id] for account in list(sts_backends.values())
                       for backend in list(account.values()) for r in backend.assumed_roles]
            data = json.dumps(granted).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    align_moto_with_aws()
    world = OrgWorld()
    world.setup()
    world.setup_china()
    control = loopback_server(control_handler())
    announce(args.port_file, {
        "moto_url": world.url,
        "control_url": "http://127.0.0.1:%d" % control.server_address[1],
        "management": world.management,
        "role_name": ROLE_NAME,
        "poller": world.poller,
        "denied": world.denied,
        "outsider": world.outsider,
        "outsider_account": OUTSIDER_ACCOUNT,
        "members": world.members,
        "management_instances": world.management_instances,
        "china": world.china,
    })
    serve_until_stopped()
    world.moto.stop()


if __name__ == "__main__":
    main()
