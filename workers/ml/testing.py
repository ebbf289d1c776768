"""Tiny random models written to a local folder, for tests and smoke runs: no download, ever.

They are loaded through exactly the code real weights go through (open_clip config + checkpoint,
transformers ``from_pretrained`` of a local folder), so a test that passes with them exercises
the real loading paths. Their vectors mean nothing, but they are deterministic for a given seed.

    env = tiny_model_env(tmp_path)     # every kind; returns MEDIAVAULT_* variables
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    registry.reset_registry()
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

TINY_CLIP_NAME = "tiny-clip"
# open_clip's default tokenizer has 49408 ids, so the text tower keeps that vocabulary; the rest is
# as small as the architecture allows (2 heads of 32, 2 layers, 32x32 images in 4 patches).
TINY_CLIP_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
TINY_QWEN_HIDDEN = 32

# Special tokens the Qwen prompts use; "yes" and "no" must come out of training as single tokens.
_QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_QWEN_ADDED = ["<think>", "</think>"]
_QWEN_VL_SPECIALS = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
# Qwen3-VL's chat format for what MediaVault sends (system, user and assistant turns of text and
# pictures); the real models' templates say the same for these messages.
QWEN_VL_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif part['type'] == 'text' %}{{ part['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_QWEN_CORPUS = [
    'Judge whether the Document meets the requirements based on the Query and the Instruct provided. '
    'Note that the answer can only be "yes" or "no".',
    "<Instruct>: Given a web search query, retrieve relevant passages that answer the query",
    "<Query>: red kayak on a lake\n<Document>: a red kayak floating on a calm mountain lake",
    "Instruct: Given a product search query\nQuery:IMG_5195 blue bicycle",
    "a photo of a dog running on the beach at sunset",
    "the quick brown fox jumps over the lazy dog",
    "yes", "no", "yes no", "no yes",
]


def build_tiny_clip(directory: str | Path, *, seed: int = 0) -> dict[str, str]:
    """Write a tiny open_clip model; returns the MEDIAVAULT_CLIP_* variables that load it.

    The folder holds ``tiny-clip.json`` (architecture, for MEDIAVAULT_CLIP_CONFIG), the weights
    ``open_clip_pytorch_model.bin`` (a plain ``torch.save`` of the state dict) and
    ``open_clip_config.json``, so ``local-dir:<folder>`` loads the same model too.
    """
    import open_clip

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / f"{TINY_CLIP_NAME}.json"
    config_path.write_text(json.dumps(TINY_CLIP_CONFIG, indent=2))
    bundle = {"model_cfg": TINY_CLIP_CONFIG, "preprocess_cfg": {}}
    (folder / "open_clip_config.json").write_text(json.dumps(bundle))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = open_clip.CLIP(**TINY_CLIP_CONFIG)
    checkpoint = folder / "open_clip_pytorch_model.bin"
    torch.save(model.state_dict(), checkpoint)
    return {
        "MEDIAVAULT_CLIP_MODEL": TINY_CLIP_NAME,
        "MEDIAVAULT_CLIP_CONFIG": str(config_path),
        "MEDIAVAULT_CLIP_PRETRAINED": str(checkpoint),
    }


def build_tiny_qwen_tokenizer(directory: str | Path, *, vision: bool = False) -> Any:
    """A byte-level BPE tokenizer shaped like Qwen's (pad = <|endoftext|>, appended to every text);
    `vision`: also Qwen3-VL's picture tokens and a chat template, nothing appended (the
    vision-language models read a chat prompt as it is)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=_QWEN_SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_QWEN_CORPUS * 5, trainer)
    tokenizer.add_tokens(_QWEN_ADDED)
    if vision:
        tokenizer.add_special_tokens(_QWEN_VL_SPECIALS)
    else:
        end = tokenizer.token_to_id("<|endoftext|>")
        # Qwen3-Embedding's tokenizer appends <|endoftext|> itself; the pooled vector is read there.
        tokenizer.post_processor = processors.TemplateProcessing(
            single="$A <|endoftext|>", pair="$A $B <|endoftext|>", special_tokens=[("<|endoftext|>", end)]
        )
    for word in ("yes", "no"):
        if tokenizer.token_to_id(word) is None:
            raise RuntimeError(f"tiny tokenizer did not learn {word!r} as one token")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        **({"chat_template": QWEN_VL_CHAT_TEMPLATE} if vision else {}),
    )
    fast.save_pretrained(directory)
    return fast


def _tiny_qwen_config(tokenizer: Any) -> Any:
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=TINY_QWEN_HIDDEN,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        max_position_embeddings=1024,
        # Wider than the default 0.02 so random logits differ visibly between inputs.
        initializer_range=0.2,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )


def build_random_qwen(directory: str | Path, model_class_name: str, *, seed: int = 0, shape: dict | None = None,
                      vocab_size: int | None = None, dtype: torch.dtype | None = None) -> str:
    """A random Qwen3 text model (`model_class_name` of transformers) with the tiny tokenizer: tiny
    by default, or of another `shape` (Qwen3Config fields; the benchmarks' published shapes), with
    an embedding table of `vocab_size` rows; returns the folder."""
    import transformers

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_qwen_tokenizer(folder)
    config = _tiny_qwen_config(tokenizer)
    for name, value in {**(shape or {}), **({"vocab_size": vocab_size} if vocab_size else {})}.items():
        setattr(config, name, value)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = getattr(transformers, model_class_name)(config)
    (model if dtype is None else model.to(dtype)).save_pretrained(folder)
    return str(folder)


