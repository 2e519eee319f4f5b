"""The oracle's cases: seeded random configurations of the AWS SDKs' shared files and
environment (issue 10), each a dict the oracle (chain_oracle.py) materialises and asks botocore
and the poller about:

    {"id", "title", "kind", "args" (poller flags), "profile_flag", "region_flag",
     "env" (values may hold {HOME}), "files" ({path under HOME: text}), "malformed" (bool:
     botocore's refusal is a malformed setting, exit 2, rather than a credential failure, exit 3)}

generate(count, seed, world) is deterministic for a given seed and world (keys, URLs).
`world` holds: admin, user2, limited ({"AccessKeyId", "SecretAccessKey"}), account, roles
(list of role ARNs that exist and may be assumed by anyone), imds_url, imds_region,
container_url, ca_bundle, python. Every key any case can hand out that must work against moto
is listed by registrations(world) (the oracle registers them there).
"""
import hashlib
import json
import random
import time

from derived_credentials import derived

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1", "sa-east-1", "us-gov-west-1",
           "us-gov-east-1", "cn-north-1", "cn-northwest-1", "us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1",
           "us-isof-south-1", "eusc-de-east-1", "xx-future-1"]
AWS_REGIONS = REGIONS[:6]
SSO_ACCOUNTS = ["123456789012", "210987654321"]
SSO_ROLES = ["reader", "admin", "denied-role", "missing-role"]
SSO_TOKENS = ["tok-alpha", "tok-beta", "revoked-gamma"]
CONTAINER_NAMES = ["task", "pod", "ecs-source"]
IMDS_NAME = "instance"


def registrations(world):
    """Every (key, secret, token) a case can hand out that must be good at moto."""
    out = [derived("IMDS", IMDS_NAME)] + [derived("CONT", n) for n in CONTAINER_NAMES]
    out += [derived("SSO", a, r, t) for a in SSO_ACCOUNTS for r in SSO_ROLES for t in SSO_TOKENS]
    return out


def iso(seconds_from_now):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


class Case:
    def __init__(self, index, rng, world):
        self.id = "c%03d" % index
        self.rng, self.w = rng, world
        self.env = {}
        self.config = {}        # section header -> {key: value or {subkey: value}}
        self.credentials = {}   # profile -> {key: value}
        self.files = {}
        self.args = []
        self.profile = "default"
        self.profile_flag = None
        self.region_flag = None
        self.malformed = False
        self.notes = []
        self.kind = None
        # botocore reads [profile default] as well as [default]
        self.default_header = "profile default" if rng.random() < 0.15 else "default"

    # MARK: helpers

    def section(self, name):
        header = self.default_header if name == "default" else "profile " + name
        return self.config.setdefault(header, {})

    def static_keys(self, who=None):
        return self.w[who or self.rng.choice(["admin", "user2"])]

    def note(self, text):
        self.notes.append(text)

    def script(self, name, text):
        path = ".aws/bin/" + name
        self.files[path] = text
        return "{PYTHON} {HOME}/" + path

    def render(self):
        def ini(sections):
            lines = []
            for header, keys in sections.items():
                if self.rng.random() < 0.2:
                    lines.append("# %s, written by hand" % header)
                lines.append("[%s]" % header)
                for k, v in keys.items():
                    if isinstance(v, dict):
                        lines.append("%s =" % k)
                        lines += ["  %s = %s" % kv for kv in v.items()]
                    else:
                        lines.append("%s = %s" % (k, v))
                lines.append("")
            return "\n".join(lines)
        if self.config:
            self.files[self.config_path] = ini(self.config)
        if self.credentials:
            self.files[self.credentials_path] = ini(self.credentials)
        self.args = (["--profile", self.profile_flag] if self.profile_flag else []) + (["--region", self.region_flag] if self.region_flag else [])
        return {"id": self.id, "title": "%s: %s" % (self.kind, "; ".join(self.notes)), "kind": self.kind, "args": self.args,
                "profile_flag": self.profile_flag, "region_flag": self.region_flag, "env": self.env, "files": self.files,
                "malformed": self.malformed}

    # MARK: where things live

    def choose_files(self):
        r = self.rng.random()
        if r < 0.5:
            self.config_path, self.credentials_path = ".aws/config", ".aws/credentials"
        else:
            self.config_path, self.credentials_path = "elsewhere/cfg", "elsewhere/creds"
            self.env["AWS_CONFIG_FILE"] = "{HOME}/" + self.config_path
            self.env["AWS_SHARED_CREDENTIALS_FILE"] = "{HOME}/" + self.credentials_path
            self.note("files moved by AWS_CONFIG_FILE/AWS_SHARED_CREDENTIALS_FILE")

    def choose_profile(self):
        name = self.rng.choice(["default", "default", "prod", "dev", "ci-runner"])
        how = self.rng.choice(["implicit", "flag", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "both"])
        if how == "implicit":
            name = "default"
        if name == "default" and how != "flag":
            how = "implicit"
        if how == "flag":
            self.profile_flag = name
        elif how in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            self.env[how] = name
        elif how == "both":
            self.env["AWS_DEFAULT_PROFILE"] = name
            self.env["AWS_PROFILE"] = "dev" if name != "dev" else "prod"
        if how != "implicit" and self.rng.random() < 0.15:
            # the flag wins over both variables
            self.profile_flag = name
            self.env.setdefault("AWS_PROFILE", "other")
        self.profile = name
        self.note("profile %s via %s" % (name, how))


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


