"""Deterministic temporary credentials for the small credential servers of the tests.

    derived(kind, *parts) -> {"AccessKeyId", "SecretAccessKey", "SessionToken"}

The same inputs always give the same keys, so a test (or botocore as the oracle) can say which
key id a program must end up signing with without asking the server. The key id is a valid
shape (20 characters, [A-Z0-9], starting with ASIA): `kind` (up to 4 letters) and a hash.
"""
import base64
import hashlib


def derived(kind, *parts):
    seed = "\x00".join([kind] + [str(p) for p in parts]).encode()
    digest = hashlib.sha256(seed).digest()
    tag = "".join(c for c in kind.upper() if c.isalnum())[:4].ljust(4, "X")
    key = "ASIA" + tag + base64.b32encode(digest).decode()[:12]
    return {
        "AccessKeyId": key,
        "SecretAccessKey": hashlib.sha256(b"secret" + seed).hexdigest()[:40],
        "SessionToken": "tok-" + hashlib.sha256(b"token" + seed).hexdigest(),
    }
