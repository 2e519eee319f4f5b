#!/usr/bin/env python3
"""botocore's EC2QueryParser as an oracle for the poller's walk of DescribeInstances XML.

    xml_oracle.py REGION < bodies.json   one answer per body (a JSON list of strings): the
        instances as the AWS CLI prints them, flattened like the poller's documents
        (Region, ReservationId, OwnerId added), or {"error": why} when botocore raises or
        keeps something no JSON holds (an XML element, for a repeated string)
"""
import json
import sys

import botocore.session
from botocore.parsers import EC2QueryParser

from oracle import cli_default


def instances(body, region, shape):
    parsed = EC2QueryParser().parse({"body": body.encode(), "headers": {}, "status_code": 200}, shape)
    out = []
    for reservation in parsed["Reservations"]:
        for instance in reservation["Instances"]:
            instance = dict(instance)
            instance["Region"] = region
            instance["ReservationId"] = reservation.get("ReservationId")
            instance["OwnerId"] = reservation.get("OwnerId")
            out.append(instance)
    return out


def main(region):
    shape = botocore.session.get_session().get_service_model("ec2").operation_model("DescribeInstances").output_shape
    answers = []
    for body in json.load(sys.stdin):
        try:
            answers.append({"instances": json.loads(json.dumps(instances(body, region, shape), default=cli_default))})
        except Exception as e:  # botocore's own failure is the answer
            answers.append({"error": "%s: %s" % (type(e).__name__, e)})
    json.dump(answers, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
