# A Standard Webhooks receiver for the end-to-end tests, independent of
# Lightr's Go code: it checks webhook-signature with hmac against every
# secret listed (one a line) in SECRETS, answers 500 to the first FAIL
# attempts of each webhook-id on /a (every attempt when the file FAILALL
# exists), and logs each request as a JSON line on stdout.
import base64, hashlib, hmac, json, os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

DIR = sys.argv[1]
FAIL = int(sys.argv[2])
seen = {}

def secrets():
    with open(os.path.join(DIR, "SECRETS")) as f:
        return [s.strip() for s in f if s.strip()]

def valid(secret, msg_id, ts, body, header):
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256)
    want = "v1," + base64.b64encode(mac.digest()).decode()
    return any(hmac.compare_digest(want, s) for s in header.split(" "))

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        msg_id = self.headers.get("webhook-id", "")
        ts = self.headers.get("webhook-timestamp", "")
        header = self.headers.get("webhook-signature", "")
        fresh = ts.isdigit() and abs(time.time() - int(ts)) < 300
        env = json.loads(body)
        seen[msg_id] = seen.get(msg_id, 0) + 1
        status = 200
        if self.path == "/a" and (seen[msg_id] <= FAIL or os.path.exists(os.path.join(DIR, "FAILALL"))):
            status = 500
        print(json.dumps({"path": self.path, "id": msg_id, "status": status, "fresh": fresh,
                          "sigs": len(header.split(" ")),
                          "valid": [valid(s, msg_id, ts, body, header) for s in secrets()],
                          "type": env["type"], "event": env["data"]["id"],
                          "org": env["data"]["organizationId"]}), flush=True)
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass

srv = HTTPServer(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
