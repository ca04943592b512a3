#!/usr/bin/env python3
"""A loopback Lambda Runtime API that starts one function binary, hands it
one event, and reports its cold start:

  lambda-runtime.py BINARY EVENT_JSON

prints JSON: ms from process start to the runtime's first request for work
(`ready_ms`), ms until its answer to the event (`answered_ms`), the HTTP
status inside that answer, and the process's RSS after answering (`rss_mb`).
The function's environment is this process's, plus the runtime's variables.
"""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

binary, event_path = sys.argv[1], sys.argv[2]
event = open(event_path, "rb").read()
marks = {}
done = threading.Event()


class Runtime(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            if "ready" in marks:
                done.wait(30)  # a second event is never handed out
                return
            marks["ready"] = time.monotonic()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Lambda-Runtime-Aws-Request-Id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:bench")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
            self.send_header("Content-Length", str(len(event)))
            self.end_headers()
            self.wfile.write(event)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        marks["answered"] = time.monotonic()
        marks["path"] = self.path
        try:
            marks["status"] = json.loads(body).get("statusCode")
        except ValueError:
            marks["status"] = None
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        done.set()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
threading.Thread(target=server.serve_forever, daemon=True).start()
env = dict(os.environ)
env.update({
    "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
    "AWS_LAMBDA_FUNCTION_NAME": os.path.basename(binary),
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
    "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
})
start = time.monotonic()
proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ok = done.wait(60)
time.sleep(0.05)
rss_kb = None
try:
    for line in open(f"/proc/{proc.pid}/status"):
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
except OSError:
    pass
proc.kill()
proc.wait()
server.shutdown()
print(json.dumps({
    "binary": os.path.basename(binary),
    "ready_ms": round((marks["ready"] - start) * 1000, 1) if "ready" in marks else None,
    "answered_ms": round((marks["answered"] - start) * 1000, 1) if ok else None,
    "status": marks.get("status"),
    "rss_mb": round(rss_kb / 1024, 1) if rss_kb else None,
}))
