#!/usr/bin/env python3
"""A stand-in for a local Ollama server: answers GET /api/tags as Ollama documents it, on a
free loopback port that it writes to the file named by its first argument."""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

TAGS = {"models": [
    {"name": "llama3.2:latest", "model": "llama3.2:latest", "size": 2019393189,
     "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
     "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B",
                 "quantization_level": "Q4_K_M"}},
    {"name": "qwen2.5-coder:7b", "model": "qwen2.5-coder:7b", "size": 4683087332,
     "details": {"format": "gguf", "family": "qwen2", "parameter_size": "7.6B"}},
    {"name": "bad name; rm -rf", "model": "x"},
]}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/api/tags":
            self.send_error(404)
            return
        body = json.dumps(TAGS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
