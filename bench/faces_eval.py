"""How many of the exif samples' hand-checked faces the faces analyser finds, how many things it
takes for a face that are not, and how long it takes: for its own settings and others beside them.

    .venv/bin/python bench/faces_eval.py [--settings 20:0.6,24:0.7] [--repeats 2] [--no-append]

A setting is MTCNN's smallest face in pixels and its first stage's threshold (the other two stay
at the library's 0.7). Each picture is read as the worker reads it (upright, at most 1024 px, the
size of the runner's largest thumbnail) and handed to `Faces.analyse` alone, on one torch thread.
A face the analyser keeps (probability >= MIN_PROBABILITY) matches a labelled face when their boxes
overlap by IoU >= 0.3, each labelled face once; every other kept face is a false detection.

Labels (bench/data/exif-samples-faces.jsonl, boxes as fractions of the picture): every face that
any setting of 20/24/26/28 px by 0.6/0.7 kept, looked at by eye. Real ones are listed (a head turned
half away counts: it is a person); the rest (a dog, flower pots, a gilded ornament, wisteria) are
not. People whom no setting finds (a band on a stage, walkers down a street: faces under about
10 px) are not listed either, so "found" counts faces that some setting can find.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

SCRIPT = "faces_eval"
LABELS = common.BENCH_DIR / "data" / "exif-samples-faces.jsonl"
SAMPLES = common.REPO_ROOT.parent / "shared" / "data" / "exif-samples"
MIN_IOU = 0.3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from workers.ml.analysers import faces

    own = f"{faces.MIN_FACE}:{faces.THRESHOLDS[0]:g}"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", default=f"20:0.6,20:0.7,24:0.6,{own},26:0.7,28:0.7",
                        help="comma-separated MIN_FACE:FIRST_THRESHOLD (default: the library's, "
                             f"the analyser's own ({own}) and neighbours)")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per setting; the best counts")
    parser.add_argument("--no-append", action="store_true", help="print only; leave RESULTS.md alone")
    return parser.parse_args(argv)


def pictures() -> list[tuple[object, list[list[float]]]]:
    """(picture as the worker sees it, labelled boxes in its pixels) for every labelled sample."""
    from PIL import Image, ImageOps

    from workers.ml.analysers.faces import MAX_SIDE
    from workers.ml.analysers.pictures import fitted

    rows = []
    for line in LABELS.read_text().splitlines():
        label = json.loads(line)
        with Image.open(SAMPLES / label["id"]) as image:
            picture, _ = fitted(ImageOps.exif_transpose(image).convert("RGB"), MAX_SIDE)
        width, height = picture.size
        boxes = [[x0 * width, y0 * height, x1 * width, y1 * height] for x0, y0, x1, y1 in label["faces"]]
        rows.append((picture, boxes))
    return rows


def iou(a: list[float], b: list[float]) -> float:
    across = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    down = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    shared = across * down
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - shared
    return shared / union if union > 0 else 0.0


def score(kept: list[list[float]], labelled: list[list[float]]) -> tuple[int, int]:
    """(labelled faces found, false detections) for one picture, matching greedily by overlap."""
    unmatched = list(labelled)
    found = 0
    for box in kept:
        best = max(unmatched, key=lambda face: iou(box, face), default=None)
        if best is not None and iou(box, best) >= MIN_IOU:
            unmatched.remove(best)
            found += 1
    return found, len(kept) - found


def evaluate(setting: str, rows: list, repeats: int) -> list:
    from workers.ml.analysers.base import Subject
    from workers.ml.analysers.faces import THRESHOLDS, Faces

    min_face, first = setting.split(":")
    analyser = Faces(int(min_face), (float(first), *THRESHOLDS[1:])).load()
    analyser.analyse([Subject(0, rows[0][0])])  # warm-up
    best, results = float("inf"), []
    for _ in range(repeats):
        results, seconds = common.timed(lambda: [analyser.analyse([Subject(0, picture)])[0]
                                                 for picture, _ in rows])
        best = min(best, seconds)
    found = false = people_found = people_false = 0
    for (_, labelled), result in zip(rows, results, strict=True):
        kept = [face["box"] for face in result.data["faces"] if face["kept"]]
        hit, miss = score(kept, labelled)
        found, false = found + hit, false + miss
        people_found += bool(labelled) and hit > 0
        people_false += not labelled and bool(kept)
    labelled_faces = sum(len(labelled) for _, labelled in rows)
    with_people = sum(1 for _, labelled in rows if labelled)
    return [f"{min_face} px, {first}", analyser.model_id, f"{found} / {labelled_faces}", false,
            f"{people_found} / {with_people}", people_false, f"{1000 * best / len(rows):.1f}"]


def main(argv: list[str] | None = None) -> int:
    import torch

    torch.set_num_threads(1)
    args = parse_args(argv)
    rows = pictures()
    table = [evaluate(setting, rows, args.repeats) for setting in dict.fromkeys(args.settings.split(","))]
    body = "\n".join([
        f"- command: `bench/faces_eval.py --settings {args.settings} --repeats {args.repeats}`",
        f"- {len(rows)} pictures, as the worker reads them (at most 1024 px); one torch thread; "
        "ms is the best pass's time a picture",
        "",
        common.markdown_table(["setting (smallest face, first stage)", "model id", "labelled faces found",
                               "false detections", "pictures with people found", "pictures without people "
                               "given people", "ms / picture"], table),
    ])
    title = common.heading(SCRIPT, common.machine_info("cpu"))
    common.publish(title, body, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
