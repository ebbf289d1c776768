"""Calibrates the similarity a text-vector match needs to count as a strong match (search/cutoff.py).

    .venv/bin/python bench/calibrate_cutoff.py [--model minilm|configured] [--false-pass 0.01]
                                              [--fresh] [--no-write] [--no-append]

On the Flickr8k dev paraphrase file: every (query, its image's document) pair is relevant; every
other (query, document) pair is not. Documents and queries are encoded as the index and the
realtime worker encode them (bench/flickr_vectors.py), by the bundled all-MiniLM-L6-v2 or, with
`--model configured`, by the text model this install's workers serve (a production install with
Qwen3-Embedding calibrates its own; an uncalibrated model's matches all count as strong).

The cutoff is the similarity that a fraction `--false-pass` of the irrelevant pairs reach (by
default one in a hundred): in a library of a hundred photos unrelated to a query, about one
passes as a strong match. Flickr8k's "irrelevant" pairs include many that a person would accept
(its captions are generic: hundreds of photos show "a dog running on the grass"), so their tail
overstates how often unrelated photos pass; a stricter rate hides too many real matches (see
the table of operating points). The script reports how many relevant pairs reach it, the equal-error
point for reference, and writes {model id: {...}} into search/cutoffs.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, flickr_vectors  # noqa: E402

CUTOFFS = common.REPO_ROOT / "search" / "cutoffs.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=flickr_vectors.DATA)
    parser.add_argument("--false-pass", type=float, default=0.01)
    parser.add_argument("--model", choices=["minilm", "configured"], default="minilm",
                        help="the bundled MiniLM, or the text model this install's workers serve")
    parser.add_argument("--fresh", action="store_true", help="encode again instead of reusing cached vectors")
    parser.add_argument("--no-write", action="store_true", help="do not update search/cutoffs.json")
    parser.add_argument("--no-append", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()

    vectors = flickr_vectors.encoded(args.model, data=args.data, fresh=args.fresh)
    encoded = vectors.how
    relevant_rows = vectors.relevant
    similarities = vectors.queries @ vectors.documents.T
    count = len(relevant_rows)
    relevant = similarities[np.arange(count), relevant_rows]
    mask = np.ones_like(similarities, dtype=bool)
    mask[np.arange(count), relevant_rows] = False
    irrelevant = similarities[mask]

    cutoff = float(np.quantile(irrelevant, 1 - args.false_pass))
    recall = float((relevant >= cutoff).mean())
    # Equal-error point: as many relevant pairs fall below as irrelevant ones reach.
    grid = np.linspace(float(irrelevant.min()), float(relevant.max()), 2001)
    below = np.searchsorted(np.sort(relevant), grid) / len(relevant)
    above = 1 - np.searchsorted(np.sort(irrelevant), grid) / len(irrelevant)
    equal = grid[int(np.argmin(np.abs(below - above)))]
    entry = {
        "similarity": round(cutoff, 4),
        "false_pass": args.false_pass,
        "relevant_pass": round(recall, 4),
        "measured_on": f"flickr8k dev paraphrase: {len(relevant):,} relevant and {len(irrelevant):,} irrelevant pairs",
        "measured_at": common.now_stamp(),
    }
    points = [
        (f"{rate:g}", f"{float(np.quantile(irrelevant, 1 - rate)):.4f}",
         f"{float((relevant >= np.quantile(irrelevant, 1 - rate)).mean()):.3f}")
        for rate in (0.001, 0.005, 0.01, 0.02, 0.05)
    ]
    rows = [
        ("relevant pairs", f"{len(relevant):,}", f"median {np.median(relevant):.3f}",
         f"5th percentile {np.quantile(relevant, 0.05):.3f}"),
        ("irrelevant pairs", f"{len(irrelevant):,}", f"median {np.median(irrelevant):.3f}",
         f"99.9th percentile {np.quantile(irrelevant, 0.999):.3f}"),
    ]
    body = "\n".join([
        f"- model: `{vectors.model_id}`; documents: description + the file name's words; {encoded}",
        "",
        common.markdown_table(["pairs", "count", "similarity", "tail"], rows),
        "",
        common.markdown_table(["irrelevant pairs reaching it", "similarity", "relevant pairs reaching it"], points),
        "",
        f"- cutoff (irrelevant pairs reaching it: {args.false_pass:g}): **{cutoff:.4f}**; relevant pairs reaching "
        f"it: **{recall:.3f}**",
        f"- equal-error point, for reference: {equal:.4f} (relevant below = irrelevant above = "
        f"{float(np.interp(equal, grid, below)):.3f})",
    ])
    print(body)
    if not args.no_write:
        cutoffs = json.loads(CUTOFFS.read_text()) if CUTOFFS.exists() else {}
        cutoffs[vectors.model_id] = entry
        CUTOFFS.write_text(json.dumps(cutoffs, indent=2, sort_keys=True) + "\n")
        print(f"wrote {CUTOFFS}")
    if not args.no_append:
        common.append_section(common.heading("calibrate_cutoff", common.machine_info("cpu")), body)


if __name__ == "__main__":
    main()
