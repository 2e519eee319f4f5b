#!/usr/bin/env python3
"""The original design with its database step, as the baseline for the whole job: the boto3
InventoryManager of `boto3_inventory.py`, then one MongoDB document per instance through
pymongo, as its models did (an upsert per instance, keyed by the instance id), and the
JSON printed as before. The database comes from CM_DB_URI / CM_DB_NAME, like the poller's.

    boto3_mongo_inventory.py REGION
"""
import datetime
import json
import os
import sys

import pymongo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from boto3_inventory import InventoryManager  # noqa: E402


def main():
    manager = InventoryManager(sys.argv[1] if len(sys.argv) > 1 else "us-east-1")
    me = manager.caller()
    polled_at = datetime.datetime.now(datetime.timezone.utc)
    instances = manager.instances()
    collection = pymongo.MongoClient(os.environ["CM_DB_URI"])[os.environ["CM_DB_NAME"]]["instances"]
    for instance in instances:
        doc = dict(instance, Account=me["Account"], LastSeen=polled_at)
        collection.replace_one({"_id": instance["InstanceId"]}, doc, upsert=True)
    doc = {"PolledAt": polled_at.isoformat(), "Account": me["Account"], "Arn": me["Arn"], "Instances": instances}
    json.dump(doc, sys.stdout, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
