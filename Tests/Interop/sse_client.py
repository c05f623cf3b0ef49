#!/usr/bin/env python3
"""Reads a task's live output from the dashboard's Server-Sent Events endpoint.

Prints one JSON object a line per event ({"event", "id", "data"}), then exits after --count
events with an id (output and agent events), or when the stream ends (after "final"). Closing
early is the point: the test reconnects with the last id it saw, as a browser's EventSource
does after a dropped connection.
"""
import argparse
import http.client
import json
import sys
import urllib.parse


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="http://host:port/tasks/ID/events")
    parser.add_argument("--token", required=True)
    parser.add_argument("--last-event-id")
    parser.add_argument("--count", type=int, default=0, help="stop after this many events with an id (0: until the end)")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()

    url = urllib.parse.urlsplit(args.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=args.timeout)
    headers = {"Authorization": "Bearer " + args.token, "Accept": "text/event-stream"}
    if args.last_event_id is not None:
        headers["Last-Event-ID"] = args.last_event_id
    connection.request("GET", url.path + ("?" + url.query if url.query else ""), headers=headers)
    response = connection.getresponse()
    if response.status != 200:
        print(json.dumps({"status": response.status, "body": response.read().decode()}))
        return 1
    event = {"event": "message", "id": None, "data": ""}
    seen = 0
    while True:
        raw = response.fp.readline()
        if not raw:
            return 0
        line = raw.decode("utf-8").rstrip("\n")
        if line == "":
            if event["data"] or event["id"] is not None:
                print(json.dumps(event), flush=True)
                if event["id"] is not None:
                    seen += 1
                    if args.count and seen >= args.count:
                        connection.close()
                        return 0
                if event["event"] == "final":
                    return 0
            event = {"event": "message", "id": None, "data": ""}
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event["event"] = value
        elif field == "id":
            event["id"] = value
        elif field == "data":
            event["data"] += value


if __name__ == "__main__":
    sys.exit(main())
