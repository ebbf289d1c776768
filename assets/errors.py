class RejectedUpload(Exception):
    """An upload that cannot become an asset; the message is shown to the person who sent it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
