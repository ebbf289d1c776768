"""Photos per second through the analysis stage on the CPU: each analyser alone on decoded
thumbnails, all of them through the worker's own path, and plain decoding of the same files, in one run.

Usage (from the repository root):

    .venv/bin/python bench/analysis_throughput.py                  # 24 12-MP JPEGs + the small camera files
    .venv/bin/python bench/analysis_throughput.py --images 8 --repeats 1 --no-append   # a quick look

Two sets of photos, each uploaded through ``upload_asset`` and ingested (``process_asset``: EXIF,
GPS, thumbnails) before anything is timed:

- "12 MP": ``--images`` JPEGs of 4000x3000, q90, generated once into ``var/bench-cache/`` from the
  640x480 camera samples below (scaled up, with sensor-like noise so they decode like camera files,
  EXIF and GPS kept): people, signs, animals and streets, so every analyser has real work;
- "small": those camera samples themselves (640x480 to 1024x768, from ../shared/data).

Per set, after one warm-up of every step, in ``--repeats`` round-robin rounds (each step's best
round counts; a shared machine only ever makes a step slower):

a. decode: the original files, plain Pillow (open, exif_transpose, convert to RGB, full size);
   and the worker's thumbnail read, ``workers.analysis.subjects_for`` (rendition rows, blob reads,
   ``open_upright`` of the largest thumbnail, at most 1024 px), on the same assets;
b. model only: each analyser's ``analyse()`` on those preloaded subjects, in batches of
   ``ANALYSIS_BATCH_SIZE`` as the worker calls it, on the thread the worker runs analysers on
   (loading too: ``on_lane``);
c. worker path: ``workers.analysis.analyse_now`` with every analyser: claim, read thumbnails, run
   each analyser (on the worker's analyser thread, with its time limit), write the findings through
   ``finish_analysis`` (keyword index included) -- in a throwaway database; once in this process
   (all cores as torch threads), and once as ``make run`` runs the bulk worker
   (``mediavault.runner.bulk_worker_shape``: WORKER_CONCURRENCY processes, the cores shared out as
   torch threads, each taking the next batch of ``ANALYSIS_BATCH_SIZE`` when it is free);
d. the slowest analyser alone in those same processes, so the worker path is also compared with
   the bottleneck run the way the worker runs.

The goal this measures: the worker path at no less than 80% of the slowest analyser's model-only
rate, taken as the better of b and d for that analyser (the stricter bar). Within one process the
analysers run one after another, so a worker process can be no faster than the sum of their
model-only times allows; the table gives that bound too, and the worker path against it.
Rows go to a throwaway test database on the embedded PostgreSQL (``test_bench_analysis_<pid>``),
files to a temporary MEDIA_ROOT, and the tasks that ingest enqueues to a Redis (``redis-bench``)
that no worker reads, emptied afterwards.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import shlex
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

SCRIPT = "analysis_throughput"
SAMPLES = common.REPO_ROOT.parent / "shared" / "data" / "exif-samples" / "jpg"
# Camera files of 640x480 to 1024x768 that show something for each analyser (looked at): people
# (faces), signs and posters (text), animals and things (labels), GPS photos (place).
SOURCES = [
    "exif-org/canon-ixus.jpg", "exif-org/kodak-dc210.jpg", "exif-org/sony-cybershot.jpg", "exif-org/sony-d700.jpg",
    "exif-org/olympus-c960.jpg", "exif-org/fujifilm-mx1700.jpg", "exif-org/kodak-dc240.jpg", "exif-org/nikon-e950.jpg",
    "exif-org/sanyo-vpcg250.jpg", "exif-org/sanyo-vpcsx550.jpg", "exif-org/fujifilm-dx10.jpg",
    "exif-org/sony-powershota5.jpg", "exif-org/ricoh-rdc5300.jpg", "exif-org/olympus-d320l.jpg",
    "gps/DSCN0010.jpg", "gps/DSCN0012.jpg", "gps/DSCN0021.jpg", "gps/DSCN0025.jpg", "gps/DSCN0027.jpg",
    "gps/DSCN0029.jpg", "gps/DSCN0038.jpg", "gps/DSCN0040.jpg", "gps/DSCN0042.jpg",
]
SYNTH_VERSION = 1
BIG = (4000, 3000)
REDIS_NAME = "redis-bench"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=24, help="12-MP photos (generated from the samples)")
    parser.add_argument("--small", type=int, default=len(SOURCES), help="small camera files (at most all)")
    parser.add_argument("--repeats", type=int, default=2, help="round-robin rounds; each step's best counts")
    parser.add_argument("--no-append", action="store_true", help=f"print only, do not append to {common.RESULTS}")
    args = parser.parse_args(argv)
    if min(args.images, args.small, args.repeats) < 1:
        parser.error("--images, --small and --repeats must be at least 1")
    return args


def progress(message: str) -> None:
    print(f"[{SCRIPT}] {message}", file=sys.stderr, flush=True)


# -- photos -----------------------------------------------------------------------------------------
def _write_big(job: tuple[Path, Path, int]) -> Path:
    """One 4000x3000 q90 JPEG from a camera sample: scaled up, noise added, its EXIF kept."""
    import numpy as np
    from PIL import Image, ImageOps

    target, source, seed = job
    with Image.open(source) as image:
        exif = image.info.get("exif", b"")
        upright = ImageOps.exif_transpose(image).convert("RGB")
    pixels = np.asarray(upright.resize(BIG, Image.Resampling.BICUBIC), dtype=np.int16)
    pixels += np.random.default_rng(seed).integers(-8, 9, pixels.shape, dtype=np.int16)
    partial = target.with_suffix(".part")
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(partial, "JPEG", quality=90, exif=exif)
    partial.replace(target)
    return target


def big_photos(count: int) -> list[Path]:
    folder = common.CACHE_DIR / f"analysis-synth-v{SYNTH_VERSION}-{BIG[0]}x{BIG[1]}-q90"
    folder.mkdir(parents=True, exist_ok=True)
    jobs = []
    for index in range(count):
        source = SAMPLES / SOURCES[index % len(SOURCES)]
        jobs.append((folder / f"{index:03d}_{source.stem}.jpg", source, index))
    missing = [job for job in jobs if not job[0].exists()]
    if missing:
        progress(f"generating {len(missing)} 12-MP JPEGs into {folder}")
        with ProcessPoolExecutor(max_workers=common.usable_cores()) as pool:
            list(pool.map(_write_big, missing))
    return [job[0] for job in jobs]


def small_photos(count: int) -> list[Path]:
    paths = [SAMPLES / name for name in SOURCES[:count]]
    absent = [str(path) for path in paths if not path.exists()]
    if absent:
        sys.exit(f"shared sample files missing: {absent}")
    return paths


def describe_files(paths: list[Path]) -> str:
    from PIL import Image

    megabytes = sum(path.stat().st_size for path in paths) / len(paths) / 1e6
    pixels = 0
    for path in paths:
        with Image.open(path) as image:
            pixels += image.width * image.height
    return f"{len(paths)} files, mean {megabytes:.2f} MB, mean {pixels / len(paths) / 1e6:.2f} MP"


# -- measuring ----------------------------------------------------------------------------------------
def ingest(user, paths: list[Path]) -> list:
    from assets.actions import AssetOptions, upload_asset
    from assets.models import Asset
    from assets.processing import process_asset

    ids = []
    for path in paths:
        result = upload_asset(user, io.BytesIO(path.read_bytes()), path.name, AssetOptions())
        if result.status != "created":
            sys.exit(f"upload of {path} failed: {result.status} ({result.reason})")
        outcome = process_asset(result.asset.pk)
        if not outcome.startswith("ready"):
            sys.exit(f"ingest of {path} failed: {outcome}")
        ids.append(result.asset.pk)
    return list(Asset.objects.filter(pk__in=ids).order_by("pk"))


def on_lane(call):
    """`call()` on the thread the worker loads and runs analysers on (``workers.analysis.run_on_lane``):
    torch's CPU threads belong to the thread that calls it, so model-only rows measured on another
    thread would compare a different arrangement of threads with the worker path's."""
    from workers import analysis

    return analysis.run_on_lane(3600.0, call)