# MARK: settings around the source

def add_region(c, chained):
    pool = AWS_REGIONS if chained and c.rng.random() < 0.8 else REGIONS
    where = c.rng.choice(["flag", "AWS_REGION", "AWS_DEFAULT_REGION", "both-env", "profile", "profile", "profile+env", "none"])
    r1, r2 = c.rng.choice(pool), c.rng.choice(pool)
    if where == "flag":
        c.region_flag = r1
        if c.rng.random() < 0.5:
            c.env["AWS_REGION"] = r2
    elif where == "AWS_REGION":
        c.env["AWS_REGION"] = r1
    elif where == "AWS_DEFAULT_REGION":
        c.env["AWS_DEFAULT_REGION"] = r1
    elif where == "both-env":
        c.env["AWS_REGION"], c.env["AWS_DEFAULT_REGION"] = r1, r2
    elif where.startswith("profile"):
        c.section(c.profile)["region"] = r1 if "region" not in c.section(c.profile) else c.section(c.profile)["region"]
        if where == "profile+env":
            c.env["AWS_DEFAULT_REGION"] = r2
    if c.rng.random() < 0.03:
        c.env["AWS_DEFAULT_REGION"] = "Not A Region!"
        c.env.pop("AWS_REGION", None)
        c.region_flag = None
        c.malformed = True
        where = "malformed AWS_DEFAULT_REGION"
    c.note("region: %s" % where)


