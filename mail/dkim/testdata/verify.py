"""Verify DKIM signatures with python3-dkim (dkimpy), a verifier
independent of the Go code that signed them.

Reads JSON from stdin: {"records": {name: TXT value}, "messages": {id:
base64 of the message}}. Each message's signatures are checked one by one
against the given records only (no DNS), and the outcome is written to
stdout as JSON: {id: [outcome of signature 0, 1, ...]}, where an outcome is
"pass" or the reason it is not.
"""

import base64
import json
import sys

import dkim


def main():
    req = json.load(sys.stdin)
    records = {k.rstrip(".").lower(): v.encode() for k, v in req["records"].items()}

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return records.get(name.rstrip(".").lower())

    out = {}
    for mid, b64 in req["messages"].items():
        msg = base64.b64decode(b64)
        d = dkim.DKIM(msg)
        n = sum(1 for k, _ in d.headers if k.lower() == b"dkim-signature")
        results = []
        for i in range(n):
            try:
                ok = dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc)
                results.append("pass" if ok else "fail")
            except dkim.DKIMException as e:
                results.append("error: %s" % e)
        out[mid] = results
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
