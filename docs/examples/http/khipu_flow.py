"""Create → pay → await callback → verify, against a running sandbox, with
Python's standard library only. Run: SANDBOX_URL=http://127.0.0.1:8080 python3 docs/examples/http/khipu_flow.py"""
import base64, hashlib, hmac, json, os, threading, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

BASE = os.environ.get("SANDBOX_URL", "http://127.0.0.1:8080")


def call(method, path, body=None, headers=None):
    req = urllib.request.Request(BASE + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


received = []


class Merchant(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received.append((self.headers["x-khipu-signature"], body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, *args):
        pass


merchant = HTTPServer(("127.0.0.1", 0), Merchant)
threading.Thread(target=merchant.serve_forever, daemon=True).start()

khipu = next(p for p in call("GET", "/_sandbox/api/info")["providers"] if p["provider"] == "khipu")
creds = {f["name"]: f["value"] for f in khipu["credentials"][0]["fields"]}
payment = call("POST", "/khipu/v3/payments", {"subject": "Order 1", "currency": "CLP", "amount": 1000,
               "transaction_id": "PY-1", "notify_url": f"http://127.0.0.1:{merchant.server_port}/notify",
               "notify_api_version": "3.0"}, {"x-api-key": creds["api_key"]})
pid = payment["payment_id"]
call("POST", f"/_sandbox/api/objects/khipu/{pid}/actions/pay", {})
call("POST", "/_sandbox/api/clock/advance", {"by": "1h"})  # Khipu's verification ends: the notification goes out

callbacks = call("GET", f"/_sandbox/api/callbacks?object={pid}&min=1&wait=10s")
assert callbacks["complete"] and callbacks["entries"][0]["callback"]["outcome"] == "acknowledged", callbacks
assert call("GET", f"/_sandbox/api/objects/khipu/{pid}?status=done&wait=10s")["complete"]

# Verify as a merchant must: HMAC-SHA256(secret, t + "." + raw body), Base64.
header, body = received[0]
sig = dict(part.split("=", 1) for part in header.split(","))
want = base64.b64encode(hmac.new(creds["secret"].encode(), sig["t"].encode() + b"." + body, hashlib.sha256).digest()).decode()
assert hmac.compare_digest(sig["s"], want), (sig, want)
assert json.loads(body)["payment_id"] == pid
print("ok - created, paid, notified, signature verified:", pid)
merchant.shutdown()