def add_endpoints(c):
    r = c.rng.random()
    if r < 0.45:
        return
    options = ["fips-env", "fips-profile", "dualstack-env", "dualstack-profile", "ec2-url-env", "sts-url-env",
               "global-url-env", "profile-url", "services", "ignore-env", "ignore-profile", "sts-legacy", "sts-regional",
               "sts-legacy-profile", "max-attempts", "retry-mode"]
    chosen = c.rng.sample(options, c.rng.randint(1, 3))
    if c.rng.random() < 0.12:
        # a malformed setting botocore refuses: rare, so that it does not hide the credential cases
        chosen.append(c.rng.choice(["bad-sts-setting", "bad-max-attempts", "bad-retry-mode"]))
    section = c.section(c.profile)
    n = c.rng.randrange(100)
    for o in chosen:
        if o == "fips-env":
            c.env["AWS_USE_FIPS_ENDPOINT"] = "true"
        elif o == "fips-profile":
            section["use_fips_endpoint"] = "true"
        elif o == "dualstack-env":
            c.env["AWS_USE_DUALSTACK_ENDPOINT"] = "true"
        elif o == "dualstack-profile":
            section["use_dualstack_endpoint"] = "true"
        elif o == "ec2-url-env":
            c.env["AWS_ENDPOINT_URL_EC2"] = "https://ec2-env-%d.example.test" % n
        elif o == "sts-url-env":
            c.env["AWS_ENDPOINT_URL_STS"] = "https://sts-env-%d.example.test" % n
        elif o == "global-url-env":
            c.env["AWS_ENDPOINT_URL"] = "https://everything-%d.example.test" % n
        elif o == "profile-url":
            section["endpoint_url"] = "https://profile-%d.example.test" % n
        elif o == "services":
            section["services"] = "svc%d" % n
            c.config["services svc%d" % n] = {s: {"endpoint_url": "https://%s-svc-%d.example.test" % (s, n)}
                                             for s in c.rng.sample(["ec2", "sts"], c.rng.randint(1, 2))}
        elif o == "ignore-env":
            c.env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
        elif o == "ignore-profile":
            section["ignore_configured_endpoint_urls"] = "true"
        elif o == "sts-legacy":
            c.env["AWS_STS_REGIONAL_ENDPOINTS"] = "legacy"
        elif o == "sts-regional":
            c.env["AWS_STS_REGIONAL_ENDPOINTS"] = "regional"
        elif o == "sts-legacy-profile":
            section["sts_regional_endpoints"] = "legacy"
        elif o == "bad-sts-setting":
            c.env["AWS_STS_REGIONAL_ENDPOINTS"] = "sometimes"
            c.malformed = True
        elif o == "bad-max-attempts":
            c.env["AWS_MAX_ATTEMPTS"] = "many"
            c.malformed = True
        elif o == "bad-retry-mode":
            section["retry_mode"] = "eager"
            c.malformed = True
        elif o == "max-attempts":
            section["max_attempts"] = str(c.rng.randint(1, 5))
        elif o == "retry-mode":
            c.env["AWS_RETRY_MODE"] = c.rng.choice(["standard", "adaptive", "legacy"])
    c.note("endpoints: " + ",".join(chosen))


def add_imds(c):
    r = c.rng.random()
    if r < 0.25:
        c.env["AWS_EC2_METADATA_DISABLED"] = "true"
        c.note("IMDS disabled")
    elif r < 0.45:
        c.section(c.profile)["ec2_metadata_service_endpoint"] = c.w["imds_url"]
        c.note("IMDS endpoint in profile")
    else:
        c.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = c.w["imds_url"]
    # A loaded test machine must not turn a slow loopback answer into a missing source on one
    # side only: both read these (botocore's default is 1 s, one attempt).
    if c.rng.random() < 0.5:
        c.env["AWS_METADATA_SERVICE_TIMEOUT"], c.env["AWS_METADATA_SERVICE_NUM_ATTEMPTS"] = "5", "2"
    else:
        c.section(c.profile).update({"metadata_service_timeout": "5", "metadata_service_num_attempts": "2"})


def add_ca(c):
    if c.rng.random() < 0.2:
        c.section(c.profile)["ca_bundle"] = c.w["ca_bundle"]
        c.note("ca_bundle in profile")
    else:
        c.env["AWS_CA_BUNDLE"] = c.w["ca_bundle"]


def add_noise(c):
    if c.rng.random() < 0.4:
        k = c.static_keys("user2")
        c.credentials["unrelated"] = {"aws_access_key_id": k["AccessKeyId"], "aws_secret_access_key": k["SecretAccessKey"]}
        c.section("unrelated")["region"] = "sa-east-1"
    if c.rng.random() < 0.2 and c.profile != "default":
        k = c.static_keys("user2")
        c.credentials.setdefault("default", {"aws_access_key_id": k["AccessKeyId"], "aws_secret_access_key": k["SecretAccessKey"]})
        c.note("keys in [default] too")


def generate(count, seed, world):
    rng = random.Random(seed)
    names, functions, weights = zip(*[(n, f, w) for n, f, w in KINDS])
    cases = []
    for i in range(count):
        c = Case(i, rng, world)
        index = i % len(names) if i < 2 * len(names) else rng.choices(range(len(names)), weights)[0]
        c.kind = names[index]
        c.choose_files()
        c.choose_profile()
        add_noise(c)
        functions[index](c)
        add_region(c, c.kind in ("assume-role", "web-identity-env", "web-identity-profile"))
        add_endpoints(c)
        add_imds(c)
        add_ca(c)
        if c.kind != "missing-profile" and c.profile != "default" and not any(h == "profile " + c.profile for h in c.config) \
                and c.profile not in c.credentials:
            c.section(c.profile)["output"] = "json"
        cases.append(c.render())
    return cases
