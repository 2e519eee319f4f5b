#!/usr/bin/env python3
"""Dumps what the poller stored, through pymongo, as JSON for the Swift tests.

    mongo_inspect.py URI DATABASE
"""
import datetime
import json
import sys

import pymongo


def default(o):
    if isinstance(o, datetime.datetime):
        return o.replace(tzinfo=datetime.timezone.utc).isoformat()
    return str(o)


def main(uri, name):
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    db = client[name]
    out = {
        "instances": list(db.instances.find({}, {"_id": 1, "InstanceId": 1, "Region": 1, "Account": 1, "Present": 1,
                                                  "FirstSeen": 1, "LastSeen": 1, "LastChanged": 1, "VanishedAt": 1,
                                                  "LastPollId": 1, "State": 1, "Tags": 1, "ContentHash": 1,
                                                  "Pending": 1, "Rev": 1})),
        "events": list(db.events.find({})),
        "polls": list(db.polls.find({}).sort("StartedAt", 1)),
        "indexes": {c: sorted(db[c].index_information().keys()) for c in ("instances", "events", "polls")},
    }
    try:
        out["commands"] = client.admin.command("testCommandLog")["log"]
    except Exception:
        out["commands"] = None  # a real server has no command log
    json.dump(out, sys.stdout, default=default)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