def build_tiny_qwen_embedding(directory: str | Path, *, seed: int = 0) -> str:
    """A tiny Qwen3 base model (what AutoModel loads) with its tokenizer; returns the folder."""
    return build_random_qwen(directory, "Qwen3Model", seed=seed)


def build_tiny_qwen_reranker(directory: str | Path, *, seed: int = 0) -> str:
    """A tiny Qwen3 causal LM (what AutoModelForCausalLM loads) with its tokenizer; returns the folder."""
    return build_random_qwen(directory, "Qwen3ForCausalLM", seed=seed)


_TINY_VL_VISION = {"depth": 2, "hidden_size": TINY_QWEN_HIDDEN, "intermediate_size": 64, "num_heads": 2,
                   "num_position_embeddings": 64, "deepstack_visual_indexes": [0], "initializer_range": 0.2}


def build_tiny_qwen_vl(directory: str | Path, *, seed: int = 0, hidden: int = TINY_QWEN_HIDDEN) -> str:
    """A tiny random Qwen3-VL (``Qwen3VLForConditionalGeneration``: a 2-layer vision tower of 16 px
    patches merged 2x2, a 2-layer text model) with its processor (tokenizer, image processor,
    chat template), as ``AutoProcessor`` / ``AutoModelForImageTextToText`` load a hub folder of
    Qwen3-VL-2B-Instruct, -Embedding or -Reranker; returns the folder. `hidden`: the text model's
    width (the vectors' native size), e.g. wider than pgvector's HNSW limit like the 8B's 4,096."""
    return build_random_qwen_vl(directory, seed=seed, text={"hidden_size": hidden})


def build_random_qwen_vl(directory: str | Path, *, seed: int = 0, text: dict | None = None,
                         vision: dict | None = None, vocab_size: int | None = None,
                         dtype: torch.dtype | None = None, max_pixels: int = 256 * 256) -> str:
    """A random Qwen3-VL with its processor: tiny, with `text` and `vision` overriding the text and
    vision configs' fields (the benchmarks give the published shapes), an embedding table of
    `vocab_size` rows, weights in `dtype`, and an image processor bounded to `max_pixels`."""
    import transformers

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_qwen_tokenizer(folder, vision=True)
    ids = {name: tokenizer.convert_tokens_to_ids(token) for name, token in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"))}
    tiny = _tiny_qwen_config(tokenizer).to_dict()
    text_config = {key: tiny[key] for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                              "num_attention_heads", "num_key_value_heads", "head_dim",
                                              "max_position_embeddings", "initializer_range", "pad_token_id",
                                              "eos_token_id")}
    text_config.update(text or {}, **({"vocab_size": vocab_size} if vocab_size else {}))
    # Multimodal rotary positions: the head's frequency pairs split over time, height and width as
    # the published models split them (24/20/20 of 64; 2/1/1 of the tiny model's 4).
    half = text_config["head_dim"] // 2
    side = half * 5 // 16
    text_config["rope_parameters"] = {"rope_type": "default", "rope_theta": 5_000_000.0,
                                      "mrope_section": [half - 2 * side, side, side], "mrope_interleaved": True}
    vision_config = {**_TINY_VL_VISION, **(vision or {}), "patch_size": 16, "spatial_merge_size": 2,
                     "temporal_patch_size": 2, "out_hidden_size": text_config["hidden_size"]}
    config = transformers.Qwen3VLConfig(text_config=text_config, vision_config=vision_config,
                                        tie_word_embeddings=False, **ids)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = transformers.Qwen3VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = [tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.pad_token_id]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    (model if dtype is None else model.to(dtype)).save_pretrained(folder)
    # Real Qwen3-VL folders' image processor: 16 px patches, 2x2 merge, CLIP's mean and std.
    images = transformers.Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2,
                                                size={"shortest_edge": 32 * 32, "longest_edge": max_pixels},
                                                image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    videos = transformers.Qwen3VLVideoProcessor(patch_size=16, merge_size=2, temporal_patch_size=2)
    transformers.Qwen3VLProcessor(image_processor=images, tokenizer=tokenizer, video_processor=videos,
                                  chat_template=QWEN_VL_CHAT_TEMPLATE).save_pretrained(folder)
    return str(folder)


def tiny_model_env(directory: str | Path, *, seed: int = 0) -> dict[str, str]:
    """Build a tiny model of every kind under ``directory``; the MEDIAVAULT_* variables that select them."""
    root = Path(directory)
    return model_env(
        build_tiny_clip(root / "clip", seed=seed),
        build_tiny_qwen_embedding(root / "qwen-embed", seed=seed),
        build_tiny_qwen_reranker(root / "qwen-rerank", seed=seed),
        multimodal_model=build_tiny_qwen_vl(root / "qwen-vl", seed=seed),
    )


def model_env(clip_env: dict[str, str], text_model: str, rerank_model: str, *,
              multimodal_model: str = "") -> dict[str, str]:
    """MEDIAVAULT_* variables for already built models, on CPU (the multimodal kind only when given).

    Profile ``full`` so that a broken tiny model fails loudly instead of falling back to MiniLM.
    """
    return {
        "MEDIAVAULT_MODEL_PROFILE": "full",
        "MEDIAVAULT_DEVICE": "cpu",
        **clip_env,
        "MEDIAVAULT_TEXT_MODEL": text_model,
        **({"MEDIAVAULT_MULTIMODAL_MODEL": multimodal_model} if multimodal_model else {}),
        "MEDIAVAULT_RERANK_MODEL": rerank_model,
    }
