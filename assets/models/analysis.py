from __future__ import annotations

from django.db import models

from assets.models.assets import Asset


class Analysis(models.Model):
    """What one analyser found in one asset (detected text, labels, faces, colours, place, dates).

    Written only by ``assets.actions.pipeline.finish_analysis`` (the machine's result, with the id of
    the model that made it) and by ``assets.actions.editing.correct_analysis`` (a person's
    correction). A correction replaces what search reads and is never overwritten by a later
    analysis; clearing it brings the machine's text back.
    """

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="analyses")
    analyser = models.CharField(max_length=32)
    model_id = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="The analyser's structured output (boxes, scores).")
    text = models.TextField(blank=True, help_text="What search reads of the result.")
    corrected_text = models.TextField(null=True, blank=True, help_text="A person's correction; wins over text.")
    error = models.TextField(blank=True)
    seconds = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "assets"
        constraints = [models.UniqueConstraint(fields=["asset", "analyser"], name="unique_analysis")]
        ordering = ["analyser"]

    def __str__(self) -> str:
        return f"{self.asset_id}:{self.analyser}"

    @property
    def searchable_text(self) -> str:
        return self.text if self.corrected_text is None else self.corrected_text
