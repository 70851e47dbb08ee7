#!/usr/bin/python3
"""A programmable HTTPS server for the operator-table pull tests (127.0.0.1, test CA).

usage: server.py DOCROOT CERT KEY

Serves DOCROOT/<path>. What a request gets is programmed by files next to the body, so that the
test (C++ or shell) changes behaviour by writing files, with no control protocol:
  <path>           the body (missing: 404)
  <path>.status    an HTTP status to answer instead (e.g. 500), with no body
  <path>.delay     seconds to wait before answering (timeouts)
  <path>.truncate  announce the full Content-Length but send only half the body, then close
  <path>.nolength  send the body without Content-Length (close-delimited: only the client's
                   running count can enforce a size limit)
  <path>.headers   extra header lines ("Name: value"), e.g. Cache-Control: max-age=120
The ETag is the SHA-256 of the body; If-None-Match with it (or If-Modified-Since not older than
the file) gets 304. Every request is appended to DOCROOT/requests.log as one JSON object per line.
The chosen port is written to DOCROOT/port once the server listens.
"""
import hashlib
import http.server
import json
import os
import ssl
import sys
import time
from email.utils import formatdate, parsedate_to_datetime


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root = "."

    def log_message(self, fmt, *args):  # keep the test output quiet
        pass

    def opt(self, path, suffix):
        p = path + suffix
        if not os.path.exists(p):
            return None
        with open(p, "rb") as f:
            return f.read()

    def do_GET(self):
        rel = self.path.split("?", 1)[0].lstrip("/")
        path = os.path.join(self.root, os.path.normpath(rel))
        with open(os.path.join(self.root, "requests.log"), "a") as log:
            log.write(json.dumps({"path": "/" + rel,
                                  "if-none-match": self.headers.get("If-None-Match"),
                                  "if-modified-since": self.headers.get("If-Modified-Since")}) + "\n")
        delay = self.opt(path, ".delay")
        if delay:
            time.sleep(float(delay))
        status = self.opt(path, ".status")
        if status:
            self.send_response(int(status))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not os.path.isfile(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(path, "rb") as f:
            body = f.read()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        mtime = int(os.path.getmtime(path))
        last_modified = formatdate(mtime, usegmt=True)
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        fresh = False
        if inm is not None:
            fresh = etag in [t.strip() for t in inm.split(",")]
        elif ims is not None:
            try:
                fresh = parsedate_to_datetime(ims).timestamp() >= mtime
            except (TypeError, ValueError):
                fresh = False
        extra = self.opt(path, ".headers") or b""
        if fresh:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            for line in extra.decode().splitlines():
                if line.strip():
                    k, v = line.split(":", 1)
                    self.send_header(k.strip(), v.strip())
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last_modified)
        for line in extra.decode().splitlines():
            if line.strip():
                k, v = line.split(":", 1)
                self.send_header(k.strip(), v.strip())
        if self.opt(path, ".nolength") is not None:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.opt(path, ".truncate") is not None:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    root, cert, key = sys.argv[1:]
    Handler.root = root
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    tmp = os.path.join(root, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(httpd.server_address[1]))
    os.rename(tmp, os.path.join(root, "port"))
    httpd.serve_forever()


if __name__ == "__main__":
    main()
