#!/usr/bin/env python3
"""Writes the API Gateway events the function crates' tests replay:
functions/<fn>/events/<name>.json (HTTP API, payload 2.0) and
functions/<fn>/events/v1/<name>.json (REST API, stage `prod`), for the
requests listed below. Standard library only; run it again after editing the
list (`python3 scripts/gen-events.py`). Events of the first four functions
were written by hand and are left alone.
"""

import base64
import json
import pathlib
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
HOST = "abcdef1234.execute-api.eu-west-1.amazonaws.com"
TIME, EPOCH = "22/Nov/2026:10:00:00 +0000", 1795168800000

# A 1x1 GIF, the smallest picture there is.
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")

ADMIN = {"x-api-key": "test-admin-key"}
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}

# (function, event name, method, route, path, query, headers, body)
EVENTS = [
    ("manage-images", "patch", "PATCH", "/images/{id}", "/images/1", "", {**ADMIN, **JSON},
     json.dumps({"name": "tiny.gif", "add_tags": ["pixel"]})),
    ("manage-images", "delete", "DELETE", "/images/{id}", "/images/1", "", ADMIN, None),
    ("manage-images", "delete-many", "DELETE", "/images", "/images", "", {**ADMIN, **JSON},
     json.dumps({"ids": [1, 999]})),
    ("manage-images", "delete-anonymous", "DELETE", "/images/{id}", "/images/1", "", {}, None),
    ("accounts", "create-user", "POST", "/users", "/users", "", {**ADMIN, **JSON},
     json.dumps({"email": "ann@example.org"})),
    ("accounts", "me-anonymous", "GET", "/users/me", "/users/me", "", {}, None),
    ("accounts", "me-bad-key", "GET", "/users/me", "/users/me", "", {"x-api-key": "pk_not_a_key"}, None),
    ("uploads", "upload-link", "POST", "/upload-links", "/upload-links", "", JSON,
     json.dumps({"expiry": 60})),
    ("uploads", "upload-urls", "POST", "/upload-urls", "/upload-urls", "", JSON,
     json.dumps({"count": 2})),
    ("uploads", "upload-urls-seed-004", "GET", "/images/upload_urls", "/images/upload_urls",
     "image_count=3", {}, None),
    ("uploads", "upload-urls-too-many", "POST", "/upload-urls", "/upload-urls", "", JSON,
     json.dumps({"count": 1001})),
    ("colors", "colors", "POST", "/colors", "/colors", "k=2", JSON,
     json.dumps({"data": base64.b64encode(GIF).decode()})),
    ("colors", "rgb2hex", "POST", "/rgb2hex", "/rgb2hex", "", FORM,
     urllib.parse.urlencode({"rgbs": json.dumps([[255, 0, 0], [1, 2, 3]])})),
    ("colors", "rgb2hex-bad", "POST", "/rgb2hex", "/rgb2hex", "", FORM,
     urllib.parse.urlencode({"rgbs": "[[300, 0, 0]]"})),
    ("web", "index", "GET", "/", "/", "", {"accept": "text/html"}, None),
    ("web", "asset-missing", "GET", "/assets/{file}", "/assets/nothing.js", "", {}, None),
]


def base_headers(extra):
    h = {"accept": "application/json", "host": HOST, "user-agent": "curl/8.5.0",
         "x-forwarded-proto": "https"}
    h.update(extra)
    return h


def path_parameters(route, path):
    params = {}
    for r, p in zip(route.split("/"), path.split("/")):
        if r.startswith("{"):
            params[r.strip("{}")] = p
    return params or None


def v2(method, route, path, query, headers, body):
    event = {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": base_headers(headers),
        "requestContext": {
            "accountId": "123456789012", "apiId": "abcdef1234", "domainName": HOST,
            "domainPrefix": "abcdef1234",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "routeKey": f"{method} {route}",
            "stage": "$default", "time": TIME, "timeEpoch": EPOCH,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(urllib.parse.parse_qsl(query))
    params = path_parameters(route, path)
    if params:
        event["pathParameters"] = params
    if body is not None:
        event["body"] = body
    return event


def v1(method, route, path, query, headers, body):
    h = base_headers(headers)
    q = dict(urllib.parse.parse_qsl(query)) if query else None
    return {
        "resource": route,
        "path": path,
        "httpMethod": method,
        "headers": h,
        "multiValueHeaders": {k: [v] for k, v in h.items()},
        "queryStringParameters": q,
        "multiValueQueryStringParameters": {k: [v] for k, v in q.items()} if q else None,
        "pathParameters": path_parameters(route, path),
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abcdef1234", "domainName": HOST,
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
            "path": f"/prod{path}", "protocol": "HTTP/1.1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "requestTime": TIME,
            "requestTimeEpoch": EPOCH, "resourceId": "a1b2c3", "resourcePath": route,
            "stage": "prod",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs(picture_ids):
    return {"Records": [{
        "messageId": f"m-{i}",
        "receiptHandle": f"r-{i}",
        "body": json.dumps({"picture_id": i}),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(EPOCH),
                       "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": str(EPOCH)},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:pictures-tagging",
        "awsRegion": "eu-west-1",
    } for i in picture_ids]}


SCHEDULE = {
    "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
    "source": "aws.events", "account": "123456789012", "time": "2026-11-22T10:00:00Z",
    "region": "eu-west-1", "resources": ["arn:aws:events:eu-west-1:123456789012:rule/drain"],
    "detail": {},
}


def write(path, event):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(event, indent=2) + "\n")


def main():
    for fn, name, method, route, path, query, headers, body in EVENTS:
        events = ROOT / "functions" / fn / "events"
        write(events / f"{name}.json", v2(method, route, path, query, headers, body))
        write(events / "v1" / f"{name}.json", v1(method, route, path, query, headers, body))
    events = ROOT / "functions" / "tag-image" / "events"
    write(events / "sqs.json", sqs([1, 2]))
    write(events / "sqs-unknown.json", sqs([999]))
    write(events / "schedule.json", SCHEDULE)


if __name__ == "__main__":
    main()
