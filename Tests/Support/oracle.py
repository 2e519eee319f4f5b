#!/usr/bin/env python3
"""botocore as an oracle for the Swift code.

    oracle.py instances STATE_FILE REGION...   botocore's parse of DescribeInstances, as the AWS CLI
                                               prints it, flattened like the poller's documents
    oracle.py compare STATE_FILE REGION... < poller.json
                                               strict field-for-field comparison (types included)
    oracle.py sign < cases.json                botocore's SigV4 signature for each request case
"""
import datetime
import json
import sys
from unittest import mock

import boto3
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def cli_default(obj):
    # What awscli's JSON formatter does with timestamps.
    if isinstance(obj, datetime.datetime):
        return obj.isoformat()
    raise TypeError(type(obj))


def strict_diff(a, b, path="$"):
    """Differences between two JSON values, types included (True is not 1, 1 is not 1.0)."""
    if type(a) is not type(b):
        return ["%s: %s %r != %s %r" % (path, type(a).__name__, a, type(b).__name__, b)]
    if isinstance(a, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append("%s.%s: only in %s" % (path, key, "poller" if key in a else "botocore"))
            else:
                out += strict_diff(a[key], b[key], "%s.%s" % (path, key))
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return ["%s: %d items != %d items" % (path, len(a), len(b))]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in strict_diff(x, y, "%s[%d]" % (path, i))]
    return [] if a == b else ["%s: %r != %r" % (path, a, b)]


def compare(state_file, regions):
    """Reads the poller's --format json document on stdin; prints every difference from botocore."""
    mine = json.load(sys.stdin)["Instances"]
    theirs = json.loads(capture(instances, state_file, regions))
    key = lambda i: (i["Region"], i["InstanceId"])
    a, b = {key(i): i for i in mine}, {key(i): i for i in theirs}
    diffs = ["instance %s/%s: only in %s" % (k + ("poller" if k in a else "botocore",)) for k in sorted(set(a) ^ set(b))]
    for k in sorted(set(a) & set(b)):
        diffs += ["%s/%s %s" % (k[0], k[1], d) for d in strict_diff(a[k], b[k])]
    json.dump({"compared": len(set(a) & set(b)), "poller": len(mine), "botocore": len(theirs), "differences": diffs[:50],
               "difference_count": len(diffs)}, sys.stdout)


def capture(fn, *args):
    import io
    saved, sys.stdout = sys.stdout, io.StringIO()
    try:
        fn(*args)
        return sys.stdout.getvalue()
    finally:
        sys.stdout = saved


def instances(state_file, regions):
    state = json.load(open(state_file))
    creds = state["role_credentials"]
    out = []
    for region in regions:
        ec2 = boto3.client("ec2", region_name=region, endpoint_url=state["moto_url"],
                           aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["Token"])
        for page in ec2.get_paginator("describe_instances").paginate():
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    instance = dict(instance)
                    instance["Region"] = region
                    instance["ReservationId"] = reservation["ReservationId"]
                    instance["OwnerId"] = reservation["OwnerId"]
                    out.append(instance)
    json.dump(out, sys.stdout, default=cli_default, ensure_ascii=False)


def sign(cases):
    results = []
    for case in cases:
        when = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        request = AWSRequest(method=case["method"], url=case["url"],
                             headers={k: v for k, v in case["headers"]},
                             params=dict(case["query"]) or None,
                             data=dict(case["form"]) if case["form"] else None)
        auth = botocore.auth.SigV4Auth(Credentials(case["access_key"], case["secret_key"], case.get("token")),
                                       case["service"], case["region"])
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            auth.add_auth(request)
        authorization = request.headers["Authorization"]
        del request.headers["Authorization"]  # canonical form as it was when signed
        canonical = auth.canonical_request(request)
        body = request.body
        results.append({"authorization": authorization, "canonical_request": canonical,
                        "body": body.decode() if isinstance(body, bytes) else (body or "")})
    json.dump(results, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    if sys.argv[1] == "instances":
        instances(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "sign":
        sign(json.load(sys.stdin))
    else:
        sys.exit("usage: oracle.py instances STATE REGION... | sign < cases.json")
