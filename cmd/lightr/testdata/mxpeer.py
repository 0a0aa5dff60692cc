"""A remote mail exchanger for the outbound end-to-end tests, on aiosmtpd.

Usage: mxpeer.py OUTDIR [--defer N] [--reject-prefix P] [--delay SECONDS]

Listens on a free port of 127.0.0.1 and prints the port on a line of its
own. The first N DATA transactions are answered 451 4.3.0 (--defer), RCPT
TO addresses whose local part starts with P get 550 5.1.1
(--reject-prefix), and every final dot waits SECONDS before its answer
(--delay). Each accepted message is written to OUTDIR/NNNNNN.eml, byte for
byte, with its envelope in NNNNNN.json. Exits when stdin is closed.
"""

import argparse
import asyncio
import json
import os
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Peer:
    def __init__(self, outdir, defer, reject_prefix, delay):
        self.outdir = outdir
        self.defer = defer
        self.reject_prefix = reject_prefix
        self.delay = delay
        self.datas = 0
        self.saved = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_prefix and address.startswith(self.reject_prefix):
            return "550 5.1.1 <%s>: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.datas += 1
            n = self.datas
        if self.delay:
            await asyncio.sleep(self.delay)
        if n <= self.defer:
            return "451 4.3.0 try again later (%d)" % n
        with self.lock:
            self.saved += 1
            name = os.path.join(self.outdir, "%06d" % self.saved)
        with open(name + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "tls": session.ssl is not None}, f)
        os.rename(name + ".json.tmp", name + ".json")
        with open(name + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(name + ".eml.tmp", name + ".eml")
        return "250 2.0.0 Ok: queued as %d" % self.saved


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("outdir")
    p.add_argument("--defer", type=int, default=0)
    p.add_argument("--reject-prefix", default="")
    p.add_argument("--delay", type=float, default=0)
    a = p.parse_args()
    peer = Peer(a.outdir, a.defer, a.reject_prefix, a.delay)
    ctl = Controller(peer, hostname="127.0.0.1", port=free_port(), server_hostname="mx.remote.test",
                     enable_SMTPUTF8=True, data_size_limit=64 << 20)
    ctl.start()
    print(ctl.port, flush=True)
    try:
        sys.stdin.read()
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
