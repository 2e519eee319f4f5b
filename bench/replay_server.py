#!/usr/bin/env python3
"""A replay AWS for benchmarks: IMDSv2, STS GetCallerIdentity and EC2 DescribeInstances for N
instances, in pages of 1000. Pages are rendered once at start-up, so the server's own cost
stays out of the clients' figures. Signatures are not checked: this measures clients.

    replay_server.py --instances N --port-file FILE
"""
import argparse
import base64
import hashlib
import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "Support"))
from serving import QuietHandler, announce, loopback_server, serve_until_stopped  # noqa: E402

ACCOUNT = "123456789012"

INSTANCE = """<item>
    <instanceId>{iid}</instanceId>
    <imageId>ami-0abcdef1234567890</imageId>
    <instanceState><code>{code}</code><name>{state}</name></instanceState>
    <privateDnsName>ip-10-0-{a}-{b}.ec2.internal</privateDnsName>
    <dnsName>{dns}</dnsName>
    <reason/>
    <keyName>ops-{k}</keyName>
    <amiLaunchIndex>0</amiLaunchIndex>
    <productCodes/>
    <instanceType>{itype}</instanceType>
    <launchTime>2026-0{m}-1{d}T0{h}:2{mi}:33.000Z</launchTime>
    <placement><availabilityZone>us-east-1{az}</availabilityZone><groupName/><tenancy>default</tenancy></placement>
    <monitoring><state>disabled</state></monitoring>
    <subnetId>subnet-0{sub}a1b2c3d4e5f6</subnetId>
    <vpcId>vpc-0a1b2c3d4e5f67890</vpcId>
    <privateIpAddress>10.0.{a}.{b}</privateIpAddress>
    {public}
    <sourceDestCheck>true</sourceDestCheck>
    <groupSet>
        <item><groupId>sg-0123456789abcdef0</groupId><groupName>web-tier</groupName></item>
        <item><groupId>sg-0fedcba9876543210</groupId><groupName>ssh-from-bastion</groupName></item>
    </groupSet>
    <architecture>x86_64</architecture>
    <rootDeviceType>ebs</rootDeviceType>
    <rootDeviceName>/dev/xvda</rootDeviceName>
    <blockDeviceMapping>
        <item><deviceName>/dev/xvda</deviceName><ebs><volumeId>vol-0{v}1</volumeId><status>attached</status><attachTime>2026-01-10T03:21:34.000Z</attachTime><deleteOnTermination>true</deleteOnTermination></ebs></item>
    </blockDeviceMapping>
    <virtualizationType>hvm</virtualizationType>
    <clientToken>{token}</clientToken>
    <tagSet>
        <item><key>Name</key><value>web-{n:05d}</value></item>
        <item><key>env</key><value>{env}</value></item>
        <item><key>team</key><value>platform &amp; infra</value></item>
        <item><key>cost-center</key><value>cc-{cc}</value></item>
        <item><key>owner</key><value>ops+alerts@example.com</value></item>
        <item><key>aws:autoscaling:groupName</key><value>asg-web-{g}</value></item>
    </tagSet>
    <hypervisor>xen</hypervisor>
    <networkInterfaceSet>
        <item>
            <networkInterfaceId>eni-0{v}</networkInterfaceId>
            <subnetId>subnet-0{sub}a1b2c3d4e5f6</subnetId>
            <vpcId>vpc-0a1b2c3d4e5f67890</vpcId>
            <description/>
            <ownerId>{account}</ownerId>
            <status>in-use</status>
            <macAddress>0a:1b:2c:{a:02x}:{b:02x}:3d</macAddress>
            <privateIpAddress>10.0.{a}.{b}</privateIpAddress>
            <privateDnsName>ip-10-0-{a}-{b}.ec2.internal</privateDnsName>
            <sourceDestCheck>true</sourceDestCheck>
            <groupSet>
                <item><groupId>sg-0123456789abcdef0</groupId><groupName>web-tier</groupName></item>
                <item><groupId>sg-0fedcba9876543210</groupId><groupName>ssh-from-bastion</groupName></item>
            </groupSet>
            <attachment><attachmentId>eni-attach-0{v}</attachmentId><deviceIndex>0</deviceIndex><status>attached</status><attachTime>2026-01-10T03:21:33.000Z</attachTime><deleteOnTermination>true</deleteOnTermination><networkCardIndex>0</networkCardIndex></attachment>
            {association}
            <privateIpAddressesSet><item><privateIpAddress>10.0.{a}.{b}</privateIpAddress><privateDnsName>ip-10-0-{a}-{b}.ec2.internal</privateDnsName><primary>true</primary>{association}</item></privateIpAddressesSet>
            <ipv6AddressesSet/>
            <interfaceType>interface</interfaceType>
        </item>
    </networkInterfaceSet>
    <iamInstanceProfile><arn>arn:aws:iam::{account}:instance-profile/web</arn><id>AIPA{v}</id></iamInstanceProfile>
    <ebsOptimized>true</ebsOptimized>
    <enaSupport>true</enaSupport>
    <cpuOptions><coreCount>2</coreCount><threadsPerCore>2</threadsPerCore></cpuOptions>
    <metadataOptions><state>applied</state><httpTokens>required</httpTokens><httpPutResponseHopLimit>2</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint><httpProtocolIpv6>disabled</httpProtocolIpv6><instanceMetadataTags>disabled</instanceMetadataTags></metadataOptions>
    <bootMode>uefi-preferred</bootMode>
    <platformDetails>Linux/UNIX</platformDetails>
    <usageOperation>RunInstances</usageOperation>
    <currentInstanceBootMode>uefi</currentInstanceBootMode>
</item>"""

