"""A test SMTP server on aiosmtpd for mail/outbound.

Usage: smtpd.py OUTDIR [--tls CERT KEY] [--auth USER:PASS]

Listens on a free port of 127.0.0.1, prints the port on a line of its own,
and writes every message it accepts to OUTDIR/NNN.json: the envelope, the
content (base64, byte for byte), whether it came over TLS and the user who
logged in. It exits when its standard input is closed.
"""

import argparse
import asyncio
import base64
import json
import os
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            name = os.path.join(self.outdir, "%03d.json" % self.count)
        record = {
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "content": base64.b64encode(envelope.original_content).decode(),
            "tls": session.ssl is not None,
            "helo": session.host_name,
            "login": login(session.auth_data),
        }
        tmp = name + ".tmp"
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, name)
        return "250 2.0.0 Ok: queued as %d" % self.count


def login(auth_data):
    if isinstance(auth_data, bytes):
        return auth_data.decode()
    return auth_data or ""


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and \
                auth_data.login == user.encode() and auth_data.password == password.encode():
            return AuthResult(success=True, auth_data=auth_data.login)
        return AuthResult(success=False, handled=False)
    return check


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("outdir")
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth")
    args = p.parse_args()

    kwargs = {"hostname": "127.0.0.1", "port": free_port(), "server_hostname": "mx.test",
              "enable_SMTPUTF8": True}
    if args.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*args.tls)
        kwargs["tls_context"] = ctx
    if args.auth:
        user, password = args.auth.split(":", 1)
        kwargs["authenticator"] = authenticator(user, password)
        kwargs["auth_require_tls"] = True
    controller = Controller(Saver(args.outdir), **kwargs)
    controller.start()
    print(controller.port, flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
