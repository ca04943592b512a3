#!/usr/bin/env python3
"""Hostile load against a running local API (`make bench-abuse` starts one).

  bench-abuse.py URL PID

1. Decompression bombs: 64 concurrent POST /colors of a 6,000 x 6,000 GIF
   canvas (a few hundred bytes, a ~400 MiB decode: it fits the default
   budget, so decodes take turns and the rest wait, then hear 503) and of a
   10,000 x 10,000 one (more than the whole budget: 413 at once). Peak RSS of
   the API (VmHWM) against its idle RSS and the budget, and /health's
   latency from a client polling it meanwhile.
2. Tag floods: 64 concurrent GET /images?tags= with 16,500 tags each, and
   /health meanwhile; the time a 200,000-tag JSON body and a 200,000-tag
   query take to be refused.

Prints a Markdown table; statuses are counted per kind of request.
"""

import http.client
import json
import struct
import sys
import threading
import time
import urllib.parse
from collections import Counter

URL, PID = sys.argv[1], int(sys.argv[2])
HOST = urllib.parse.urlparse(URL)


def gif(width, height):
    """A GIF whose logical screen is width x height, with one 1x1 frame."""
    header = b"GIF89a" + struct.pack("<HH", width, height) + b"\x80\x00\x00"
    palette = b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00"
    data = b"\x02\x02\x44\x01\x00"
    return header + palette + frame + data + b"\x3b"


def request(method, path, body=None, headers=None, timeout=120):
    conn = http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    except Exception as e:  # a refused or reset connection is a figure too
        return f"{type(e).__name__}", time.perf_counter() - started
    finally:
        conn.close()


def vm(field):
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak():
    # Writing 5 to clear_refs resets VmHWM (Linux 4.0+).
    try:
        with open(f"/proc/{PID}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


class Poller(threading.Thread):
    """GET /health every 20 ms until stopped; keeps the latencies."""

    def __init__(self):
        super().__init__(daemon=True)
        self.latencies = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            status, took = request("GET", "/health", timeout=30)
            self.latencies.append(took if status == 200 else float("inf"))
            time.sleep(0.02)

    def summary(self):
        xs = sorted(self.latencies)
        if not xs:
            return "no answer"
        p = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))] * 1000
        return f"p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {xs[-1] * 1000:.1f} ms ({len(xs)} polls)"


def flood(n, make):
    results = Counter()
    lock = threading.Lock()
    times = []

    def one(i):
        status, took = make(i)
        with lock:
            results[status] += 1
            times.append(took)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - started, max(times)


def form(field, name, content):
    boundary = "benchabuse"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
        f"Content-Type: image/gif\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


rows = []
idle = vm("VmRSS")
for label, (w, h) in [("GIF 6,000 x 6,000 (fits the budget)", (6000, 6000)),
                      ("GIF 10,000 x 10,000 (never fits)", (10000, 10000))]:
    body, headers = form("image", "bomb.gif", gif(w, h))
    reset_peak()
    poller = Poller()
    poller.start()
    statuses, wall, slowest = flood(64, lambda i: request("POST", "/colors", body, headers))
    poller.stop.set()
    poller.join()
    rows.append((f"64 x POST /colors, {label}, {len(body)} bytes each", dict(statuses),
                 f"{wall:.2f} s (slowest {slowest:.2f} s)", f"{vm('VmHWM'):.0f} MB (idle {idle:.0f} MB)",
                 poller.summary()))

# 16,500 tags in a URL under the HTTP stack's 64 KiB: short names.
tags = ",".join(f"t{i % 10}" for i in range(16_500))
reset_peak()
poller = Poller()
poller.start()
statuses, wall, slowest = flood(64, lambda i: request("GET", "/images?tags=" + tags))
poller.stop.set()
poller.join()
rows.append((f"64 x GET /images?tags= with 16,500 tags ({len(tags)} bytes)", dict(statuses),
             f"{wall:.2f} s (slowest {slowest:.2f} s)", f"{vm('VmHWM'):.0f} MB", poller.summary()))

many = [f"t{i}" for i in range(200_000)]
body = json.dumps({"data": "R0lGODlhAQABAAAAACw=", "tags": many}).encode()
status, took = request("POST", "/images", body, {"Content-Type": "application/json"})
rows.append((f"POST /images with 200,000 tags ({len(body) // 1024} KiB)", {status: 1}, f"{took * 1000:.1f} ms", "", ""))
query = "/images?tags=" + ",".join(many)
status, took = request("GET", query)
rows.append((f"GET /images?tags= with 200,000 tags ({len(query) // 1024} KiB of URL)", {status: 1}, f"{took * 1000:.1f} ms", "", ""))

print("| request | statuses | time | peak RSS | /health meanwhile |")
print("| --- | --- | ---: | ---: | --- |")
for row in rows:
    print("| " + " | ".join(str(c) for c in row) + " |")
