"""Where the embedded services are started: never by importing the settings; by the runner, by
manage.py commands and by the test suite. And how `make run` keeps its processes alive."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.conf import settings

from mediavault.supervisor import Child, Supervisor

PROBE = """
import json, os, django
django.setup()
from django.conf import settings
from mediavault import embedded
print(json.dumps({"db": settings.DATABASES["default"]["HOST"],
                  "pg": embedded.postgres_running(settings.EMBEDDED_PGDATA),
                  "redis": embedded.redis_alive(settings.EMBEDDED_REDIS_SOCKET),
                  "files": sorted(os.listdir(settings.VAR_DIR))}))
"""


def test_importing_the_settings_starts_nothing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "mediavault.settings", "PYTHONDONTWRITEBYTECODE": "1",
           "MEDIAVAULT_VAR_DIR": str(tmp_path / "var")}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=settings.BASE_DIR, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["pg"] is False and found["redis"] is False
    assert found["db"] == str((tmp_path / "var" / "pgdata").resolve())  # where it would be, once started
    assert "pgdata" not in found["files"] and not any(name.endswith(".sock") for name in found["files"])


def _sleeper(seconds: float) -> list[str]:
    return [sys.executable, "-c", f"import time; time.sleep({seconds})"]


def test_the_supervisor_restarts_a_killed_child_with_backoff_and_stops_everything(capsys):
    worker = Child("worker", _sleeper(60))
    web = Child("web", _sleeper(60))
    supervisor = Supervisor([worker, web])
    supervisor.start()
    first = worker.process.pid
    try:
        worker.process.kill()
        worker.process.wait()
        deadline = time.monotonic() + 10
        while worker.process.pid == first and time.monotonic() < deadline:
            supervisor.check()
            time.sleep(0.05)
        assert worker.process.pid != first and worker.running, "the killed worker was restarted"
        assert worker.restarts == 1 and web.restarts == 0 and web.running  # the web stayed up
        # Dying again at once: the next restart waits longer (it is crash-looping).
        worker.process.kill()
        worker.process.wait()
        supervisor.check()
        assert not worker.running
        out = capsys.readouterr().out
        assert "worker exited with -9 after 0s; restarting in 1s" in out
        assert "worker exited with -9 after 0s; restarting in 2s" in out
    finally:
        supervisor.stop(timeout=5)
    assert not worker.running and not web.running


def test_children_die_with_the_supervisor(tmp_path):
    """A supervisor killed with SIGKILL leaves no orphan: the kernel stops its children (PR_SET_PDEATHSIG)."""
    script = f"""
import sys, time
sys.path.insert(0, {str(settings.BASE_DIR)!r})
from mediavault.supervisor import Child, Supervisor
child = Child("beat", [sys.executable, "-c", "import time; time.sleep(60)"])
Supervisor([child]).start()
print(child.process.pid, flush=True)
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(child_pid, 9)
        raise AssertionError("the child outlived its supervisor")


def test_a_second_runner_on_the_same_directory_refuses_to_start(tmp_path):
    from mediavault.supervisor import AlreadyRunning, hold_instance_lock

    first = hold_instance_lock(tmp_path / "run.lock")
    # Another process trying (a second `make run`): refused, naming the first.
    probe = (
        "import sys; from pathlib import Path\n"
        "from mediavault.supervisor import AlreadyRunning, hold_instance_lock\n"
        "try:\n    hold_instance_lock(Path(sys.argv[1]))\n"
        "except AlreadyRunning as exc:\n    print(exc); sys.exit(3)"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "run.lock")], cwd=settings.BASE_DIR,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 3, out.stderr[-2000:]
    assert f"already running from {tmp_path} (process {os.getpid()})" in out.stdout
    with pytest.raises(AlreadyRunning):
        hold_instance_lock(tmp_path / "run.lock")
    first.close()  # the first one stops: the next may start
    hold_instance_lock(tmp_path / "run.lock").close()


def test_what_a_search_waits_on_runs_first_and_bulk_work_last(monkeypatch):
    """Scheduling priorities of `make run`'s children: the realtime worker (every search waits on
    its encoding) above the web, the web above the bulk worker; and a child really runs at its own."""
    from mediavault import runner

    monkeypatch.setattr(settings, "BROKER_EMBEDDED", False)  # no embedded Redis child to probe for
    nice = {child.name: child.nice for child in runner._children(settings)}
    assert nice["realtime"] < nice["web"] < nice["worker"]
    probe = Child("probe", [sys.executable, "-c", "import os; print(os.nice(0))"], nice=nice["web"])
    output = subprocess.run(probe.command, preexec_fn=probe._in_child, capture_output=True, text=True, check=True)
    assert int(output.stdout) == os.nice(0) + nice["web"]


def test_the_banner_waits_for_the_realtime_worker_to_serve(realtime_process):
    """`make run` says "running" only once searches get their semantic signals: a child counts as
    serving when a heartbeat carries its pid, which the realtime worker writes after warming."""
    from mediavault import runner

    serving = Child("realtime", realtime_process.command, process=realtime_process.process)
    assert runner._wait_until_serving(serving, timeout_s=10) is None

    silent = Child("realtime", _sleeper(60))
    silent.start()
    try:
        started = time.monotonic()
        assert runner._wait_until_serving(silent, timeout_s=1) == (
            "the realtime worker did not start serving within 1s")
        assert time.monotonic() - started < 5
    finally:
        silent.process.kill()
        silent.process.wait()
    assert runner._wait_until_serving(silent, timeout_s=10) == "the realtime worker exited with -9"


def test_a_stop_asked_for_while_waiting_ends_the_wait():
    from mediavault import runner

    silent = Child("realtime", _sleeper(60))
    silent.start()
    try:
        started = time.monotonic()
        assert runner._wait_until_serving(silent, timeout_s=60, stopping=lambda: True) is None
        assert time.monotonic() - started < 5
    finally:
        silent.process.kill()
        silent.process.wait()


def test_the_web_server_of_make_run_takes_a_search_of_900_chinese_characters(tmp_path):
    """The runner's own gunicorn command, started as `make run` starts it: a request line of 8 KB
    (900 Chinese characters, 9 bytes each in the URL) reaches the application, which answers it
    (here by sending a visitor who is not signed in to the login page); only a longer one gets
    gunicorn's own 414. The default limit, 4,094 bytes, refused 453 such characters and more."""
    from mediavault import runner
    from tests.conftest import wait_for

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (web,) = [child for child in runner._children(settings) if child.name == "web"]
    command = list(web.command)
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    command[command.index("--workers") + 1] = "1"
    server = subprocess.Popen(command, cwd=settings.BASE_DIR, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def status(characters: int) -> int:
        url = f"http://127.0.0.1:{port}/search/?" + urllib.parse.urlencode({"q": "山" * characters})
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(url, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except urllib.error.URLError:
            return 0  # not listening yet

    try:
        wait_for(lambda: status(1) != 0, timeout=60, interval=0.2)
        assert status(500) == 302
        assert status(900) == 302
        assert status(1000) == 414  # 9 KB: past any bounded limit gunicorn has
    finally:
        server.terminate()
        server.wait(timeout=20)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 itself is the answer under test
