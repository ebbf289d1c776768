"""The GPU figures of the vision-language issue, in one short run on the GPU machine: JPEG decode
on the GPU against Pillow's draft decode on the CPU cores, picture embedding end to end against
model only (ViT-B-32 and Qwen3-VL-Embedding-2B), rerank latency for 50 candidates (Qwen3-Reranker-0.6B
on text, Qwen3-VL-Reranker-2B with pictures), and one query's encoding (Qwen3-Embedding-0.6B).

Usage, on the GPU machine (no hub there: every model has random weights of the real shape, built
from its published config; open-clip-torch, ftfy and wcwidth travel as wheels, see
/work/.library/device/README.md; the rest is in its image):

    python3 bench/gpu_figures.py --out $OUT/gpu_figures.md                 # the figures (~5 min)
    .venv/bin/python bench/gpu_figures.py --smoke --device cpu --no-append  # here: tiny shapes, a check that it runs

What each step times, after warm-ups, with the GPU synchronised before every clock stop:

- decode: N synthetic 12-MP JPEGs (q90, noise over gradients, so they decode like camera files)
  read from memory; ``torchvision.io.decode_jpeg(device="cuda")`` on batches, against Pillow with
  ``Image.draft`` (DCT scaling to at least 224 px, as ``assets.imaging`` decodes) on all CPU cores;
- ViT-B-32 (open_clip, fp16): model only on a preprocessed batch, and end to end: decode (the faster
  of the two above), resize to 224 and normalise on the GPU, encode, normalise, copy the fp16 vectors
  back to the host (what the worker writes);
- Qwen3-VL-Embedding-2B shape (``workers.ml.qwen_vl_embed.QwenVLEmbedder``, bf16, pictures held to
  ``--max-pixels``): model only on processor outputs, and end to end from the JPEG bytes;
- rerank: ``QwenReranker.score`` for one query and 50 documents of ~100 tokens, eager, p50/p95 over
  ``--repeats``; ``QwenVLReranker.score`` with 50 pictures and texts (and 30, the default depth);
- query: ``QwenEmbedder.encode_queries`` of one short query, p50/p95, eager and with the forward
  under ``torch.compile(mode="reduce-overhead")`` (CUDA graphs; the goal is 10 ms).

The tokenizer is the tiny one of ``workers.ml.testing`` (the real ones cannot be fetched there), so
texts are padded to the token counts real prompts have (``--query-tokens``, ``--document-tokens``).
Nothing here imports Django.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from bench import common  # noqa: E402

SCRIPT = "gpu_figures"
# Published shapes (config.json of each model on the hub), text and vision towers.
QWEN3_06B = {"hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 28, "num_attention_heads": 16,
             "num_key_value_heads": 8, "head_dim": 128, "max_position_embeddings": 4096, "initializer_range": 0.02}
QWEN3_VL_2B_TEXT = {"hidden_size": 2048, "intermediate_size": 6144, "num_hidden_layers": 28,
                    "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "initializer_range": 0.02}
QWEN3_VL_2B_VISION = {"depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_heads": 16,
                      "num_position_embeddings": 2304, "deepstack_visual_indexes": [5, 11, 17],
                      "initializer_range": 0.02}
VOCAB = 151_936


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--images", type=int, default=256, help="12-MP JPEGs to decode and embed")
    parser.add_argument("--clip-batch", type=int, default=256)
    parser.add_argument("--vl-images", type=int, default=64, help="pictures through Qwen3-VL-Embedding")
    parser.add_argument("--max-pixels", type=int, default=640 * 640)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--query-tokens", type=int, default=12)
    parser.add_argument("--document-tokens", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per latency figure")
    parser.add_argument("--decode-threads", type=int, default=common.usable_cores())
    parser.add_argument("--smoke", action="store_true", help="tiny shapes and few photos: does it run?")
    parser.add_argument("--out", type=Path, help="also write the section to this file")
    parser.add_argument("--no-append", action="store_true", help=f"print only, do not append to {common.RESULTS}")
    args = parser.parse_args(argv)
    if args.smoke:
        args.images, args.clip_batch, args.vl_images, args.candidates, args.repeats = 8, 4, 2, 6, 3
        args.max_pixels, args.document_tokens = 128 * 128, 20
    return args


# -- inputs -------------------------------------------------------------------------------------
def photos(count: int, size: tuple[int, int]) -> list[bytes]:
    """JPEG bytes of `count` camera-like photos (smooth gradients under sensor-like noise)."""
    rng = np.random.default_rng(0)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    made = []
    for index in range(count):
        base = np.stack([(x / width) * 255, (y / height) * 255, np.full_like(x, 40.0 * (index % 6))], axis=2)
        noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(noisy).save(buffer, format="JPEG", quality=90)
        made.append(buffer.getvalue())
    return made


def draft_decode(data: bytes, side: int) -> Image.Image:
    """Pillow's DCT-scaled decode to at least `side` px, as assets.imaging.open_upright decodes."""
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (side, side))
    return image.convert("RGB")