def plain_decode(paths: list[Path]) -> None:
    from PIL import Image, ImageOps

    for path in paths:
        with Image.open(path) as image:
            ImageOps.exif_transpose(image).convert("RGB")


def model_only(analyser, subjects: list, batch: int) -> dict:
    """analyse() in the worker's batch sizes; the slowest batch's seconds per picture."""
    import time

    slowest = 0.0
    for start in range(0, len(subjects), batch):
        chunk = subjects[start : start + batch]
        started = time.perf_counter()
        results = analyser.analyse(chunk)
        slowest = max(slowest, (time.perf_counter() - started) / len(chunk))
        if len(results) != len(chunk):
            raise RuntimeError(f"{analyser.name} returned {len(results)} results for {len(chunk)} subjects")
    return {"slowest_per_picture": slowest}


def worker_path(ids: list[int]) -> dict:
    from workers import analysis

    report = analysis.analyse_now(ids)
    if report.errors or report.skipped or report.claimed != len(ids):
        raise RuntimeError(f"worker path failed: {report}")
    return report.seconds


# -- the bulk worker's shape: processes started once per set, models and subjects loaded before timing
_CHILD: dict = {}


def _child_start(database: str, threads: int, ids: list[int]) -> None:
    os.environ["MEDIAVAULT_TORCH_THREADS"] = str(threads)
    import django

    django.setup()
    from django.db import connection

    connection.settings_dict["NAME"] = database
    from assets.models import Asset
    from workers import analysis, process
    from workers.ml import analysers

    process.prepare()
    for key in analysers.enabled():
        analysis.load_analyser(key)
    assets = list(Asset.objects.filter(pk__in=ids).order_by("pk"))
    _CHILD["subjects"] = {subject.asset_id: subject for subject in analysis.subjects_for(assets)}


