"""An OpenID Connect provider on loopback, for the tests and `OIDC_DEMO=1 make run`.

It is panva's `oidc-provider` for Node.js (`provider.mjs` beside this file; the versions are
pinned in `package.json` and `package-lock.json`): a certified provider, not an imitation,
so the console's client meets discovery, PKCE, signed ID tokens and JWKS as Okta or
Keycloak serve them. `install` puts its packages under `VAR_DIR/oidc-sandbox/` with
`npm ci` (once, and again when the lock file changes); `OidcSandbox` starts it on a free
port with one confidential client and the given users, and drives its test controls
(a user's groups, removing a user, a tampered ID token).

Needs Node.js 20.19 or newer and npm. Production code never imports this package.
"""

import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from joserfc.jwk import RSAKey

HERE = Path(__file__).resolve().parent
NODE_FILES = ("package.json", "package-lock.json", "provider.mjs")
START_TIMEOUT_SECONDS = 20
INSTALL_TIMEOUT_SECONDS = 300

# The demo's company: one person per console role, and one in no group the console maps.
DEMO_USERS = (
    ("alex", "Alex Rivera", ["billing-specialists"]),
    ("blake", "Blake Okafor", ["finance-team"]),
    ("casey", "Casey Lindqvist", ["tier2-agents"]),
    ("drew", "Drew Haddad", ["console-admins"]),
    ("eve", "Eve Marketing", ["marketing"]),
)


class SandboxUnavailable(RuntimeError):
    """Node.js or npm is missing, or the packages could not be installed."""


@dataclass
class User:
    username: str
    name: str
    groups: list
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def as_config(self):
        return {"password": self.password, "name": self.name, "groups": list(self.groups),
                "email": f"{self.username}@company.example.com"}


def demo_users():
    """The demo's users, each with a fresh password."""
    return [User(username, name, list(groups)) for username, name, groups in DEMO_USERS]


def install(var_dir):
    """The folder under `var_dir` holding the provider and its packages, installed with
    `npm ci` unless the installed lock file is this one."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise SandboxUnavailable(f"{tool} is not installed (Node.js 20.19 or newer)")
    folder = Path(var_dir).resolve() / "oidc-sandbox"
    folder.mkdir(parents=True, exist_ok=True)
    for name in NODE_FILES:
        shutil.copyfile(HERE / name, folder / name)
    lock = hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()
    stamp = folder / "node_modules" / ".installed-lock"
    if stamp.exists() and stamp.read_text() == lock:
        return folder
    done = subprocess.run(  # noqa: S603 - fixed arguments
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],  # noqa: S607
        cwd=folder, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS,
        env={**os.environ, "npm_config_cache": str(Path(var_dir) / "npm-cache")})
    if done.returncode:
        raise SandboxUnavailable(f"npm ci failed: {done.stderr.strip()[-2000:]}")
    stamp.write_text(lock)
    return folder


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OidcSandbox:
    """The provider, running. `issuer` is its URL; the client it knows is `client_id` and
    `client_secret`, redirecting only to `redirect_uris`."""

    def __init__(self, *, var_dir, users, redirect_uris, port=None, client_id="billing-console",
                 client_secret=None, id_token_ttl=3600):
        self.folder = install(var_dir)
        self.port = port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.users = {user.username: user for user in users}
        key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig",
                                                    "kid": secrets.token_hex(8)}, private=True)
        config = {
            "port": self.port,
            "client": {"client_id": client_id, "client_secret": self.client_secret,
                       "redirect_uris": list(redirect_uris)},
            "jwk": key.as_dict(private=True),
            "users": {user.username: user.as_config() for user in users},
            "id_token_ttl": id_token_ttl,
        }
        # Holds the client secret and the signing key: readable by this user only.
        self.config_path = self.folder / f"config-{self.port}.json"
        descriptor = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as config_file:
            json.dump(config, config_file)
        # Its own log: Node's and the provider's start-up warnings are noise elsewhere.
        self.log_path = self.folder / f"provider-{self.port}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
                ["node", "provider.mjs", str(self.config_path)],  # noqa: S607
                cwd=self.folder, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_answering()

    def _wait_until_answering(self):
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SandboxUnavailable("it stopped while starting: "
                                         + self.log_path.read_text()[-2000:])
            try:
                self._call("GET", "/.well-known/openid-configuration")
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SandboxUnavailable(f"it did not answer at {self.issuer} within "
                                 f"{START_TIMEOUT_SECONDS} s; see {self.log_path}")

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.issuer + path, data=data, method=method,  # noqa: S310
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            return json.load(response)

    def set_groups(self, username, groups):
        """The user's groups from the next token the provider makes."""
        self.users[username].groups = list(groups)
        return self._call("PUT", f"/_sandbox/users/{username}/groups", list(groups))

    def remove_user(self, username):
        """The user is gone at the provider: no sign-in, no renewal."""
        self.users.pop(username)
        return self._call("DELETE", f"/_sandbox/users/{username}")

    def tamper_next_id_token(self, how):
        """The next token response carries an ID token made wrong: "forged", "expired",
        "wrong_audience", "wrong_issuer" or "wrong_nonce" (provider.mjs)."""
        return self._call("POST", "/_sandbox/tamper", {"id_token": how})

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.config_path.unlink(missing_ok=True)
        self.log_path.unlink(missing_ok=True)