# Real EC2 sends no indentation; neither does the replay.
INSTANCE = re.sub(r">\s+<", "><", INSTANCE).strip()
STATES = [(16, "running")] * 8 + [(80, "stopped"), (48, "terminated")]


def instance_xml(n):
    code, state = STATES[n % len(STATES)]
    h = hashlib.sha1(str(n).encode()).hexdigest()
    a, b = (n // 250) % 256, n % 250 + 2
    public = ""
    association = ""
    dns = ""
    if state == "running":
        ip = "54.%d.%d.%d" % ((n >> 16) % 256, (n >> 8) % 256, n % 256)
        dns = "ec2-%s.compute-1.amazonaws.com" % ip.replace(".", "-")
        public = "<ipAddress>%s</ipAddress>" % ip
        association = "<association><publicIp>%s</publicIp><publicDnsName>%s</publicDnsName><ipOwnerId>amazon</ipOwnerId></association>" % (ip, dns)
    return INSTANCE.format(iid="i-0" + h[:16], code=code, state=state, a=a, b=b, dns=dns, k=n % 7,
                           itype=["t3.micro", "m5.large", "c6i.xlarge", "r6g.2xlarge"][n % 4], m=n % 9 + 1, d=n % 9,
                           h=n % 10, mi=n % 10, az="abcdef"[n % 6], sub=h[16:20], public=public, v=h[20:36], token=h[:32],
                           n=n, env=["prod", "staging", "dev"][n % 3], cc=n % 40, g=n % 25, account=ACCOUNT, association=association)


def render_pages(total, page_size=1000):
    pages = []
    count = (total + page_size - 1) // page_size
    tokens = [base64.b64encode(hashlib.sha256(b"page%d" % i).digest()).decode() + "+/=" for i in range(count)]
    for p in range(count):
        items = []
        for n in range(p * page_size, min(total, (p + 1) * page_size)):
            items.append("<item><reservationId>r-0%s</reservationId><ownerId>%s</ownerId><groupSet/><instancesSet>%s</instancesSet></item>"
                         % (hashlib.md5(str(n).encode()).hexdigest()[:16], ACCOUNT, instance_xml(n)))
        nxt = "<nextToken>%s</nextToken>" % tokens[p] if p + 1 < count else ""
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                "<requestId>bench-%d</requestId><reservationSet>%s</reservationSet>%s</DescribeInstancesResponse>" % (p, "".join(items), nxt))
        pages.append(body.encode())
    # token of page p leads to page p+1
    return pages, {tokens[p]: p + 1 for p in range(count - 1)}


STS = ('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
       '<Arn>arn:aws:sts::%s:assumed-role/inventory-poller/i-0123456789abcdef0</Arn><UserId>AROAEXAMPLE:i-0123456789abcdef0</UserId>'
       '<Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata>'
       '</GetCallerIdentityResponse>' % (ACCOUNT, ACCOUNT)).encode()
CREDS = json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIABENCHMARK0000000", "SecretAccessKey": "benchsecret",
                    "Token": "benchtoken", "Expiration": "2099-01-01T00:00:00Z", "LastUpdated": "2026-01-01T00:00:00Z"}).encode()


def handler(pages, next_page):
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def send(self, body, status=200, ctype="text/xml"):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if self.path == "/latest/api/token":
                self.send_header("X-aws-ec2-metadata-token-ttl-seconds", "21600")
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send(b"benchtoken-imds", ctype="text/plain")

        def do_GET(self):
            if self.path.endswith("/security-credentials/"):
                return self.send(b"inventory-poller", ctype="text/plain")
            if "/security-credentials/" in self.path:
                return self.send(CREDS, ctype="text/plain")
            if self.path.endswith("/placement/region"):
                return self.send(b"us-east-1", ctype="text/plain")
            self.send(b"not found", 404, "text/plain")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            form = urllib.parse.parse_qs(body.decode())
            action = form.get("Action", [""])[0]
            if action == "GetCallerIdentity":
                return self.send(STS)
            if action == "DescribeInstances":
                token = form.get("NextToken", [None])[0]
                page = next_page.get(token, -1) if token else 0
                if page < 0:
                    return self.send(b"<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>bad NextToken</Message></Error></Errors></Response>", 400)
                return self.send(pages[page])
            self.send(b"<Response><Errors><Error><Code>InvalidAction</Code><Message>no</Message></Error></Errors></Response>", 400)

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, required=True)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    pages, next_page = render_pages(args.instances)
    httpd = loopback_server(handler(pages, next_page))
    announce(args.port_file, {"port": httpd.server_address[1], "bytes": sum(map(len, pages)), "pages": len(pages)})
    serve_until_stopped()


if __name__ == "__main__":
    main()
