"""botocore as the oracle for the AWS shared files and endpoints.

    config_oracle.py files SEED COUNT   random shared files with the tricky constructs, each
                                        with botocore's reading (raw_config_parse +
                                        build_profile_map) or the fact that it refuses it
    config_oracle.py endpoints          reads a JSON list of cases on stdin and answers, for
                                        each, the URL and credential scope botocore's client
                                        sends a request to (or botocore's error)

Output: one JSON document on stdout.
"""
import base64
import json
import os
import random
import sys
import tempfile
from urllib.parse import urlparse

import botocore.session
from botocore.config import Config
from botocore.configloader import build_profile_map, raw_config_parse

NAMES = ["default", "prod", "dev", "a b", "x"]
KEYS = ["region", "output", "Role_Arn", "s3", "endpoint_url", "services", "sso_session", "max_attempts"]
VALUES = ["us-east-1", "json", "v=1", "a:b", "", "x # not a comment", "  spaced  ", "ümlaut"]


def header(rng):
    kind = rng.choice(["profile", "sso-session", "services", "default", "plain", "quoted", "DEFAULT", "profilex", "bad"])
    name = rng.choice(NAMES)
    return {
        "profile": f"[profile {name}]" if " " not in name else f'[profile "{name}"]',
        "sso-session": f"[sso-session {name.replace(' ', '')}]",
        "services": f"[services {name.replace(' ', '')}]",
        "default": "[default]",
        "plain": f"[{name}]",
        "quoted": f"[profile '{name}' extra]" if rng.random() < 0.3 else "[profile \"unclosed]",
        "DEFAULT": "[DEFAULT]",
        "profilex": f"[ profile {name} ]",
        "bad": "[]",
    }[kind]


def line(rng):
    r = rng.random()
    key = rng.choice(KEYS)
    value = rng.choice(VALUES)
    if r < 0.45:
        return f"{key}{rng.choice(['=', ' = ', ':', ' : '])}{value}"
    if r < 0.55:
        return f"{key} =\n    {rng.choice(KEYS)} = {rng.choice(VALUES)}\n    {rng.choice(KEYS)}={rng.choice(VALUES)}"
    if r < 0.62:
        return f"  continued {value}"
    if r < 0.70:
        return ""
    if r < 0.76:
        return rng.choice(["# comment", "; comment", "   # indented comment"])
    if r < 0.80:
        return f"{key} = {value}\n\n    after blank"
    if r < 0.84:
        return f"{key}\n"  # no delimiter: an error
    if r < 0.88:
        return f"{key} =\n    nested without equals"
    if r < 0.92:
        return f"\t{key} = tabbed"
    return f"= no name"


def generate(rng):
    parts = []
    if rng.random() < 0.05:
        parts.append("\ufeff")
    for _ in range(rng.randint(0, 4)):
        parts.append(header(rng))
        for _ in range(rng.randint(0, 4)):
            parts.append(line(rng))
    text = "\n".join(parts)
    if rng.random() < 0.15:
        text = text.replace("\n", "\r\n")
    elif rng.random() < 0.1:
        text = text.replace("\n", "\r")
    return text.encode("utf-8")


def botocore_reading(data):
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
        path = f.name
    try:
        parsed = build_profile_map(raw_config_parse(path))
        return {"ok": True, "profiles": parsed["profiles"], "sso_sessions": parsed["sso_sessions"], "services": parsed["services"]}
    except Exception as error:  # ConfigParseError and friends
        return {"ok": False, "error": type(error).__name__}
    finally:
        os.unlink(path)


def files(seed, count):
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        data = generate(rng)
        entry = botocore_reading(data)
        entry["bytes"] = base64.b64encode(data).decode()
        out.append(entry)
    return out


class Captured(Exception):
    pass


SESSIONS = {}


def session_for(sts_mode):
    """One botocore session per STS mode (its loaders cache the service data)."""
    if sts_mode not in SESSIONS:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                del os.environ[name]
        os.environ["AWS_CONFIG_FILE"] = "/nonexistent"
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent"
        session = botocore.session.Session()
        session.set_config_variable("sts_regional_endpoints", sts_mode)
        SESSIONS[sts_mode] = session
    return SESSIONS[sts_mode]


def endpoint(case):
    """The host and credential scope of the request botocore's client sends."""
    try:
        return attempt(case)
    except Exception as error:  # botocore refuses the configuration at client creation
        return {"error": f"{type(error).__name__}: {error}"}


def attempt(case):
    session = session_for(case.get("sts_mode") or "regional")
    config = Config(use_fips_endpoint=case.get("fips", False), use_dualstack_endpoint=case.get("dualstack", False),
                    retries={"total_max_attempts": 1})
    client = session.create_client(case["service"], region_name=case["region"], config=config,
                                   aws_access_key_id="AKIDORACLE", aws_secret_access_key="secret")
    seen = {}

    def capture(request, **kwargs):
        seen["url"] = request.url
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else auth
        if "Credential=" in auth:
            scope = auth.split("Credential=")[1].split(",")[0].split("/")
            seen["signing_region"], seen["signing_name"] = scope[2], scope[3]
        raise Captured()

    client.meta.events.register("before-send", capture)
    call = {"ec2": lambda: client.describe_regions(), "sts": lambda: client.get_caller_identity(),
            "organizations": lambda: client.list_accounts(),
            "sso": lambda: client.get_role_credentials(roleName="r", accountId="123456789012", accessToken="t"),
            "sso-oidc": lambda: client.create_token(clientId="c", clientSecret="s", grantType="refresh_token")}[case["service"]]
    try:
        call()
    except Captured:
        return {"host": urlparse(seen["url"]).netloc, "signing_region": seen.get("signing_region"), "signing_name": seen.get("signing_name")}
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}
    return {"error": "no request"}


def main():
    if sys.argv[1] == "files":
        json.dump(files(int(sys.argv[2]), int(sys.argv[3])), sys.stdout)
    elif sys.argv[1] == "endpoints":
        json.dump([endpoint(case) for case in json.load(sys.stdin)], sys.stdout)


if __name__ == "__main__":
    main()
