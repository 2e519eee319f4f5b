"""botocore's answer for one oracle case, and the comparison of the poller's run with it
(used by chain_oracle.py; see its docstring for the two documented differences encoded here).

A request is summarised as `action host region/service identity signature`, where identity is
the signing key written as where it came from: `user:admin`, `imds`, `container:task`,
`sso:ACCOUNT/ROLE/TOKEN`, or `assume(ROLE)<-SOURCE` / `webid(ROLE)<-token` for keys STS (moto)
issued, followed down the chain. So an assumed role's key, different at every call, compares
by the chain that produced it. AssumeRole* adds the external id, the configured session name
(or `default`) and the duration (3600 when not sent); GetRoleCredentials adds the account,
role and bearer token.
"""
import os
import re

import chain_cases
from derived_credentials import derived

MALFORMED_ERRORS = {"NoRegionError", "InvalidRegionError", "ValueError", "InvalidRetryModeError", "InvalidRetryConfigurationError",
                    "InvalidSTSRegionalEndpointsConfigError", "InvalidMaxRetryAttemptsError", "InvalidEndpointConfigurationError",
                    "InvalidConfigError", "PartialCredentialsError", "InvalidIMDSEndpointError", "EndpointVariantError"}
TRANSPORT_ERRORS = {"SSLError", "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"}
AMBIGUOUS_ERRORS = {"InvalidConfigError", "PartialCredentialsError"}
_loader = None