def _child_analyse(ids: list[int]) -> tuple[int, int, dict]:
    from workers import analysis

    report = analysis.analyse_now(ids)
    return report.claimed, report.errors, report.skipped


def _child_ready(_: int) -> int:
    return os.getpid()


def _child_model(key: str, ids: list[int]) -> int:
    from workers.ml import analysers

    return len(on_lane(lambda: analysers.get_analyser(key).analyse([_CHILD["subjects"][pk] for pk in ids])))


class WorkerShape:
    """The bulk worker's processes over one set's assets (spawned: torch and OpenMP do not survive a fork)."""

    def __init__(self, database: str, ids: list[int], batch: int) -> None:
        import numpy as np

        from mediavault.runner import bulk_worker_shape

        self.processes, self.threads = bulk_worker_shape()
        # A long queue keeps every process busy; this short one is cut into batches of at most
        # `batch`, as many for each process, so that no process idles while another finishes.
        count = self.processes * -(-len(ids) // (self.processes * batch))
        self.batches = [chunk.tolist() for chunk in np.array_split(np.array(ids), count) if len(chunk)]
        self.pool = ProcessPoolExecutor(max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_child_start, initargs=(database, self.threads, ids))
        list(self.pool.map(_child_ready, range(self.processes)))  # spawned and initialised before any timing

    @property
    def label(self) -> str:
        return f"{self.processes} processes x {self.threads} torch thread{'s' if self.threads > 1 else ''}"

    def analyse(self) -> None:
        for claimed, errors, skipped in self.pool.map(_child_analyse, self.batches):
            if errors or skipped or not claimed:
                raise RuntimeError(f"worker processes failed: {claimed} claimed, {errors} errors, {skipped}")

    def model_only(self, key: str) -> None:
        done = sum(self.pool.map(_child_model, [key] * len(self.batches), self.batches))
        if done != sum(len(chunk) for chunk in self.batches):
            raise RuntimeError(f"{key} returned {done} results")

    def close(self) -> None:
        self.pool.shutdown()


@dataclass
class SetResult:
    name: str
    files: str
    probes: list[common.Probe]
    model: dict[str, common.Probe]
    worker: common.Probe
    shaped_worker: common.Probe
    shaped_model: dict[str, common.Probe]
    slowest_batch: dict[str, float]
    findings: dict[str, int]


def measure_set(name: str, paths: list[Path], user, repeats: int, database: str) -> SetResult:
    from django.conf import settings
    from django.db import connection

    from assets.models import Analysis
    from workers import analysis
    from workers.ml import analysers

    progress(f"{name}: uploading and ingesting {len(paths)} photos")
    assets = ingest(user, paths)
    ids = [asset.pk for asset in assets]
    count = len(ids)
    batch = settings.ANALYSIS_BATCH_SIZE
    names = analysers.enabled()
    loaded = {key: analysis.load_analyser(key) for key in names}
    subjects = analysis.subjects_for(assets)
    slowest: dict[str, float] = {}

    def model_probe(key: str) -> common.Probe:
        def body() -> None:
            measured = on_lane(lambda: model_only(loaded[key], subjects, batch))
            slowest[key] = max(slowest.get(key, 0.0), measured["slowest_per_picture"])

        return common.Probe(f"b. model only: `{key}`", count, body)

    probes = [
        common.Probe("a. decode the original files, plain Pillow (full size)", count, lambda: plain_decode(paths)),
        common.Probe("a. read the largest thumbnails as the worker does (`subjects_for`)", count,
              lambda: analysis.subjects_for(assets)),
    ]
    model = {key: model_probe(key) for key in names}
    probes += model.values()
    worker = common.Probe(f"c. worker path: `analyse_now`, all {len(names)} analysers, batches of {batch}", count,
                   lambda: worker_path(ids))
    probes.append(worker)
    progress(f"{name}: warming up")
    for probe in probes:
        probe.body()
    # The analysers that cost at least a quarter of the slowest one in the warm-up are run alone in
    # the worker's processes too: the bottleneck there may not be the one-process bottleneck.
    heavy = [key for key in names if slowest[key] >= 0.25 * max(slowest.values())]
    connection.close()  # the children open their own
    progress(f"{name}: starting the worker's processes")
    shape = WorkerShape(database, ids, batch)
    try:
        shaped_worker = common.Probe(f"c. worker path as `make run` runs it: {shape.label}, all {len(names)} "
                                     f"analysers", count, shape.analyse)
        shaped_model = {key: common.Probe(f"d. model only: `{key}` in those processes", count,
                                          lambda key=key: shape.model_only(key)) for key in heavy}
        for probe in (shaped_worker, *shaped_model.values()):
            probe.body()
        probes += [shaped_worker, *shaped_model.values()]
        slowest.clear()
        for round_number in range(1, repeats + 1):
            progress(f"{name}: round {round_number}/{repeats}")
            for probe in probes:
                probe.measure()
    finally:
        shape.close()
    findings = {key: Analysis.objects.filter(asset_id__in=ids, analyser=key).exclude(text="").count() for key in names}
    return SetResult(name, describe_files(paths), probes, model, worker, shaped_worker, shaped_model, slowest,
                     findings)


def annotate(result: SetResult) -> dict[str, float]:
    slowest_key = min(result.model, key=lambda key: result.model[key].rate)
    slowest = result.model[slowest_key]
    serial_seconds = sum(probe.best for probe in result.model.values())
    serial_rate = common.rate(result.worker.images, serial_seconds)
    for key, probe in result.model.items():
        probe.note = "slowest" if key == slowest_key else f"{probe.rate / slowest.rate:.1f}x slowest"
    for key, probe in result.shaped_model.items():
        probe.note = f"{probe.rate / result.model[key].rate:.1f}x its rate in one process"
    # The bar: the slowest analyser's best rate, alone in one process or in the worker's processes.
    alone = {key: max(probe.rate, result.shaped_model[key].rate if key in result.shaped_model else 0.0)
             for key, probe in result.model.items()}
    slowest_key = min(alone, key=alone.get)
    bar = alone[slowest_key]
    for probe in (result.worker, result.shaped_worker):
        probe.note = f"{probe.rate / bar:.0%} of the slowest analyser's best (`{slowest_key}`, {bar:.1f} img/s)"
    result.worker.note += f"; {result.worker.rate / serial_rate:.0%} of all analysers in turn ({serial_rate:.1f} img/s)"
    return {"slowest": bar, "serial": serial_rate, "worker": result.worker.rate,
            "shaped": result.shaped_worker.rate}


def render(args: argparse.Namespace, results: list[SetResult], facts: dict[str, str]) -> str:
    command = "bench/analysis_throughput.py " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])
    lines = [f"- command: `{command.strip()}`"]
    lines += [f"- {key}: {value}" for key, value in facts.items()]
    lines.append(f"- {args.repeats} round-robin rounds after one warm-up; figures are each step's best round, "
                 "the range worst–best; s/img is the best round's seconds per photo")
    summary = []
    for result in results:
        figures = annotate(result)
        lines.append(f"\n**{result.name}** ({result.files}); findings with text per analyser: "
                     + ", ".join(f"{key} {value}" for key, value in result.findings.items()))
        lines.append("")
        lines.append(common.markdown_table(["step", "images", "seconds", "img/s", "range img/s", "s/img", "relative"],
                                           [probe.row() for probe in result.probes]))
        lines.append("")
        lines.append("Slowest batch, seconds per photo, over all rounds (against `seconds_per_subject`): "
                     + ", ".join(f"{key} {seconds:.2f}" for key, seconds in result.slowest_batch.items()))
        best = max(figures["worker"], figures["shaped"])
        verdict = "meets" if best >= 0.8 * figures["slowest"] else "misses"
        summary.append(f"{result.name}: worker path {figures['shaped']:.1f} img/s as `make run` runs it "
                       f"({figures['worker']:.1f} in one process), {verdict} the goal of 80% of the slowest "
                       f"analyser's best alone ({figures['slowest']:.1f} img/s; {best / figures['slowest']:.0%}); "
                       f"in one process all analysers one after another allow {figures['serial']:.1f} img/s, and "
                       f"the one-process worker path reaches {figures['worker'] / figures['serial']:.0%} of that")
    return "\n".join(lines) + "\n\n" + ". ".join(summary) + ".\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = common.load_average()
    big, small = big_photos(args.images), small_photos(args.small)
    with tempfile.TemporaryDirectory(prefix="bench-analysis-") as scratch:
        os.environ.update(DJANGO_SETTINGS_MODULE="mediavault.settings", MEDIA_ROOT=str(Path(scratch) / "media"),
                          MEDIAVAULT_REDIS_NAME=REDIS_NAME, TEST_DATABASE_NAME="test_bench_analysis")
        os.environ.pop("MEDIAVAULT_ANALYSERS", None)  # all of them
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        import django

        django.setup()
        common.start_services()
        from django.conf import settings
        from django.contrib.auth import get_user_model

        from bench.embed_throughput import purge_bench_queue
        from search.evaluation import isolated_database
        from workers import analysis
        from workers.ml import analysers

        with isolated_database("bench_analysis") as database:
            user = get_user_model().objects.create_user(username="bench", password=None)
            progress("loading the analysers")
            (_, seconds) = common.timed(lambda: [analysis.load_analyser(key) for key in analysers.enabled()])
            models = ", ".join(f"{key} `{analysers.get_analyser(key).model_id}`" for key in analysers.enabled())
            results = [measure_set("12 MP", big, user, args.repeats, database),
                       measure_set("small", small, user, args.repeats, database)]
            purge_bench_queue()
        import torch

        facts = {
            "analysers": models,
            "loading all of them": f"{seconds:.1f} s",
            "threads": f"torch {torch.get_num_threads()} (onnxruntime the same), ANALYSIS_BATCH_SIZE "
                       f"{settings.ANALYSIS_BATCH_SIZE}",
            "load average": f"{load_before} before, {common.load_average()} after (1/5/15 min)",
        }
    title = common.heading(SCRIPT, common.machine_info("cpu"))
    body = render(args, results, facts)
    common.publish(title, body, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
