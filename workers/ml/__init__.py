"""Model layer of the embedding workers: CLIP, Qwen3 embedding and reranking, MiniLM fallback.

Everything here runs in worker processes only (web processes never import torch). Start at
``registry.get_model(kind)``; the environment variables are documented in ``config``.
Importing this package is cheap: torch and friends load with the modules that need them.
"""
