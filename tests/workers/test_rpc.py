"""Query-time calls over Redis lists (workers/rpc.py), against the suite's real Redis: a lane
thread serving in this process, callers in others threads."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from workers import rpc


@pytest.fixture
def lanes_of_our_own(settings):
    """Lanes nobody else serves: a realtime queue name of this test's own."""
    settings.REALTIME_QUEUE = f"rpc-test-{uuid.uuid4().hex[:8]}"
    stopped = threading.Event()
    yield stopped
    stopped.set()
    client = rpc._client(read_timeout=5)
    for key in client.scan_iter(match=f"mediavault:rpc:{settings.REALTIME_QUEUE}:*"):
        client.delete(key)


def _serve(lane: rpc.Lane, stopped: threading.Event) -> threading.Thread:
    return rpc.serve_lanes([lane], stopped)[0]


def _waiting(lane: str) -> int:
    return rpc._client(read_timeout=5).llen(rpc.lane_key(lane))


def test_requests_waiting_while_the_lane_is_busy_share_the_next_batch(lanes_of_our_own):
    gate, batches = threading.Event(), []

    def run(batch):
        batches.append([args[0] for args in batch])
        gate.wait(timeout=10)  # the first batch holds the lane until every other request waits
        return [{"ok": True, "value": args[0] * 10} for args in batch]

    lane = rpc.Lane("double", run, max_batch=4)
    _serve(lane, lanes_of_our_own)
    with ThreadPoolExecutor(max_workers=7) as pool:
        first = pool.submit(rpc.call, "double", [0], 10)
        while not batches:  # a lone request starts at once: no waiting for company
            time.sleep(0.01)
        rest = [pool.submit(rpc.call, "double", [i], 10) for i in range(1, 7)]
        while _waiting("double") < 6:
            time.sleep(0.01)
        gate.set()
        assert first.result(10) == {"ok": True, "value": 0}
        assert sorted(f.result(10)["value"] for f in rest) == [10, 20, 30, 40, 50, 60]
    assert batches[0] == [0]
    assert [len(b) for b in batches[1:]] == [4, 2]  # everything waiting, at most max_batch at a time
    assert lane.served == 7


def test_a_failed_batch_answers_each_caller_and_the_lane_serves_the_next(lanes_of_our_own):
    def run(batch):
        if ["bad"] in batch:
            raise ValueError("model exploded")
        return [{"ok": True, "text": args[0].upper()} for args in batch]

    _serve(rpc.Lane("upper", run), lanes_of_our_own)
    assert rpc.call("upper", ["bad"], 5) == {"ok": False, "reason": "worker error: ValueError"}
    assert rpc.call("upper", ["good"], 5) == {"ok": True, "text": "GOOD"}


def test_a_wrong_number_of_answers_is_an_error_not_a_mix_up(lanes_of_our_own):
    _serve(rpc.Lane("sloppy", lambda batch: [{"ok": True}] * (len(batch) + 1)), lanes_of_our_own)
    assert rpc.call("sloppy", ["x"], 5) == {"ok": False, "reason": "worker error: RuntimeError"}


def test_a_caller_that_gives_up_takes_its_request_back(lanes_of_our_own):
    # Nobody serves the lane: a real timeout.
    started = time.monotonic()
    with pytest.raises(rpc.Unanswered, match="worker timeout"):
        rpc.call("nobody", ["x"], 0.3)
    assert time.monotonic() - started < 2
    assert _waiting("nobody") == 0  # not left for a worker to compute later for nobody


def test_a_request_past_its_deadline_is_dropped_unrun(lanes_of_our_own, monkeypatch):
    ran = []
    lane = rpc.Lane("late", lambda batch: ran.extend(batch) or [{"ok": True}] * len(batch))
    # A request whose caller stopped waiting long ago (as if the worker was down when it came).
    client = rpc._client(read_timeout=5)
    client.lpush(rpc.lane_key("late"), '{"id": "gone", "args": ["stale"], "deadline": 1}')
    client.lpush(rpc.lane_key("late"), "not json")
    assert lane.take(client, block_s=1) == []
    assert ran == []
    _serve(lane, lanes_of_our_own)
    assert rpc.call("late", ["fresh"], 5) == {"ok": True}
    assert ran == [["fresh"]]


def test_with_the_broker_unreachable_a_call_fails_fast(settings, tmp_path):
    settings.REDIS_URL = f"unix://{tmp_path}/absent.sock"  # a socket nobody listens on
    started = time.monotonic()
    with pytest.raises(rpc.Unanswered, match="broker unavailable"):
        rpc.call("anything", [], 5)
    assert time.monotonic() - started < 2
