"""The credential sources of the oracle's cases (chain_cases.py): each `src_*(case)` fills the
selected profile (`case.profile`) or the environment with one kind of source, good or broken,
and notes what it did in the case's title. KINDS lists them with their weights.
"""
import hashlib
import json
import time

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1", "sa-east-1", "us-gov-west-1",
           "us-gov-east-1", "cn-north-1", "cn-northwest-1", "us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1",
           "us-isof-south-1", "eusc-de-east-1", "xx-future-1"]
AWS_REGIONS = REGIONS[:6]
SSO_ACCOUNTS = ["123456789012", "210987654321"]
SSO_ROLES = ["reader", "admin", "denied-role", "missing-role"]
SSO_TOKENS = ["tok-alpha", "tok-beta", "revoked-gamma"]
CONTAINER_NAMES = ["task", "pod", "ecs-source"]
IMDS_NAME = "instance"


def iso(seconds_from_now):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


# MARK: credential sources. Each fills the selected profile (c.profile) or the environment.

def src_env(c):
    k = c.static_keys()
    c.env["AWS_ACCESS_KEY_ID"] = k["AccessKeyId"]
    r = c.rng.random()
    if r < 0.12:
        c.note("only AWS_ACCESS_KEY_ID")
        c.malformed = True
        return
    c.env["AWS_SECRET_ACCESS_KEY"] = k["SecretAccessKey"] if r > 0.2 else "wrong-" + k["SecretAccessKey"][:8]
    if r <= 0.2:
        c.note("wrong secret")
    if c.rng.random() < 0.3:
        c.env["AWS_SESSION_TOKEN"] = "session-token-%d" % c.rng.randrange(1000)
    c.note("environment keys")
    if c.rng.random() < 0.4:
        other = c.static_keys("user2" if k is c.w["admin"] else "admin")
        c.credentials[c.profile] = {"aws_access_key_id": other["AccessKeyId"], "aws_secret_access_key": other["SecretAccessKey"]}
        c.note("and other keys in the credentials file")


def src_credentials_file(c, profile=None):
    k = c.static_keys()
    entry = {"aws_access_key_id": k["AccessKeyId"], "aws_secret_access_key": k["SecretAccessKey"]}
    if profile is None and c.rng.random() < 0.1:
        del entry["aws_secret_access_key"]
        c.malformed = True
        c.note("credentials file without the secret")
    c.credentials[profile or c.profile] = entry
    if profile is None and c.rng.random() < 0.3:
        other = c.static_keys("user2" if k is c.w["admin"] else "admin")
        c.section(c.profile).update({"aws_access_key_id": other["AccessKeyId"], "aws_secret_access_key": other["SecretAccessKey"]})
        c.note("other keys in config (credentials file wins)")
    c.note("static keys in credentials[%s]" % (profile or c.profile))


def src_config_static(c, profile=None):
    k = c.static_keys()
    c.section(profile or c.profile).update({"aws_access_key_id": k["AccessKeyId"], "aws_secret_access_key": k["SecretAccessKey"]})
    c.note("static keys in config[%s]" % (profile or c.profile))


