"""Search, list and detail latency under concurrent readers and uploaders, against a running server.

Usage (a server on loopback, e.g. `PORT=8123 make run`, and a staff account on it):

    .venv/bin/python manage.py shell -c "from django.contrib.auth import get_user_model; \\
        get_user_model().objects.create_user('loadtest', password='loadtest-pw', is_staff=True)"
    .venv/bin/python bench/load.py --url http://127.0.0.1:8123 --user loadtest --password loadtest-pw \\
        --readers 8 --uploaders 2 --seconds 60 [--label "after"] [--no-append]

Bounded and local by construction: it refuses any host but loopback, runs for `--seconds` after
seeding, and stops by itself. It talks HTTP only (so it can measure another checkout's server
the same way). Readers loop over a mix of requests: a hybrid search for a few words of the
seeded descriptions (half), the first page of the asset list (a quarter), one asset's detail (a
quarter). Uploaders post real camera photos from ../shared/data/exif-samples, each made unique
by a JPEG comment (so every upload is stored and processed, not a duplicate). Before timing, it
seeds `--seed` photos with descriptions and waits until they are processed, so searches have
vectors to use. Errors are any status of 500 or more, or a failed connection.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

SAMPLES = common.REPO_ROOT.parent / "shared" / "data" / "exif-samples" / "jpg"
WORDS = [
    "dog", "beach", "sunset", "harbour", "boat", "mountain", "lake", "kayak", "city", "street", "night", "market",
    "bridge", "forest", "snow", "river", "child", "bicycle", "camera", "portrait", "garden", "train", "station",
]


def _photos() -> list[bytes]:
    paths = [p for p in sorted(SAMPLES.glob("*.jpg")) if p.name != "corrupted.jpg"]
    if not paths:
        sys.exit(f"no sample photos under {SAMPLES}")
    return [p.read_bytes() for p in paths]


def unique_jpeg(data: bytes) -> bytes:
    """The same picture with a random comment segment after SOI: new bytes, still a valid JPEG."""
    comment = uuid.uuid4().hex.encode()
    return data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:]


class Client:
    def __init__(self, base: str, token: str):
        self.base, self.token = base.rstrip("/"), token

    def request(self, path: str, body: bytes | None = None, content_type: str = "") -> tuple[int, bytes]:
        headers = {"Authorization": f"Token {self.token}"}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def post_files(self, path: str, fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[int, bytes]:
        """A multipart POST: form `fields`, and `files` as (field, file name, JPEG bytes)."""
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        parts += [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n"
            for field, filename, data in files
        ]
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(path, b"".join(parts), f"multipart/form-data; boundary={boundary}")

    def upload(self, data: bytes, name: str, description: str = "") -> tuple[int, bytes]:
        fields = {"description": description, "visibility": "organisation"}
        return self.post_files("/api/v1/assets/", fields, [("file", name, data)])


def token_for(base: str, user: str, password: str) -> str:
    body = urllib.parse.urlencode({"username": user, "password": password}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/auth/token/", data=body), timeout=30) as r:
        return json.loads(r.read())["token"]


def seed(client: Client, photos: list[bytes], count: int, timeout: float) -> list[int]:
    rng = random.Random(7)
    ids = []
    for i in range(count):
        words = " ".join(rng.sample(WORDS, 4))
        status, body = client.upload(unique_jpeg(photos[i % len(photos)]), f"SEED_{i:04d}.jpg", f"a {words}")
        if status != 201:
            sys.exit(f"seeding failed: {status} {body[:200]!r}")
        ids.append(json.loads(body)["id"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = client.request("/api/v1/assets/?embedding_status=ready&page_size=1")
        if status == 200 and json.loads(body)["count"] >= count:
            return ids
        time.sleep(1)
    print("warning: not every seeded asset was processed before timing started", file=sys.stderr)
    return ids


class Recorder:
    def __init__(self):
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.server: dict[str, list[float]] = defaultdict(list)  # search: the server's own timings_ms
        self.lock = threading.Lock()

    def timed(self, kind: str, call) -> None:
        started = time.perf_counter()
        body = b""
        try:
            status, body = call()
        except (urllib.error.URLError, OSError):
            status = 0
        elapsed = (time.perf_counter() - started) * 1000
        timings = _server_timings(body) if kind == "search" and status == 200 else {}
        with self.lock:
            self.samples[kind].append(elapsed)
            if status == 0 or status >= 500:
                self.errors[kind] += 1
            for name, ms in timings.items():
                self.server[name].append(ms)


def _server_timings(body: bytes) -> dict[str, float]:
    """The search's own account of where its time went (its `timings_ms`), to set against the client's."""
    try:
        timings = json.loads(body).get("timings_ms") or {}
    except (ValueError, AttributeError):
        return {}
    return {name: float(ms) for name, ms in timings.items() if isinstance(ms, (int, float))}


def reader(client: Client, ids: list[int], stop: threading.Event, record: Recorder, seed_: int) -> None:
    rng = random.Random(seed_)
    while not stop.is_set():
        roll = rng.random()
        if roll < 0.5:
            query = urllib.parse.quote(" ".join(rng.sample(WORDS, 3)))
            record.timed("search", lambda q=query: client.request(f"/api/v1/search/?q={q}&mode=hybrid&limit=24"))
        elif roll < 0.75:
            record.timed("list", lambda: client.request("/api/v1/assets/"))
        else:
            pk = rng.choice(ids)
            record.timed("detail", lambda pk=pk: client.request(f"/api/v1/assets/{pk}/"))


def uploader(client: Client, photos: list[bytes], stop: threading.Event, record: Recorder, seed_: int) -> None:
    rng = random.Random(seed_)
    n = 0
    while not stop.is_set():
        data = unique_jpeg(rng.choice(photos))
        n += 1
        record.timed("upload", lambda d=data, n=n: client.upload(d, f"LOAD_{seed_}_{n}.jpg", "uploaded under load"))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--uploaders", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=60, help="photos uploaded (and processed) before timing")
    parser.add_argument("--label", default="", help="what was measured (e.g. the commit or 'before')")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    host = urllib.parse.urlparse(args.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("bench/load.py only runs against a server on loopback")

    client = Client(args.url, token_for(args.url, args.user, args.password))
    photos = _photos()
    print(f"seeding {args.seed} photos ...", file=sys.stderr)
    ids = seed(client, photos, args.seed, timeout=600)
    record, stop = Recorder(), threading.Event()
    threads = [threading.Thread(target=reader, args=(client, ids, stop, record, i)) for i in range(args.readers)]
    threads += [threading.Thread(target=uploader, args=(client, photos, stop, record, 100 + i))
                for i in range(args.uploaders)]
    for thread in threads:
        thread.start()
    time.sleep(args.seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)

    rows = []
    for kind in ("search", "list", "detail", "upload"):
        samples = record.samples.get(kind, [])
        rows.append((kind, len(samples), f"{percentile(samples, 50):.0f}", f"{percentile(samples, 95):.0f}",
                     record.errors.get(kind, 0)))
    table = common.markdown_table(("request", "count", "p50 ms", "p95 ms", "errors"), rows)
    if record.server:
        # What the search measured itself: the rest of the client's time is queueing, the web
        # framework, authentication and serialisation.
        table += "\n\n" + common.markdown_table(
            ("search, server side", "count", "p50 ms", "p95 ms"),
            [(name, len(ms), f"{percentile(ms, 50):.0f}", f"{percentile(ms, 95):.0f}")
             for name, ms in sorted(record.server.items())])
    setup = (f"- {args.readers} readers, {args.uploaders} uploaders, {args.seconds:.0f} s after seeding "
             f"{args.seed} photos; server {args.url}{' (' + args.label + ')' if args.label else ''}\n"
             f"- load average at the end: {common.load_average()}")
    print(table)
    print(setup)
    if not args.no_append:
        common.append_section(common.heading("load", common.machine_info()), f"{setup}\n\n{table}")


if __name__ == "__main__":
    main()
