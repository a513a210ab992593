"""What a kept-alive connection saves, and how many requests in flight serve a compute tick best, against a local
TLS server (loopback only; the fake Azure of the other benches answers without any connection, so it cannot show it).

    python bench/keepalive.py [--requests 200] [--latency-ms 100] [--pools 1,4,8,16,32,64]

Prints the CPU time and wall time per request of `requests.request()` per call (a new TLS connection, and the CA
bundle loaded again, every time) against the app's transport (shared.transport: one `requests.Session` whose pool
keeps its connections), one request at a time; then, through the transport, requests per second and CPU per request
for each pool size at the given latency per answer (ARM answers in ~100 ms). The server is a child process on
127.0.0.1 with a self-signed certificate made for the run, trusted through a CA bundle of certifi's roots plus it (as
large as the one requests loads against Azure); only this process's CPU is counted.
"""

from __future__ import annotations

import argparse
import datetime
import http.server
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import _common
import certifi
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared import transport


def certificate(folder: str) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (its own CA): (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return cert_path, key_path


def serve_forever(cert: str, key: str, latency: float) -> None:
    """The child: answer every GET with a small JSON page after `latency` seconds, keeping connections alive."""
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as ARM's front door
        disable_nagle_algorithm = True

        def do_GET(self):  # noqa: N802 - http.server's name
            time.sleep(latency)
            body = json.dumps({"value": [], "nextLink": None}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def serve(cert: str, key: str, latency: float) -> tuple[subprocess.Popen, str]:
    """A child process serving on a free loopback port (it stops with this one, or when killed)."""
    child = subprocess.Popen([sys.executable, __file__, "--serve", cert, key, str(latency)], stdout=subprocess.PIPE,
                             text=True)
    port = int(child.stdout.readline())
    return child, f"https://127.0.0.1:{port}/subscriptions/x/computes?api-version=1"


def per_request(send, count: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per request of `count` sequential requests made by `send`."""
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(count):
        send()
    return (time.thread_time() - cpu) * 1000 / count, (time.perf_counter() - wall) * 1000 / count


def pooled(url: str, pool: int, count: int) -> tuple[float, float]:
    """(requests per second, CPU ms per request of the whole process) for `count` requests, `pool` at once."""
    transport.use_pool(pool)
    cpu, wall = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(pool) as threads:
        list(threads.map(lambda _: transport.send("bench", "GET", url), range(count)))
    seconds = time.perf_counter() - wall
    return count / seconds, (time.process_time() - cpu) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--pools", default="1,4,8,16,32,64")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever(args.serve[0], args.serve[1], float(args.serve[2]))
        return
    with tempfile.TemporaryDirectory() as folder:
        cert, key = certificate(folder)
        bundle = os.path.join(folder, "bundle.pem")  # certifi's roots, as requests loads them, plus the local CA
        with open(bundle, "w") as out, open(certifi.where()) as roots, open(cert) as own:
            out.write(roots.read() + own.read())
        os.environ["REQUESTS_CA_BUNDLE"] = bundle  # both ways verify the server, as against Azure
        fast, url = serve(cert, key, 0.0)
        per_call = per_request(lambda: requests.request("GET", url, timeout=10), args.requests)
        transport.send("warm-up", "GET", url)
        kept = per_request(lambda: transport.send("bench", "GET", url), args.requests)
        fast.kill()
        print(f"{args.requests} sequential GETs to a local TLS server answering at once (loopback, self-signed)\n")
        print(_common.table(["how", "CPU ms/request", "wall ms/request"],
                            [["requests.request() per call (new connection)", f"{per_call[0]:.1f}",
                              f"{per_call[1]:.1f}"],
                             ["shared.transport (kept-alive session)", f"{kept[0]:.1f}", f"{kept[1]:.1f}"]]))
        print(f"\nCPU per request: {per_call[0] / kept[0]:.1f}x less with kept-alive connections; one core's ceiling "
              f"{1000 / per_call[0]:.0f} requests/s per call against {1000 / kept[0]:.0f} kept alive")
        slow, url = serve(cert, key, args.latency_ms / 1000)
        rows = []
        for pool in (int(item) for item in args.pools.split(",")):
            transport.use_pool(pool)
            transport.send("warm-up", "GET", url)
            rate, cpu = pooled(url, pool, max(args.requests, pool * 4))
            rows.append([pool, f"{rate:.0f}", f"{cpu:.1f}", f"{rate * args.latency_ms / 1000 / pool:.0%}"])
        slow.kill()
        print(f"\nthrough shared.transport, {args.latency_ms:g} ms per answer: requests in flight at once\n")
        print(_common.table(["in flight", "requests/s", "CPU ms/request", "of the ideal"], rows))


if __name__ == "__main__":
    main()