def src_process(c, profile=None):
    k = c.static_keys()
    mode = c.rng.choice(["ok", "ok", "ok-expiring", "fail", "garbage", "version2"])
    doc = {"Version": 2 if mode == "version2" else 1, "AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}
    if mode == "ok-expiring":
        doc["SessionToken"] = "process-token"
        doc["Expiration"] = iso(3600)
    if mode == "fail":
        body = "import sys\nsys.stderr.write('no credentials for you\\n')\nsys.exit(1)\n"
    elif mode == "garbage":
        body = "print('this is not json')\n"
    else:
        body = "import json\nprint(json.dumps(%s))\n" % json.dumps(doc)
    name = "cred-%s-%s.py" % (c.id, profile or c.profile)
    c.section(profile or c.profile)["credential_process"] = c.script(name, body)
    c.note("credential_process %s" % mode)


def src_container(c, allow_broken=True):
    name = c.rng.choice(CONTAINER_NAMES)
    mode = c.rng.choice(["creds", "auth-token", "auth-file", "auth-file", "wrong-token", "fail", "bad-host"] if allow_broken
                        else ["creds", "auth-token", "auth-file"])
    base = c.w["container_url"]
    if mode == "creds":
        c.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "%s/creds/%s" % (base, name)
    elif mode in ("auth-token", "auth-file", "wrong-token"):
        token = "pod-token-%d" % c.rng.randrange(100)
        c.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "%s/auth/%s/%s" % (base, token, name)
        if mode == "auth-file":
            # botocore refuses a token with a line break in it, a trailing newline included
            c.files[".aws/eks-token"] = token + ("\n" if c.rng.random() < 0.25 else "")
            c.env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = "{HOME}/.aws/eks-token"
        else:
            c.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = token if mode == "auth-token" else "not-" + token
    elif mode == "fail":
        c.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "%s/fail/500/%s" % (base, name)
    else:
        c.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://192.0.2.10/creds/%s" % name
    c.note("container %s" % mode)


def src_sso(c, profile=None):
    profile = profile or c.profile
    account, role, token = c.rng.choice(SSO_ACCOUNTS), c.rng.choice(SSO_ROLES), c.rng.choice(SSO_TOKENS)
    if c.rng.random() < 0.6:
        role = "reader"
    if c.rng.random() < 0.6:
        token = "tok-alpha"
    sso_region = c.rng.choice(["us-east-1", "eu-west-1", "us-gov-west-1"])
    start_url = "https://d-%04d.awsapps.com/start" % c.rng.randrange(10000)
    section = c.section(profile)
    section.update({"sso_account_id": account, "sso_role_name": role})
    if c.rng.random() < 0.6:
        session = c.rng.choice(["corp", "my-sso"])
        section["sso_session"] = session
        c.config["sso-session " + session] = {"sso_start_url": start_url, "sso_region": sso_region,
                                              "sso_registration_scopes": "sso:account:access"}
        cache_key = session
        c.note("sso_session %s" % session)
    else:
        section.update({"sso_start_url": start_url, "sso_region": sso_region})
        cache_key = start_url
        c.note("legacy sso_start_url")
    state = c.rng.choice(["valid", "valid", "valid", "expired", "missing"])
    if state != "missing":
        expires = iso(8 * 3600 if state == "valid" else -3600)
        doc = {"startUrl": start_url, "region": sso_region, "accessToken": token, "expiresAt": expires}
        c.files[".aws/sso/cache/%s.json" % hashlib.sha1(cache_key.encode()).hexdigest()] = json.dumps(doc)
    c.note("token %s (%s), role %s" % (state, token, role))


def src_webid_env(c):
    role = c.rng.choice(c.w["roles"])
    c.env["AWS_ROLE_ARN"] = role
    if c.rng.random() < 0.85:
        c.files[".aws/web-identity-token"] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJvcmFjbGUifQ."
    c.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "{HOME}/.aws/web-identity-token"
    if c.rng.random() < 0.5:
        c.env["AWS_ROLE_SESSION_NAME"] = "oracle-%s" % c.id
    c.note("web identity from the environment%s" % ("" if ".aws/web-identity-token" in c.files else ", token file missing"))


def src_webid_profile(c, profile=None):
    section = c.section(profile or c.profile)
    section["role_arn"] = c.rng.choice(c.w["roles"])
    c.files[".aws/token-%s" % (profile or c.profile)] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJwcm9maWxlIn0."
    section["web_identity_token_file"] = "{HOME}/.aws/token-%s" % (profile or c.profile)
    if c.rng.random() < 0.4:
        section["role_session_name"] = "webid-%s" % c.id
    c.note("web identity in profile %s" % (profile or c.profile))


def src_assume(c):
    """A chain of 1-3 roles ending in a source, or a broken chain."""
    names = [c.profile] + ["hop%d" % i for i in range(1, c.rng.randint(1, 3))] + ["base"]
    for i, name in enumerate(names[:-1]):
        section = c.section(name)
        section["role_arn"] = c.rng.choice(c.w["roles"])
        section["source_profile"] = names[i + 1]
        if c.rng.random() < 0.3:
            section["external_id"] = "ext-%d" % c.rng.randrange(100)
        if c.rng.random() < 0.3:
            section["role_session_name"] = "oracle-%s-%d" % (c.id, i)
        if c.rng.random() < 0.2:
            section["duration_seconds"] = str(c.rng.choice([900, 1800, 3600]))
    base = names[-1]
    ending = c.rng.choice(["credentials", "credentials", "config", "process", "sso", "env-source", "imds-source",
                           "container-source", "cycle", "missing", "limited", "both-sources", "bad-source", "no-source"])
    c.note("assume-role chain of %d (%s)" % (len(names) - 1, ending))
    last = c.section(names[-2])
    if ending == "credentials":
        src_credentials_file(c, base)
    elif ending == "config":
        src_config_static(c, base)
    elif ending == "process":
        src_process(c, base)
    elif ending == "sso":
        src_sso(c, base)
    elif ending in ("env-source", "imds-source", "container-source"):
        del last["source_profile"]
        last["credential_source"] = {"env-source": "Environment", "imds-source": "Ec2InstanceMetadata",
                                     "container-source": "EcsContainer"}[ending]
        if ending == "env-source":
            k = c.static_keys()
            c.env.update({"AWS_ACCESS_KEY_ID": k["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": k["SecretAccessKey"]})
            if len(names) == 2:
                # environment keys come first in the chain: the role would never be assumed
                c.env.pop("AWS_ACCESS_KEY_ID")
                c.env.pop("AWS_SECRET_ACCESS_KEY")
                last["credential_source"] = "Ec2InstanceMetadata"
        elif ending == "container-source":
            src_container(c, allow_broken=False)
    elif ending == "cycle":
        last["source_profile"] = names[0]
    elif ending == "missing":
        last["source_profile"] = "nowhere"
    elif ending == "limited":
        k = c.w["limited"]
        c.credentials[base] = {"aws_access_key_id": k["AccessKeyId"], "aws_secret_access_key": k["SecretAccessKey"]}
    elif ending == "both-sources":
        last["credential_source"] = "Environment"
        src_credentials_file(c, base)
    elif ending == "bad-source":
        del last["source_profile"]
        last["credential_source"] = "Ec2Metadata"
    elif ending == "no-source":
        del last["source_profile"]


def src_missing_profile(c):
    c.note("the selected profile does not exist")
    if c.profile == "default":
        c.profile_flag = "prod"
    missing = c.profile_flag or c.env.get("AWS_DEFAULT_PROFILE") or c.env.get("AWS_PROFILE")
    c.config.pop("profile " + missing, None)
    c.credentials.pop(missing, None)
    # every setting written for "the profile" from here on lands in another one
    c.profile = "other"
    c.section("other")["region"] = "eu-west-1"


def src_region_only(c):
    c.section(c.profile)["region"] = c.rng.choice(AWS_REGIONS)
    c.note("a profile with only a region goes on down the chain")


KINDS = [("env", src_env, 30), ("credentials", src_credentials_file, 30), ("config", src_config_static, 15),
         ("assume-role", src_assume, 60), ("web-identity-env", src_webid_env, 15), ("web-identity-profile", src_webid_profile, 12),
         ("sso", src_sso, 40), ("process", src_process, 25), ("container", src_container, 20), ("imds", lambda c: c.note("nothing configured"), 15),
         ("missing-profile", src_missing_profile, 12), ("region-only", src_region_only, 12)]
