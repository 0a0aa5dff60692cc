#!/usr/bin/python3
"""An independent SMTP client for Lightr's end-to-end tests.

Run with Debian's /usr/bin/python3 (python3-dkim lives there):

  smtpclient.py send HOST PORT FROM TO FILE [--dkim KEYFILE DOMAIN SELECTOR]
      sends FILE with smtplib, signed with python3-dkim when --dkim is
      given, and prints the server's answer to the end of data as JSON:
      {"code": 250, "msg": "..."} or the refusal of the first recipient.
  smtpclient.py sign FILE KEYFILE DOMAIN SELECTOR
      prints FILE signed, so a test can alter it before sending.
  smtpclient.py raw HOST PORT FILE
      speaks SMTP over a bare socket and sends FILE after DATA exactly as
      it is (no dot-stuffing, no line-ending repair), for smuggling tests;
      prints the reply to the data as JSON.

Every connection is to the loopback address the test gives, with a timeout.
"""

import json
import smtplib
import socket
import sys

TIMEOUT = 20


def sign(raw, keyfile, domain, selector):
    import dkim  # python3-dkim

    with open(keyfile, "rb") as f:
        key = f.read()
    sig = dkim.sign(raw, selector.encode(), domain.encode(), key,
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig + raw


def send(host, port, mail_from, rcpt, raw):
    with smtplib.SMTP(host, int(port), timeout=TIMEOUT) as s:
        s.ehlo("client.sender.test")
        try:
            code, msg = s.mail(mail_from)
            if code != 250:
                return {"code": code, "msg": msg.decode()}
            code, msg = s.rcpt(rcpt)
            if code != 250:
                return {"code": code, "msg": msg.decode()}
            code, msg = s.data(raw)
            return {"code": code, "msg": msg.decode()}
        except smtplib.SMTPResponseException as e:
            return {"code": e.smtp_code, "msg": e.smtp_error.decode()}


def raw_send(host, port, data):
    sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    f = sock.makefile("rb")

    def reply():
        line = b""
        while True:
            line = f.readline()
            if not line or line[3:4] != b"-":
                return line.decode(errors="replace").strip()

    try:
        reply()  # greeting
        for cmd in (b"EHLO client.sender.test", b"MAIL FROM:<bob@sender.test>",
                    b"RCPT TO:<alice@acme.test>", b"DATA"):
            sock.sendall(cmd + b"\r\n")
            r = reply()
            if not r.startswith(("2", "3")):
                return {"code": int(r[:3]), "msg": r[4:]}
        sock.sendall(data)
        r = reply()
        return {"code": int(r[:3]) if r[:3].isdigit() else 0, "msg": r[4:]}
    finally:
        sock.close()


def main(argv):
    if argv[1] == "send":
        host, port, mail_from, rcpt, path = argv[2:7]
        with open(path, "rb") as f:
            raw = f.read()
        if len(argv) > 7 and argv[7] == "--dkim":
            raw = sign(raw, *argv[8:11])
        print(json.dumps(send(host, port, mail_from, rcpt, raw)))
    elif argv[1] == "sign":
        path, keyfile, domain, selector = argv[2:6]
        with open(path, "rb") as f:
            sys.stdout.buffer.write(sign(f.read(), keyfile, domain, selector))
    elif argv[1] == "raw":
        host, port, path = argv[2:5]
        with open(path, "rb") as f:
            print(json.dumps(raw_send(host, port, f.read())))
    else:
        sys.exit("unknown mode " + argv[1])


if __name__ == "__main__":
    main(sys.argv)
