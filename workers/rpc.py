"""Query-time calls to the realtime worker over Redis lists: one LPUSH and one BLPOP each way.

A search waits on the query's encoding, so the round trip is on its critical path. Sent as a
Celery task it crossed five threads (the web's waiting thread, the worker's consumer, its pool
thread, the model's batching thread, the result backend's subscriber) and each crossing on a
saturated machine waits for a time slice: under the load benchmark the encoding took ~130 ms
for ~4 ms of model time, and ~9 ms of CPU went to the task protocol. Here the caller pushes a
small JSON request onto its lane's list and blocks on a reply list of its own; in the worker one
thread per lane pops what is waiting, runs it as one batch, and pushes each reply back.

- A lane is one kind of call (a model's query encoding, reranking): a slow rerank never holds a
  query encoding back, and everything waiting on a lane when its thread comes round is one batch
  (no collection window: a lone request starts at once).
- Each request carries its deadline: one that waited past it is dropped unrun (nobody is
  listening any more), and the caller that gave up takes its request off the list.
- Replies expire, so a reply nobody waits for does not stay in Redis.

The lists are named after REALTIME_QUEUE, so a deployment (or a test) can point its web and
workers at lanes of their own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from django.conf import settings

log = logging.getLogger(__name__)

REPLY_TTL_S = 30
_IDLE_POLL_S = 1.0  # how often an idle lane thread looks up to see whether it must stop


class Unanswered(Exception):
    """No answer: the broker is unreachable or no worker answered within the timeout."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def lane_key(lane: str) -> str:
    return f"mediavault:rpc:{settings.REALTIME_QUEUE}:{lane}"


def _reply_key(request_id: str) -> str:
    return f"mediavault:rpc:reply:{request_id}"


_clients: dict[tuple[str, float], object] = {}
_clients_lock = threading.Lock()


def _client(read_timeout: float):
    """A client (its own connection pool) per broker URL and read timeout, shared by threads."""
    import redis

    key = (settings.REDIS_URL, read_timeout)
    with _clients_lock:
        if key not in _clients:
            # Kombu's spelling of a Unix socket (the embedded broker's) is redis-py's unix://.
            url = settings.REDIS_URL.replace("redis+socket://", "unix://", 1)
            _clients[key] = redis.Redis.from_url(
                url, socket_connect_timeout=settings.BROKER_TIMEOUT_S,
                socket_timeout=read_timeout, health_check_interval=30,
            )
        return _clients[key]


def call(lane: str, args: list, timeout: float) -> dict:
    """The worker's answer to `args` on `lane`; raises Unanswered after `timeout` seconds."""
    import redis

    request_id = uuid.uuid4().hex
    message = json.dumps({"id": request_id, "args": args, "deadline": time.time() + timeout})
    # The read timeout outlasts the blocking pop; connecting still fails fast with the broker down.
    client = _client(read_timeout=timeout + settings.BROKER_TIMEOUT_S)
    try:
        client.lpush(lane_key(lane), message)
        reply = client.blpop([_reply_key(request_id)], timeout=timeout)
    except redis.RedisError as exc:
        raise Unanswered(f"broker unavailable ({type(exc).__name__})") from None
    if reply is None:
        with contextlib.suppress(redis.RedisError):
            client.lrem(lane_key(lane), 1, message)  # not taken yet: nobody will run it for nothing
        raise Unanswered("worker timeout")
    return json.loads(reply[1])


def _parsed(item: bytes) -> dict | None:
    try:
        request = json.loads(item)
    except ValueError:
        return None
    well_formed = (isinstance(request, dict) and isinstance(request.get("id"), str)
                   and isinstance(request.get("args"), list) and isinstance(request.get("deadline"), (int, float)))
    return request if well_formed else None


class Lane:
    """The worker side of one lane: `run(args_list) -> answers` (one JSON-able answer per request,
    in order) for each batch of up to `max_batch` requests waiting on it, from a thread of its own."""

    def __init__(self, name: str, run: Callable[[Sequence[list]], Sequence[dict]], max_batch: int = 16):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.name, self.run, self.max_batch = name, run, max_batch
        self.served = 0  # requests answered

    def take(self, client, block_s: float) -> list[dict]:
        """The requests waiting (blocking up to `block_s` for the first), those past their deadline
        dropped."""
        key = lane_key(self.name)
        first = client.blpop([key], timeout=block_s)
        if first is None:
            return []
        raw = [first[1]]
        if self.max_batch > 1:
            raw += client.lpop(key, self.max_batch - 1) or []
        now, requests = time.time(), []
        for item in raw:
            request = _parsed(item)
            if request is None:
                log.warning("lane %s: dropped a malformed request", self.name)
            elif request["deadline"] >= now:
                requests.append(request)
        return requests

    def answer(self, client, requests: list[dict]) -> None:
        try:
            answers = list(self.run([request["args"] for request in requests]))
            if len(answers) != len(requests):
                raise RuntimeError(f"lane {self.name}: {len(answers)} answers for {len(requests)} requests")
        except Exception as exc:  # every caller in the batch hears it; the lane serves the next batch
            log.exception("lane %s: a batch of %d failed", self.name, len(requests))
            answers = [{"ok": False, "reason": f"worker error: {type(exc).__name__}"}] * len(requests)
        with client.pipeline(transaction=False) as pipe:
            for request, reply in zip(requests, answers, strict=True):
                key = _reply_key(request["id"])
                pipe.rpush(key, json.dumps(reply))
                pipe.expire(key, REPLY_TTL_S)
            pipe.execute()
        self.served += len(requests)

    def serve(self, stopped: threading.Event) -> None:
        import redis

        client = _client(read_timeout=_IDLE_POLL_S + settings.BROKER_TIMEOUT_S + 5)
        while not stopped.is_set():
            try:
                requests = self.take(client, _IDLE_POLL_S)
                if requests:
                    self.answer(client, requests)
            except redis.RedisError as exc:  # the broker is away: wait for it, the callers time out
                log.warning("lane %s: broker unavailable (%s)", self.name, exc)
                stopped.wait(1.0)


def serve_lanes(lanes: Sequence[Lane], stopped: threading.Event) -> list[threading.Thread]:
    threads = [threading.Thread(target=lane.serve, args=(stopped,), name=f"lane-{lane.name}", daemon=True)
               for lane in lanes]
    for thread in threads:
        thread.start()
    return threads
