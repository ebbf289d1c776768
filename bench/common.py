"""Helpers shared by the benchmark scripts: who ran where, on which commit, and the results file.

    from bench import common
    section = common.heading("embed_throughput", device="cpu")
    common.append_section(section, body_markdown)

Nothing here imports Django; torch is imported only when a device is described, so scripts that
never touch a model can use this module too.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "RESULTS.md"
CACHE_DIR = REPO_ROOT / "var" / "bench-cache"

RESULTS_HEADER = """\
# Benchmark results

Appended by the scripts in `bench/` (run them with `.venv/bin/python bench/<script>.py --help`).
Each section is one run: its heading says when, on which machine and at which commit
(`+dirty`: the working tree had uncommitted or untracked changes).

How to read it:

- The machines are shared and noisy. Compare **ratios inside one section** (two paths measured
  on the same data, in the same process, minutes apart), not absolute figures across sections.
- Absolute times count only from the GPU machine. Figures from the 2-core development machine
  say where time goes, not how fast production is.

Reference figures measured earlier on the GPU machine and its host (`DESIGN.md`, "Decisions
already measured here"; the ViT-L-14 figure comes from the benchmark brief):

| what | where | figure |
|---|---|---|
| random-weight ViT-B-32, fp16, batch 256, model forward only | H100 | 30,000 img/s |
| random-weight ViT-L-14, fp16, model forward only | H100 | 2,400 img/s |
| 12-MP JPEG decode + resize to 224, plain Pillow | 16 CPU cores | 66 img/s |
| 12-MP JPEG decode + resize to 224, Pillow `Image.draft()` (DCT scaling) | 16 CPU cores | 277 img/s |

So on the GPU machine ingest is decode-bound unless decoding is made cheap.
"""


def now_stamp() -> str:
    """Local date and time with the zone, e.g. ``2025-11-22 16:40 UTC``."""
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def git_commit() -> str:
    """``git rev-parse --short HEAD``, plus ``+dirty`` when anything is modified or untracked."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = bool(_git("status", "--porcelain"))
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO_ROOT, check=True, capture_output=True, text=True, timeout=30
    ).stdout.strip()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def load_average() -> str:
    """The 1/5/15-minute load averages: beside the core count, how busy the shared machine was."""
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def machine_info(device: str | None = None) -> dict[str, Any]:
    """CPU model, cores, Python and (when a device is named) torch version, threads and GPU name."""
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "python": platform.python_version(),
    }
    if device is not None:
        import torch

        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads(), device=device)
        if device.startswith("cuda"):
            info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def machine_summary(info: dict[str, Any]) -> str:
    """One line for a heading: ``Intel Xeon, 2 cores, torch 2.14.1, cpu`` (GPU name when there is one)."""
    parts = [info["cpu"], f"{info['cores']} cores"]
    if "torch" in info:
        parts.append(f"torch {info['torch']}")
    if "device" in info:
        parts.append(f"{info['device']} ({info['gpu']})" if "gpu" in info else info["device"])
    return ", ".join(parts)


def heading(script: str, info: dict[str, Any]) -> str:
    return f"## {script} — {now_stamp()} — {machine_summary(info)} — {git_commit()}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def append_section(title: str, body: str, path: Path = RESULTS) -> Path:
    """Append ``title`` and ``body`` to the results file, creating it with its header first."""
    if not path.exists():
        path.write_text(RESULTS_HEADER)
    with path.open("a") as handle:
        handle.write(f"\n{title}\n\n{body.rstrip()}\n")
    return path


def publish(title: str, body: str, append: bool) -> None:
    """Print a section and, unless the run was only a look (``--no-append``), add it to the results."""
    print(f"\n{title}\n\n{body}")
    if append:
        print(f"appended to {append_section(title, body)}", file=sys.stderr)


def synchronize(device: str) -> None:
    """Wait for queued GPU work so a timer measures it; nothing to do on CPU."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(torch.device(device))


def timed(function: Callable[[], Any], device: str = "cpu") -> tuple[Any, float]:
    """``(result, seconds)`` of one call, device work included."""
    synchronize(device)
    started = time.perf_counter()
    result = function()
    synchronize(device)
    return result, time.perf_counter() - started


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def start_services() -> None:
    """Start the embedded PostgreSQL and Redis the settings use (after ``django.setup()``); those this
    script started stop when it exits. Settings never start services on import."""
    from django.conf import settings

    from mediavault import embedded

    embedded.ensure_running(settings, stop_at_exit=True)


@dataclass(eq=False)
class Probe:
    """One measured step: ``body`` does the work once; ``reset`` (untimed) runs before each repeat."""

    label: str
    images: int
    body: Callable[[], Any]
    reset: Callable[[], Any] = lambda: None
    seconds: list[float] = field(default_factory=list)
    outcomes: list[Any] = field(default_factory=list)
    note: str = ""

    def measure(self, device: str = "cpu") -> None:
        self.reset()
        outcome, seconds = timed(self.body, device)
        self.seconds.append(seconds)
        self.outcomes.append(outcome)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def rate(self) -> float:
        return rate(self.images, self.best)

    @property
    def spread(self) -> str:
        return f"{rate(self.images, max(self.seconds)):.1f}–{self.rate:.1f}"

    def row(self) -> tuple:
        """label, images, best seconds, rate, spread, seconds per image, note: a results-table row."""
        return (self.label, self.images, f"{self.best:.2f}", f"{self.rate:.1f}", self.spread,
                f"{self.best / self.images:.3f}", self.note)

    @property
    def best_outcome(self) -> Any:
        return self.outcomes[self.seconds.index(self.best)]
