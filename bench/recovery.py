"""How long a bulk upload takes to recover after its worker is killed, against a running `make run`.

Usage (a `make run` on loopback, a staff account on it):

    .venv/bin/python bench/recovery.py --url http://127.0.0.1:8123 --user loadtest --password loadtest-pw

Run it from the server's checkout (it asks that server's broker which workers answer). It uploads
30 real photos in one bulk request (made unique by a JPEG comment), waits until a few
are ready, then SIGKILLs the background worker with its pool (the process `make run` started with
`--hostname mediavault@...`): whatever it had claimed or prefetched is abandoned mid-work. The
supervisor starts a new worker; the script times how long after that worker answers (its
heartbeat shows in /healthz) all 30 are ready, ingest and vectors both, with the settings the
server runs with (lease, requeue interval, sweep interval).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediavault.settings")

import django  # noqa: E402

django.setup()  # only to ask the broker which workers answer; the services are the server's

from bench import common  # noqa: E402
from bench.load import SAMPLES, Client, token_for, unique_jpeg  # noqa: E402


def worker_pid() -> int | None:
    pattern = "celery -A mediavault worker -Q ingest,analyse,embed"
    out = subprocess.run(["pgrep", "-o", "-f", pattern], capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.stdout.strip() else None


def answers(pid: int) -> bool:
    """Whether the worker process `pid` answers a ping (the dead one's heartbeat lingers for its TTL)."""
    from mediavault.celery import app

    replies = app.control.ping(timeout=0.5) or []
    return any(name.startswith("mediavault@") and reply.get("ok") == "pong"
               for entry in replies for name, reply in entry.items()) and worker_pid() == pid


def bulk(client: Client, photos: list[bytes]) -> list[int]:
    files = [("files", f"REC_{i:02d}.jpg", unique_jpeg(data)) for i, data in enumerate(photos)]
    status, body = client.post_files("/api/v1/assets/bulk/", {"visibility": "organisation"}, files)
    if status != 207:
        sys.exit(f"bulk upload failed: {status} {body[:300]!r}")
    return [r["id"] for r in json.loads(body)["results"] if r["status"] == "created"]


def states(client: Client, ids: list[int]) -> list[tuple[str, str]]:
    found = []
    for pk in ids:
        status, body = client.request(f"/api/v1/assets/{pk}/")
        row = json.loads(body) if status == 200 else {}
        found.append((row.get("status"), row.get("embedding_status")))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    client = Client(args.url, token_for(args.url, args.user, args.password))
    paths = [p for p in sorted(SAMPLES.glob("*.jpg")) if p.name != "corrupted.jpg"]
    photos = [paths[i % len(paths)].read_bytes() for i in range(args.count)]

    started = time.monotonic()
    ids = bulk(client, photos)
    while sum(s == ("ready", "ready") or s[0] == "ready" for s in states(client, ids)) < 3:
        time.sleep(0.2)
    pid = worker_pid()
    if pid is None:
        sys.exit("no background worker process found (is this a `make run`?)")
    done_before = sum(s == ("ready", "ready") for s in states(client, ids))
    subprocess.run(["pkill", "-KILL", "-P", str(pid)], check=False)  # its pool processes
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    while (new := worker_pid()) in (None, pid):
        time.sleep(0.1)
    while not answers(new):
        time.sleep(0.2)
    back = time.monotonic()
    while True:
        current = states(client, ids)
        if all(s == ("ready", "ready") for s in current):
            break
        if time.monotonic() - back > 600:
            sys.exit(f"not recovered after 10 minutes: {current}")
        time.sleep(0.5)
    done = time.monotonic()
    rows = [
        ("assets uploaded", len(ids)),
        ("ready (both stages) when the worker was killed", done_before),
        ("lost", len(ids) - sum(s == ("ready", "ready") for s in states(client, ids))),
        ("new worker answering after the kill", f"{back - killed:.1f} s"),
        ("all ready after the new worker answered", f"{done - back:.1f} s"),
        ("whole bulk, upload to all ready", f"{done - started:.1f} s"),
    ]
    table = common.markdown_table(("what", "figure"), rows)
    note = f"- server {args.url}; new worker pid {new}; settings as the server runs them (lease, requeue, sweep)"
    print(table)
    if not args.no_append:
        common.append_section(common.heading("recovery", common.machine_info()), f"{note}\n\n{table}")


if __name__ == "__main__":
    main()
