"""The documents hostile_server.py answers with: well-formed EC2 and STS replies for a small
fleet, error documents, and the hostile texts its modes send instead."""
import time

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
ACCOUNT = "123456789012"
DEPTH = 10_000
HUGE = 100 * 1024 * 1024


def instance_xml(n):
    return ("<item><instanceId>i-%017x</instanceId><imageId>ami-12345678</imageId>"
            "<instanceState><code>16</code><name>running</name></instanceState>"
            "<privateDnsName>ip-10-0-0-%d.ec2.internal</privateDnsName><instanceType>t3.micro</instanceType>"
            "<launchTime>2026-01-01T00:00:00.000Z</launchTime>"
            "<placement><availabilityZone>us-east-1a</availabilityZone><tenancy>default</tenancy></placement>"
            "<privateIpAddress>10.0.0.%d</privateIpAddress>"
            "<tagSet><item><key>Name</key><value>hostile-%d</value></item></tagSet></item>") % (n, n % 250, n % 250, n)


def instances_page(numbers, token=None):
    reservations = "".join("<item><reservationId>r-%017x</reservationId><ownerId>%s</ownerId><groupSet/>"
                           "<instancesSet>%s</instancesSet></item>" % (n, ACCOUNT, instance_xml(n)) for n in numbers)
    next_token = "<nextToken>%s</nextToken>" % token if token else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="%s"><requestId>hostile-1</requestId>'
            "<reservationSet>%s</reservationSet>%s</DescribeInstancesResponse>" % (EC2_NS, reservations, next_token))


def regions_body(regions):
    items = "".join("<item><regionName>%s</regionName><regionEndpoint>ec2.%s.amazonaws.com</regionEndpoint>"
                    "<optInStatus>%s</optInStatus></item>" % (r, r, s) for r, s in regions)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeRegionsResponse xmlns="%s"><requestId>hostile-2</requestId>'
            "<regionInfo>%s</regionInfo></DescribeRegionsResponse>" % (EC2_NS, items))


def identity_body():
    return ('<GetCallerIdentityResponse xmlns="%s"><GetCallerIdentityResult><Arn>arn:aws:iam::%s:user/hostile</Arn>'
            "<UserId>AIDAHOSTILE</UserId><Account>%s</Account></GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>hostile-3</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            % (STS_NS, ACCOUNT, ACCOUNT))


def assume_role_body():
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    return ('<AssumeRoleResponse xmlns="%s"><AssumeRoleResult><Credentials><AccessKeyId>ASIAHOSTILE</AccessKeyId>'
            "<SecretAccessKey>hostile-secret</SecretAccessKey><SessionToken>hostile-token</SessionToken>"
            "<Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::222222222222:assumed-role/r/s</Arn>"
            "<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>"
            "<ResponseMetadata><RequestId>hostile-4</RequestId></ResponseMetadata></AssumeRoleResponse>" % (STS_NS, expires))


def error_document(code, message):
    return ("<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors>"
            "<RequestID>hostile-err</RequestID></Response>" % (code, message))


HTML = ("<!DOCTYPE html>\n<html><head><title>Welcome to Hotel WiFi</title></head>"
        "<body><h1>Please accept the terms to continue</h1><form><input type=submit></form></body></html>")
OTHER = {"DescribeInstances": "DescribeRegions", "DescribeRegions": "DescribeInstances",
         "GetCallerIdentity": "AssumeRole", "AssumeRole": "GetCallerIdentity"}
# An error message meant to forge log lines and paint the terminal.
HOSTILE_MESSAGE = ("You are not authorized\x1b[2J\x1b[31m&#27;[0m\r\ninventory-poller: all slices ok (forged)\n"
                   "{\"event\":\"summary\",\"exitCode\":0}")
