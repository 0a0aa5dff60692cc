#!/usr/bin/python3
"""An independent IMAP client for Lightr's end-to-end tests: Python's imaplib.

  imapclient.py HOST PORT CAFILE USER PASSWORD

connects to HOST:PORT, sends ID (RFC 2971) if the server announces it,
upgrades with STARTTLS (verifying the server against CAFILE and the name
HOST), logs in, sends ID again, prints {"typ": "OK", "capabilities": [..],
"ids": [the server's two ID answers]} and then runs one command per line
of stdin, each a JSON array, printing one JSON object per line:

  ["select", MAILBOX]           -> {"typ": "OK", "exists": N}
  ["search", CHARSET, CRIT...]  -> {"typ": "OK", "uids": [..]}  (UID SEARCH;
                                   CHARSET may be null; a criterion starting
                                   with "lit:" is sent as a literal, in UTF-8)
  ["fetch", UIDS, ITEMS]        -> {"typ": "OK", "data": [{"head": "...",
                                   "literal": base64 or absent}, ...]}
  ["store", UIDS, OP, FLAGS]    -> {"typ": "OK", "data": [...]}
  ["noop"]                      -> {"typ": "OK"}
  ["idle", SECONDS]             -> {"idling": true} once the server accepted
                                   IDLE, then, after the first EXPUNGE (or
                                   SECONDS), DONE and {"typ": "OK"}
  ["logout"]                    -> {"typ": "BYE"}

Every answer also carries "untagged": the untagged responses imaplib
collected since the previous answer ({"FETCH": ["3 (FLAGS (\\Seen))"]...}).
"""

import base64
import imaplib
import json
import ssl
import sys
import threading

TIMEOUT = 20

# imaplib has no ID command; it is valid in every state.
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))


def text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def items(data):
    """Turns imaplib's mix of bytes and (head, literal) tuples into JSON."""
    out = []
    for d in data or []:
        if isinstance(d, tuple):
            out.append({"head": text(d[0]), "literal": base64.b64encode(d[1]).decode()})
        elif d is not None and d != b")":
            out.append({"head": text(d)})
    return out


def untagged(m):
    got = {k: [text(x) for x in v if not isinstance(x, tuple)]
           for k, v in m.untagged_responses.items()}
    m.untagged_responses.clear()
    return got


def idle(m, seconds):
    """IDLE (RFC 2177) by hand: imaplib before Python 3.14 has no idle().
    Reads stay blocking; a timer ends the IDLE with DONE if no EXPUNGE
    came within SECONDS."""
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    line = m.readline()
    if not line.startswith(b"+"):
        return {"typ": "NO", "error": text(line)}
    print(json.dumps({"idling": True}), flush=True)

    lock, done = threading.Lock(), []

    def finish():
        with lock:
            if not done:
                done.append(True)
                m.send(b"DONE\r\n")

    timer = threading.Timer(seconds, finish)
    timer.start()
    seen = []
    while True:
        line = m.readline()
        if not line:
            raise imaplib.IMAP4.abort("connection closed during IDLE")
        if line.startswith(tag + b" "):
            timer.cancel()
            return {"typ": text(line.split()[1]), "lines": seen}
        seen.append(text(line).rstrip())
        if line.rstrip().endswith(b"EXPUNGE"):
            finish()


def ident(m):
    """Sends ID with imaplib's name and returns the server's ID answer."""
    if "ID" not in m.capabilities:
        return None
    fields = '("name" "imaplib" "version" "%d.%d")' % sys.version_info[:2]
    typ, data = m._simple_command("ID", fields)
    typ, data = m._untagged_response(typ, data, "ID")
    return text(data[0]) if typ == "OK" and data and data[0] else typ


def run(m, cmd):
    op, args = cmd[0], cmd[1:]
    if op == "select":
        typ, data = m.select(args[0])
        return {"typ": typ, "exists": int(data[0]) if typ == "OK" else 0}
    if op == "search":
        charset, crit = args[0], []
        for c in args[1:]:
            if c.startswith("lit:"):
                m.literal = c[4:].encode("utf-8")  # sent as the last argument
            else:
                crit.append(c)
        typ, data = m.uid("SEARCH", *(["CHARSET", charset] if charset else []), *crit)
        uids = [int(u) for u in data[0].split()] if typ == "OK" and data[0] else []
        return {"typ": typ, "uids": uids}
    if op == "fetch":
        typ, data = m.uid("FETCH", args[0], args[1])
        return {"typ": typ, "data": items(data)}
    if op == "store":
        typ, data = m.uid("STORE", args[0], args[1], args[2])
        return {"typ": typ, "data": items(data)}
    if op == "noop":
        typ, _ = m.noop()
        return {"typ": typ}
    if op == "idle":
        return idle(m, float(args[0]))
    if op == "logout":
        typ, _ = m.logout()
        return {"typ": typ}
    raise ValueError("unknown command " + op)


def main():
    host, port, cafile, user, password = sys.argv[1:6]
    m = imaplib.IMAP4(host, int(port), timeout=TIMEOUT)
    ids = [ident(m)]
    m.starttls(ssl.create_default_context(cafile=cafile))
    m.login(user, password)
    ids.append(ident(m))
    print(json.dumps({"typ": "OK", "capabilities": list(m.capabilities), "ids": ids}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            res = run(m, json.loads(line))
        except imaplib.IMAP4.error as e:
            res = {"typ": "NO", "error": str(e)}
        res["untagged"] = untagged(m)
        print(json.dumps(res), flush=True)
        if res.get("typ") == "BYE":
            return


if __name__ == "__main__":
    main()
