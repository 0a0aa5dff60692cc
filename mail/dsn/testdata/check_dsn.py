"""Reads a delivery status notification on stdin with Python's email
package and prints what it found as JSON, for dsn_test to compare."""
import email
import email.policy
import json
import sys

msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
parts = msg.get_payload() if msg.is_multipart() else []
out = {
    "multipart": msg.is_multipart(),
    "type": msg.get_content_type(),
    "report_type": msg.get_param("report-type"),
    "subject": str(msg["subject"]),
    "auto_submitted": str(msg["auto-submitted"]),
    "defects": [type(d).__name__ for d in msg.defects],
    "parts": [p.get_content_type() for p in parts],
    "text": parts[0].get_content() if parts else "",
    "groups": [],
}
for part in parts:
    if part.get_content_type() == "message/delivery-status":
        # One Message per group: the per-message fields, then each recipient.
        for group in part.get_payload():
            out["groups"].append({k: str(v) for k, v in group.items()})
json.dump(out, sys.stdout)
