#!/usr/bin/env python3
"""The original design, as the baseline: an InventoryManager over a boto3 session that asks
who it is, walks the describe_instances paginator, and prints JSON with a timestamp.
Credentials and endpoints come from the environment, as on the host (IMDS, AWS_ENDPOINT_URL)."""
import datetime
import json
import sys

import boto3


class InventoryManager:
    def __init__(self, region):
        self.session = boto3.session.Session(region_name=region)
        self.ec2 = self.session.client("ec2")
        self.sts = self.session.client("sts")

    def caller(self):
        return self.sts.get_caller_identity()

    def instances(self):
        out = []
        for page in self.ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 1000}):
            for reservation in page["Reservations"]:
                out.extend(reservation["Instances"])
        return out


def main():
    manager = InventoryManager(sys.argv[1] if len(sys.argv) > 1 else "us-east-1")
    me = manager.caller()
    doc = {"PolledAt": datetime.datetime.now(datetime.timezone.utc).isoformat(), "Account": me["Account"], "Arn": me["Arn"],
           "Instances": manager.instances()}
    json.dump(doc, sys.stdout, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
