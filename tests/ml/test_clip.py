"""open_clip model: loading from config + checkpoint or local-dir, normalised vectors, batching."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

from workers.ml.clip import ClipModel
from workers.ml.errors import ModelUnavailable
from workers.ml.testing import TINY_CLIP_CONFIG


def _images(n: int) -> list[Image.Image]:
    rng = np.random.default_rng(7)
    sizes = [(50, 40), (32, 32), (80, 60), (33, 70), (64, 64), (90, 45), (40, 40)]
    return [
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)) for w, h in (sizes * 2)[:n]
    ]


def test_vectors_have_the_configured_width_and_unit_length(clip_model):
    images = clip_model.encode_images(_images(3))
    texts = clip_model.encode_texts(["a red kayak on a lake", "IMG_5195", ""])
    width = TINY_CLIP_CONFIG["embed_dim"]
    assert images.shape == (3, width) and texts.shape == (3, width)
    assert images.dtype == np.float32 and texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(images[0], images[1])
    assert not np.allclose(texts[0], texts[1])


def test_preprocess_then_encode_preprocessed_equals_encode_images(clip_model):
    images = _images(4)
    pixels = torch.stack([clip_model.preprocess(image) for image in images])
    assert pixels.shape == (4, 3, clip_model.image_size, clip_model.image_size)
    direct = clip_model.encode_images(images)
    np.testing.assert_allclose(clip_model.encode_preprocessed(pixels), direct, atol=1e-6)


def test_chunked_encoding_equals_one_big_batch(clip_model, tiny_clip_env):
    small = ClipModel(
        tiny_clip_env["MEDIAVAULT_CLIP_MODEL"], tiny_clip_env["MEDIAVAULT_CLIP_PRETRAINED"],
        config_path=tiny_clip_env["MEDIAVAULT_CLIP_CONFIG"], device="cpu", batch_size=2,
    )
    images = _images(5)
    texts = ["one", "two words", "three words here", "four", "five"]
    np.testing.assert_allclose(small.encode_images(images), clip_model.encode_images(images), atol=1e-5)
    np.testing.assert_allclose(small.encode_texts(texts), clip_model.encode_texts(texts), atol=1e-5)
    pixels = torch.stack([clip_model.preprocess(image) for image in images])
    one_batch = clip_model.encode_preprocessed(pixels)
    np.testing.assert_allclose(small.encode_preprocessed(pixels), one_batch, atol=1e-5)


def test_local_dir_schema_loads_the_same_weights(clip_model, tiny_clip_env):
    folder = tiny_clip_env["MEDIAVAULT_CLIP_CONFIG"].rsplit("/", 1)[0]
    bundled = ClipModel(f"local-dir:{folder}", device="cpu")
    assert bundled.pretrained is None  # the folder carries its own weights
    images = _images(2)
    np.testing.assert_allclose(bundled.encode_images(images), clip_model.encode_images(images), atol=1e-6)
    assert bundled.model_id == f"open_clip:local-dir:{folder}"


def test_model_id_names_architecture_and_weights(clip_model, tiny_clip_env):
    assert clip_model.model_id == (
        f"open_clip:{tiny_clip_env['MEDIAVAULT_CLIP_MODEL']}/{tiny_clip_env['MEDIAVAULT_CLIP_PRETRAINED']}"
    )
    assert ClipModel("ViT-B-32", "laion2b_s34b_b79k").model_id == "open_clip:ViT-B-32/laion2b_s34b_b79k"
    assert ClipModel("ViT-B-32", "openai").model_id != ClipModel("ViT-B-32", "laion2b_s34b_b79k").model_id
    assert clip_model.describe()["dim"] == TINY_CLIP_CONFIG["embed_dim"]


def test_different_seeds_give_different_vectors(tmp_path, clip_model):
    from workers.ml.testing import build_tiny_clip

    env = build_tiny_clip(tmp_path, seed=1)
    other = ClipModel(env["MEDIAVAULT_CLIP_MODEL"], env["MEDIAVAULT_CLIP_PRETRAINED"],
                      config_path=env["MEDIAVAULT_CLIP_CONFIG"], device="cpu")
    assert other.model_id != clip_model.model_id
    assert not np.allclose(other.encode_texts(["kayak"]), clip_model.encode_texts(["kayak"]), atol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"model_name": "ViT-B-32", "pretrained": "/nowhere/clip.bin"}, "no such file"),
        ({"model_name": "ViT-B-32", "pretrained": "not-a-tag"}, "neither a checkpoint file nor a pretrained"),
        ({"model_name": "ViT-B-32", "pretrained": None}, "no pretrained weights"),
        ({"model_name": "No-Such-Arch", "pretrained": "x"}, "no model config named"),
        ({"config_path": "/nowhere/tiny.json", "pretrained": "/nowhere/w.bin"}, "no such file"),
        ({"model_name": "local-dir:/nowhere"}, "no open_clip_config.json"),
        # Offline with an empty cache: the default tag's weights cannot be had.
        ({"pretrained": "laion2b_s34b_b79k", "local_files_only": True}, "not in the local cache"),
        ({"model_name": "hf-hub:org/repo", "local_files_only": True}, "local Hugging Face cache"),
    ],
)
def test_unavailable_weights_fail_fast_with_a_reason(kwargs, reason):
    model = ClipModel(device="cpu", **kwargs)
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match=reason):
        model.load()
    assert time.monotonic() - started < 2


def test_config_json_without_architecture_keys_is_refused(tmp_path):
    config = tmp_path / "broken-clip.json"
    config.write_text('{"model_cfg": {}}')
    with pytest.raises(ModelUnavailable, match="embed_dim, vision_cfg and text_cfg"):
        ClipModel(config_path=config, pretrained=str(config), device="cpu").load()
