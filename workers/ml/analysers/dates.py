"""Date words: the month, the season and the year a photo was taken, so "summer 2019" or
"October 2008" find it. The season follows the hemisphere of its GPS position when it has one
(northern otherwise); seasons are meteorological (December to February is winter in the north)."""

from __future__ import annotations

from workers.ml.analysers.base import Analyser, Result, Subject

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
NORTHERN = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring", 6: "summer", 7: "summer",
            8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}
SOUTHERN = {"winter": "summer", "spring": "autumn", "summer": "winter", "autumn": "spring"}


class DateWords(Analyser):
    name = "dates"
    needs_image = False

    @property
    def model_id(self) -> str:
        return "dates-v1"

    def analyse(self, subjects: list[Subject]) -> list[Result]:
        return [self._one(subject) for subject in subjects]

    def _one(self, subject: Subject) -> Result:
        taken = subject.taken_at
        if taken is None:
            return Result("", {})
        season = NORTHERN[taken.month]
        south = subject.latitude is not None and subject.latitude < 0
        if south:
            season = SOUTHERN[season]
        words = [MONTHS[taken.month - 1], season, "fall" if season == "autumn" else "", str(taken.year)]
        data = {"month": taken.month, "season": season, "year": taken.year,
                "hemisphere": "southern" if south else "northern"}
        return Result(" ".join(word for word in words if word), data)
