#!/usr/bin/env python3
"""A small local receiver that speaks the Splunk HTTP Event Collector protocol, for the Lambda loop.

POST /services/collector/event (or /services/collector) with `Authorization: Splunk <token>`, a body of
concatenated JSON envelopes `{"event": ..., "time": ..., "sourcetype": ...}`, optionally
`Content-Encoding: gzip`. Answers as HEC does: 200 `{"text":"Success","code":0}`; 401 code 2 without
a token, 403 code 4 for a wrong one, 400 code 6 "Invalid data format" for a body that is not JSON and
400 code 12 "Event field is required" for an envelope without an event (both with
`invalid-event-number`). GET /services/collector/health answers code 17.
Every accepted event is appended as one JSON line to --out.

usage: hec_receiver.py --port PORT --token TOKEN --out FILE
"""
import argparse
import gzip
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def envelopes(text):
    """The JSON values of a HEC body, one after another (whitespace between them is allowed)."""
    decoder = json.JSONDecoder()
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return
        value, position = decoder.raw_decode(text, position)
        yield value


def make_handler(token, out):
    class Handler(BaseHTTPRequestHandler):
        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.startswith("/services/collector/health"):
                self.reply(200, {"text": "HEC is healthy", "code": 17})
            else:
                self.reply(404, {"text": "The requested URL was not found on this server.", "code": 404})

        def do_POST(self):
            if self.path.split("?")[0] not in ("/services/collector/event", "/services/collector"):
                self.reply(404, {"text": "The requested URL was not found on this server.", "code": 404})
                return
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Splunk "):
                self.reply(401, {"text": "Token is required", "code": 2})
                return
            if auth[len("Splunk "):] != token:
                self.reply(403, {"text": "Invalid token", "code": 4})
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding", "").lower() == "gzip":
                body = gzip.decompress(body)
            try:
                values = list(envelopes(body.decode("utf-8")))
            except (UnicodeDecodeError, json.JSONDecodeError):
                self.reply(400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 0})
                return
            for number, value in enumerate(values):
                if not isinstance(value, dict) or "event" not in value:
                    self.reply(400, {"text": "Event field is required", "code": 12, "invalid-event-number": number})
                    return
            with open(out, "a", encoding="utf-8") as sink:
                for value in values:
                    sink.write(json.dumps(value["event"], separators=(",", ":")) + "\n")
            self.reply(200, {"text": "Success", "code": 0})

        def log_message(self, format, *args):  # keep the loop's output readable
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    open(args.out, "w").close()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.token, args.out))
    print(f"HEC receiver on http://127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