def ask_botocore(case, env, world):
    """Runs botocore for the case with exactly `env` as the process environment."""
    global _loader
    import botocore.credentials
    import botocore.loaders
    import botocore.session
    import botocore.tokens
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    # botocore computes the SSO cache directory from HOME once, at import: as a fresh process would.
    sso_cache = os.path.expanduser(os.path.join("~", ".aws", "sso", "cache"))
    botocore.credentials.SSOProvider._SSO_TOKEN_CACHE_DIR = sso_cache
    botocore.tokens.SSOTokenProvider._SSO_TOKEN_CACHE_DIR = sso_cache
    try:
        _loader = _loader or botocore.loaders.create_loader()
        session = botocore.session.Session(profile=case["profile_flag"])
        session.register_component("data_loader", _loader)
        if case["region_flag"]:
            session.set_config_variable("region", case["region_flag"])
        elif env.get("AWS_REGION"):
            session.set_config_variable("region", env["AWS_REGION"])  # documented difference 1
        client_region = None
        if session.get_config_variable("region") is None and env.get("AWS_EC2_METADATA_DISABLED", "").lower() != "true":
            client_region = world["imds_region"]  # documented difference 2
        regionless = session.get_config_variable("region") is None and client_region is None
        sts = session.create_client("sts", region_name=client_region)
        sts.get_caller_identity()
        ec2 = session.create_client("ec2", region_name=client_region)
        ec2.describe_instances()
        return {"ok": True, "region": ec2.meta.region_name, "ec2": ec2.meta.endpoint_url, "sts": sts.meta.endpoint_url}
    except Exception as e:  # botocore's refusal is the answer
        name = type(e).__name__
        regionless = locals().get("regionless", False)
        codes = [2] if name in MALFORMED_ERRORS else [4] if name in TRANSPORT_ERRORS else [3]
        # a container endpoint botocore will not ask, or a token it will not send: a setting that
        # is malformed (2) or a source that fails (3), either reading is fair
        container = name == "ValueError" and ("Unsupported host" in str(e) or "Auth token" in str(e))
        if name in AMBIGUOUS_ERRORS or case["malformed"] or container:
            codes = [2, 3]
        if regionless and 2 not in codes:
            # no region anywhere either: which of the two refusals comes first is the program's choice
            codes = sorted(set(codes) | {2})
        return {"error": name, "message": " ".join(str(e).split())[:240], "codes": codes}
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Judge:
    def __init__(self, proxy, cases, answers, users):
        self.proxy, self.cases, self.answers = proxy, cases, answers
        self.names = {u["AccessKeyId"]: "user:" + name for name, u in users.items()}
        self.names[derived("IMDS", chain_cases.IMDS_NAME)["AccessKeyId"]] = "imds"
        for n in chain_cases.CONTAINER_NAMES:
            self.names[derived("CONT", n)["AccessKeyId"]] = "container:" + n
        for a in chain_cases.SSO_ACCOUNTS:
            for r in chain_cases.SSO_ROLES:
                for t in chain_cases.SSO_TOKENS:
                    self.names[derived("SSO", a, r, t)["AccessKeyId"]] = "sso:%s/%s/%s" % (a, r, t)

    def identity(self, key, issued, depth=0):
        if key is None:
            return "unsigned"
        if key in self.names:
            return self.names[key]
        if key in issued and depth < 12:
            i = issued[key]
            source = self.identity(i["by"], issued, depth + 1) if i["by"] else "token"
            return "%s(%s)<-%s" % (i["kind"], (i["role"] or "?").split("/")[-1], source)
        return "key:" + key

    def summary(self, r, issued):
        s = "%s %s %s/%s %s %s" % (r["action"], r["host"], r["region"], r["service"], self.identity(r["key_id"], issued), r["signature"])
        if r.get("connect") and r["connect"].rsplit(":", 1)[0] != (r["host"] or "").rsplit(":", 1)[0]:
            s += " CONNECT " + r["connect"]
        p = r.get("params")
        if p is not None:
            session = p.get("RoleSessionName", "")
            s += " role=%s ext=%s session=%s duration=%s" % (p.get("RoleArn"), p.get("ExternalId"),
                                                             session if re.match(r"^(oracle|webid)-", session) else "default",
                                                             p.get("DurationSeconds", "3600"))
        if r["action"] == "GetRoleCredentials":
            s = "GetRoleCredentials %s %s/%s token=%s" % (r["host"], r.get("account_id"), r.get("role_name"), r.get("sso_token"))
        return s

    def judge(self, results):
        with self.proxy.lock:
            issued = dict(self.proxy.issued)
            records = list(self.proxy.records)
        by_tag = {}
        for r in records:
            by_tag.setdefault(r["tag"], []).append(r)
        mismatches = []
        for cid, result in sorted(results.items()):
            answer, case = self.answers.get(cid), self.cases.get(cid)
            if answer is None:
                continue
            mine = by_tag.get("p-" + cid, [])
            diffs = []
            if "error" in answer:
                if result["status"] not in answer["codes"]:
                    diffs.append("exit %s, expected %s" % (result["status"], "/".join(map(str, answer["codes"]))))
                if any(r["action"] == "DescribeInstances" for r in mine):
                    diffs.append("asked DescribeInstances although botocore refused")
                botocore_said = "raises %s: %s" % (answer["error"], answer["message"])
            else:
                theirs = {self.summary(r, issued) for r in by_tag.get("b-" + cid, [])}
                ours = {self.summary(r, issued) for r in mine}
                if result["status"] != 0:
                    diffs.append("exit %s, expected 0" % result["status"])
                diffs += ["only botocore: " + s for s in sorted(theirs - ours)]
                diffs += ["only poller: " + s for s in sorted(ours - theirs)]
                botocore_said = "ok: region %s, ec2 %s, sts %s" % (answer["region"], answer["ec2"], answer["sts"])
            if diffs:
                last = [line for line in result.get("stderr", "").splitlines() if "inventory-poller:" in line or " error " in line]
                mismatches.append({"id": cid, "title": case["title"], "botocore": botocore_said, "poller_exit": result["status"],
                                   "poller_said": (last[-1] if last else "")[:240], "differences": diffs})
        return {"total": len(results), "agreed": len(results) - len(mismatches), "mismatches": mismatches}
