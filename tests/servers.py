"""Real servers on 127.0.0.1 for the identity and mail tests (a pytest plugin, see conftest.py).

- ``smtp_server``: aiosmtpd receiving real SMTP (AUTH, optional STARTTLS), messages parsed.
- ``oidc_provider``: the npm package oidc-provider (tests/oidc/), started with node, stopped by PID.
- ``silent_server``: accepts connections and never answers (a hung provider).
- ``drive_provider()``: its development login and consent pages driven with plain HTTP.
"""
from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "blog-test-client", "blog-test-secret-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP -----------------------------------------------------------------

@dataclass
class SMTPServer:
    host: str
    port: int
    messages: list = field(default_factory=list)
    logins: list = field(default_factory=list)

    def url(self, auth: bool = True) -> str:
        return f"smtp://mailer:s3cret@{self.host}:{self.port}" if auth else f"smtp://{self.host}:{self.port}"

    def wait_for(self, count: int, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


def _start_smtp(tls: str | None = None, cert: tuple[str, str] | None = None):
    """aiosmtpd on a free port: plain (tls=None), with STARTTLS ("starttls") or TLS from the start ("smtps")."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    server = SMTPServer("127.0.0.1", free_port())

    class Handler:
        async def handle_DATA(self, smtp, session, envelope):
            server.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 Message accepted for delivery"

    def authenticator(smtp, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"mailer" and auth_data.password == b"s3cret"
        server.logins.append((auth_data.login, ok))
        return AuthResult(success=ok)

    # aiosmtpd does not see implicit TLS (smtps) as TLS, so AUTH is only forced behind STARTTLS.
    kwargs: dict = {"authenticator": authenticator, "auth_require_tls": tls == "starttls"}
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*cert)
        if tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs["ssl_context"] = context
    controller = Controller(Handler(), hostname=server.host, port=server.port, **kwargs)
    controller.start()
    return server, controller


@pytest.fixture
def smtp_server():
    server, controller = _start_smtp()
    yield server
    controller.stop()


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1: (certificate path, key path); trust it as a CA file."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return str(folder / "cert.pem"), str(folder / "key.pem")


@pytest.fixture
def smtp_tls_server(request, tls_cert):
    """Parametrize indirectly with "starttls" or "smtps"."""
    server, controller = _start_smtp(request.param, tls_cert)
    yield server
    controller.stop()


def links_in(message) -> list[str]:
    import re

    text = message.get_body(("plain",)).get_content()
    return re.findall(r"https?://\S+", text)


# --- a server that never answers --------------------------------------------

@pytest.fixture
def silent_server():
    """Accepts TCP connections and reads, never writes: a provider that hangs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    sock.close()


# --- the OpenID Connect provider ----------------------------------------------

@dataclass
class OIDCProvider:
    issuer: str
    live_port: int  # the port the browser tests' live server must use (its callback is registered)

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def config(self, name: str = "oidc", **extra) -> dict:
        prefix = f"OAUTH_{name.upper()}_"
        return {"OAUTH_PROVIDERS": name, prefix + "CLIENT_ID": CLIENT_ID, prefix + "CLIENT_SECRET": CLIENT_SECRET,
                prefix + "SERVER_METADATA_URL": self.metadata_url, prefix + "TITLE": "Test OpenID", **extra}


@pytest.fixture(scope="session")
def oidc_provider():
    node = shutil.which("node")
    if node is None or not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("the OIDC provider needs node and `npm ci` in tests/oidc (.ci/run does it)")
    port, live_port = free_port(), free_port()
    redirects = ",".join(f"{base}/auth/{name}/callback" for base in ("http://localhost", f"http://127.0.0.1:{live_port}")
                         for name in ("oidc", "other"))
    env = {**os.environ, "PORT": str(port), "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET,
           "REDIRECT_URIS": redirects, "NODE_ENV": "test"}
    log = open(OIDC_DIR.parent / ".oidc-provider.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([node, "server.js"], cwd=OIDC_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    provider = OIDCProvider(f"http://127.0.0.1:{port}", live_port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(provider.metadata_url, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("oidc-provider did not start; see tests/.oidc-provider.log")
            time.sleep(0.1)
        yield provider
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def drive_provider(authorize_url: str, callback_prefix: str, login: str = "alice",
                   consent: bool = True, session: requests.Session | None = None) -> str:
    """Act as the reader at the provider: sign in as ``login`` and consent (or decline).

    Follows redirects by hand until one leads to the blog's callback; returns that URL.
    """
    http = session or requests.Session()
    url = authorize_url
    for _ in range(20):
        if url.startswith(callback_prefix):
            return url
        response = http.get(url, allow_redirects=False, timeout=10)
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            continue
        assert response.status_code == 200, (response.status_code, response.text[:500])
        path = urlsplit(url).path
        if not consent:
            url = urljoin(url, path.rstrip("/") + "/abort")
            continue
        prompt = "login" if 'name="login"' in response.text else "consent"
        data = {"prompt": prompt, "login": login, "password": "any"} if prompt == "login" else {"prompt": "consent"}
        response = http.post(url, data=data, allow_redirects=False, timeout=10)
        assert response.is_redirect, (response.status_code, response.text[:500])
        url = urljoin(url, response.headers["Location"])
    raise AssertionError("the provider never redirected back to the blog")
