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
import random

from chain_sources import (AWS_REGIONS, CONTAINER_NAMES, IMDS_NAME, KINDS, REGIONS, SSO_ACCOUNTS, SSO_ROLES,  # noqa: F401
                           SSO_TOKENS, iso)
from derived_credentials import derived


def registrations(world):
    """Every (key, secret, token) a case can hand out that must be good at moto."""
    out = [derived("IMDS", IMDS_NAME)] + [derived("CONT", n) for n in CONTAINER_NAMES]
    out += [derived("SSO", a, r, t) for a in SSO_ACCOUNTS for r in SSO_ROLES for t in SSO_TOKENS]
    return out


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
