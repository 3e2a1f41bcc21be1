"""Real alert receivers on 127.0.0.1 for tests: an SMTP server with STARTTLS and login (aiosmtpd, a
self-signed certificate made here with `cryptography`), and a JSON webhook receiver (stdlib http.server)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (IP and DNS names) and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _wait_for(received: list, count: int, timeout: float) -> list:
    """``received`` (filled by a server thread) once it holds ``count`` items, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return received


class Mailbox:
    """What the SMTP server received: messages (with whether the session was encrypted) and logins."""

    def __init__(self):
        self.messages: list[dict] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "data": envelope.content.decode("utf-8", "replace"), "tls": session.ssl is not None})
        return "250 OK"

    def wait(self, count: int = 1, timeout: float = 30) -> list[dict]:
        return _wait_for(self.messages, count, timeout)


@contextmanager
def smtp_server(directory: Path, user: str, password: str):
    """Yield (port, cert_path, mailbox): STARTTLS required before AUTH, AUTH required before mail."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = self_signed_cert(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
        if ok:
            mailbox.logins.append((auth_data.login.decode(), mechanism))
        return AuthResult(success=ok)

    port = _free_port()
    controller = Controller(mailbox, hostname=HOST, port=port, tls_context=context, require_starttls=True,
                            auth_require_tls=True, authenticator=authenticator, auth_required=True)
    controller.start()
    try:
        yield port, cert, mailbox
    finally:
        controller.stop()


class Hooks:
    """What the webhook receiver got: each POST's path, JSON body, raw body and Authorization header."""

    def __init__(self):
        self.requests: list[dict] = []

    def wait(self, count: int = 1, timeout: float = 30) -> list[dict]:
        return _wait_for(self.requests, count, timeout)


@contextmanager
def webhook_receiver():
    """Yield (url, hooks): every POST body (JSON) and its Authorization header is recorded."""
    hooks = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hooks.requests.append({"path": self.path, "json": json.loads(body), "raw": body.decode(),
                                   "authorization": self.headers.get("Authorization")})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):  # keep test output clean
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/hooks/credit", hooks
    finally:
        server.shutdown()
        server.server_close()
