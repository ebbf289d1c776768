"""The one exception callers need to handle; kept free of torch so web code can import it."""


class ModelUnavailable(RuntimeError):
    """A model cannot be loaded here (missing weights, no network, no CUDA...).

    Callers skip the step the model serves and report the signal as degraded; ``reason`` is
    meant for people, so it names what is missing and what to set.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