def padded_text(tokenizer, tokens: int, seed: int) -> str:
    """A text of about `tokens` tokens of the tiny tokenizer (words from its training corpus)."""
    words = ["harbour", "boats", "red", "kayak", "lake", "dog", "beach", "sunset", "photo", "bridge", "night"]
    rng = np.random.default_rng(seed)
    text = ""
    while len(tokenizer(text)["input_ids"]) < tokens:
        text += (" " if text else "") + words[int(rng.integers(len(words)))]
    return text


# -- timing -------------------------------------------------------------------------------------
def best_rate(function, count: int, device: str, rounds: int = 3) -> float:
    function()  # warm-up
    best = float("inf")
    for _ in range(rounds):
        _, seconds = common.timed(function, device)
        best = min(best, seconds)
    return count / best


def latencies(function, device: str, repeats: int) -> tuple[float, float]:
    """(p50, p95) in milliseconds of `repeats` calls, after two warm-ups."""
    function()
    function()
    times = []
    for _ in range(repeats):
        _, seconds = common.timed(function, device)
        times.append(seconds * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


# -- steps --------------------------------------------------------------------------------------
def decode_rates(args, jpegs: list[bytes]) -> dict[str, float]:
    rates = {}
    with ThreadPoolExecutor(args.decode_threads) as pool:
        rates["cpu_draft"] = best_rate(lambda: list(pool.map(lambda d: draft_decode(d, 224), jpegs)), len(jpegs),
                                       "cpu")
    if args.device.startswith("cuda"):
        import torchvision

        tensors = [torch.frombuffer(bytearray(d), dtype=torch.uint8) for d in jpegs]
        rates["gpu_nvjpeg"] = best_rate(lambda: torchvision.io.decode_jpeg(tensors, device=args.device), len(jpegs),
                                        args.device)
    return rates


def clip_rates(args, jpegs: list[bytes]) -> dict[str, float]:
    import open_clip

    name = "ViT-B-32"
    model = open_clip.create_model(name, pretrained=None, device=args.device,
                                   precision="fp16" if args.device.startswith("cuda") else "fp32").eval()
    dtype = next(model.parameters()).dtype
    mean = torch.tensor([0.4815, 0.4578, 0.4082], device=args.device).view(1, 3, 1, 1)
    std = torch.tensor([0.2686, 0.2613, 0.2758], device=args.device).view(1, 3, 1, 1)
    batch = torch.randn(args.clip_batch, 3, 224, 224, device=args.device, dtype=dtype)

    @torch.inference_mode()
    def model_only():
        return model.encode_image(batch)

    @torch.inference_mode()
    def end_to_end():
        for start in range(0, len(jpegs), args.clip_batch):
            chunk = jpegs[start : start + args.clip_batch]
            if args.device.startswith("cuda"):
                import torchvision

                decoded = torchvision.io.decode_jpeg([torch.frombuffer(bytearray(d), dtype=torch.uint8)
                                                      for d in chunk], device=args.device)
            else:
                decoded = [torch.from_numpy(np.array(draft_decode(d, 224))).permute(2, 0, 1) for d in chunk]
            pixels = torch.stack([torch.nn.functional.interpolate(image[None].float(), size=(224, 224),
                                                                  mode="bilinear", antialias=True)[0]
                                  for image in decoded]) / 255.0
            vectors = model.encode_image(((pixels - mean) / std).to(dtype))
            torch.nn.functional.normalize(vectors.float(), dim=-1).half().cpu()

    return {"model_only": best_rate(model_only, args.clip_batch, args.device),
            "end_to_end": best_rate(end_to_end, len(jpegs), args.device, rounds=2)}


def build_vl(folder: Path, args) -> str:
    """A random Qwen3-VL of the 2B's shape (or tiny, --smoke), with the tiny tokenizer, on disk."""
    from workers.ml.testing import build_random_qwen_vl

    if args.smoke:
        return build_random_qwen_vl(folder, max_pixels=args.max_pixels)
    return build_random_qwen_vl(folder, text=QWEN3_VL_2B_TEXT, vision=QWEN3_VL_2B_VISION, vocab_size=VOCAB,
                                dtype=torch.bfloat16, max_pixels=args.max_pixels)


def build_text(folder: Path, args, causal: bool) -> str:
    from workers.ml.testing import build_random_qwen

    model_class = "Qwen3ForCausalLM" if causal else "Qwen3Model"
    if args.smoke:
        return build_random_qwen(folder, model_class)
    return build_random_qwen(folder, model_class, shape=QWEN3_06B, vocab_size=VOCAB, dtype=torch.bfloat16)


def vl_rates(args, jpegs: list[bytes], folder: str) -> dict[str, float]:
    from workers.ml.qwen_vl_embed import QwenVLEmbedder

    model = QwenVLEmbedder(folder, device=args.device, local_files_only=True, max_pixels=args.max_pixels,
                           batch_size=16).load()
    side = model.image_size
    sample = jpegs[: args.vl_images]
    pictures = [model.preprocess(draft_decode(d, side)) for d in sample]
    return {"model_only": best_rate(lambda: model.encode_images(pictures), len(pictures), args.device, rounds=2),
            "end_to_end": best_rate(lambda: model.encode_images([draft_decode(d, side) for d in sample]),
                                    len(pictures), args.device, rounds=2)}


def rerank_latencies(args, text_folder: str, vl_folder: str, jpegs: list[bytes]) -> dict[str, tuple[float, float]]:
    from workers.ml.qwen_rerank import QwenReranker
    from workers.ml.qwen_vl_rerank import QwenVLReranker

    text = QwenReranker(text_folder, device=args.device, local_files_only=True, batch_size=args.candidates).load()
    documents = [padded_text(text._tokenizer, args.document_tokens, seed) for seed in range(args.candidates)]
    query = padded_text(text._tokenizer, args.query_tokens, 999)
    found = {"text": latencies(lambda: text.score(query, documents), args.device, args.repeats)}
    vl = QwenVLReranker(vl_folder, device=args.device, local_files_only=True, max_pixels=args.max_pixels,
                        batch_size=16).load()
    side = vl.image_size
    pictures = [draft_decode(jpegs[i % len(jpegs)], side) for i in range(args.candidates)]
    for count in sorted({args.candidates, min(30, args.candidates)}):
        found[f"vl_{count}"] = latencies(lambda n=count: vl.score(query, documents[:n], pictures=pictures[:n]),
                                         args.device, max(3, args.repeats // 4))
    return found


def query_latencies(args, folder: str) -> dict[str, tuple[float, float]]:
    from workers.ml.qwen_embed import QwenEmbedder

    model = QwenEmbedder(folder, device=args.device, local_files_only=True).load()
    query = padded_text(model._tokenizer, args.query_tokens, 7)
    found = {"eager": latencies(lambda: model.encode_queries([query]), args.device, args.repeats)}
    if args.device.startswith("cuda") and not args.smoke:
        try:  # a first try at the goal; a failure here is a figure too, not the end of the run
            model._model.forward = torch.compile(model._model.forward, mode="reduce-overhead", dynamic=False)
            found["compiled"] = latencies(lambda: model.encode_queries([query]), args.device, args.repeats)
        except Exception as exc:
            print(f"torch.compile of the query encoder failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here; use --device cpu (with --smoke)", file=sys.stderr)
        return 2
    size = (400, 300) if args.smoke else (4000, 3000)
    started = time.perf_counter()
    jpegs = photos(args.images, size)
    rows: list[list[str]] = []
    for name, value in decode_rates(args, jpegs).items():
        rows.append([f"decode 12-MP JPEG, {name.replace('_', ' ')}", f"{value:,.0f} img/s", ""])
    clip = clip_rates(args, jpegs)
    rows.append([f"ViT-B-32 model only ({'fp16' if args.device.startswith('cuda') else 'fp32'})",
                 f"{clip['model_only']:,.0f} img/s", ""])
    rows.append(["ViT-B-32 end to end (decode, resize, encode, vectors to host)", f"{clip['end_to_end']:,.0f} img/s",
                 f"{clip['end_to_end'] / clip['model_only']:.2f}x model only; goal 1,000 img/s"])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        vl_folder = build_vl(root / "vl", args)
        vl = vl_rates(args, jpegs, vl_folder)
        rows.append(["Qwen3-VL-Embedding-2B shape, model only (bf16)", f"{vl['model_only']:,.1f} img/s", ""])
        rows.append(["Qwen3-VL-Embedding-2B shape, end to end from JPEG", f"{vl['end_to_end']:,.1f} img/s",
                     f"{vl['end_to_end'] / vl['model_only']:.2f}x model only"])
        reranks = rerank_latencies(args, build_text(root / "rerank", args, causal=True), vl_folder, jpegs)
        for name, (p50, p95) in reranks.items():
            what = (f"Qwen3-Reranker-0.6B shape, {args.candidates} texts" if name == "text"
                    else f"Qwen3-VL-Reranker-2B shape, {name.removeprefix('vl_')} pictures + texts")
            rows.append([f"rerank: {what}", f"p50 {p50:.1f} ms, p95 {p95:.1f} ms",
                         "goal p95 50 ms" if name == "text" else ""])
        for name, (p50, p95) in query_latencies(args, build_text(root / "embed", args, causal=False)).items():
            rows.append([f"query: Qwen3-Embedding-0.6B shape, one query, {name}", f"p50 {p50:.1f} ms, p95 {p95:.1f} ms",
                         "goal 10 ms"])
    info = common.machine_info(args.device)
    body = (f"- command: `bench/gpu_figures.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n"
            f"- {args.images} photos of {size[0]}x{size[1]}; pictures held to {args.max_pixels} pixels; "
            f"random weights of the published shapes{' (tiny: --smoke)' if args.smoke else ''}; "
            f"{time.perf_counter() - started:.0f} s in all\n\n"
            + common.markdown_table(["step", "figure", "against"], rows) + "\n")
    section = common.heading(SCRIPT, info)
    print(section + "\n\n" + body)
    if args.out:
        args.out.write_text(section + "\n\n" + body)
    if not args.no_append:
        common.append_section(section, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
