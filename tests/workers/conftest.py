import pytest

from workers.ml import registry


@pytest.fixture
def tiny_models_in_process(worker_model_env, monkeypatch):
    """The test worker's models (tiny CLIP, MiniLM, tiny reranker), loaded in this process."""
    for name, value in worker_model_env.items():
        monkeypatch.setenv(name, value)
    registry.reset_registry()
    yield
    registry.reset_registry()
