"""Date words: the month, the season and the year a photo was taken, so "summer 2019" or
"October 2008" find it, and the part of the day ("morning", "night") by the clock where it was
taken. The season follows the hemisphere of its GPS position when it has one (northern
otherwise); seasons are meteorological (December to February is winter in the north).

The part of the day reads the camera's own clock: EXIF's DateTimeOriginal is the wall-clock time
where the photo was taken, kept with its offset (when the camera wrote one) as ``exif["taken_at"]``,
whereas the stored ``taken_at`` is an instant (shown in UTC). A video's or a PDF's date is the
container's UTC time, with no wall clock to read, so those get no part of the day. Month, season
and year stay those of ``taken_at``, the instant the date filters ("October 2008") compare with,
so a word never disagrees with the filter of the same name."""

from __future__ import annotations

import datetime as dt

from workers.ml.analysers.base import Analyser, Result, Subject

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
NORTHERN = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring", 6: "summer", 7: "summer",
            8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}
SOUTHERN = {"winter": "summer", "spring": "autumn", "summer": "winter", "autumn": "spring"}
# (first hour, name): the everyday parts of the day, night from 21:00 to 04:59.
PARTS_OF_DAY = ((5, "morning"), (12, "afternoon"), (17, "evening"), (21, "night"))


class DateWords(Analyser):
    name = "dates"
    needs_image = False

    @property
    def model_id(self) -> str:
        return "dates-v2"

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
        hour = wall_clock_hour(subject.exif)
        part = part_of_day(hour) if hour is not None else ""
        words = [MONTHS[taken.month - 1], season, "fall" if season == "autumn" else "", str(taken.year), part]
        data = {"month": taken.month, "season": season, "year": taken.year,
                "hemisphere": "southern" if south else "northern"}
        if part:
            data.update(hour=hour, part_of_day=part)
        return Result(" ".join(word for word in words if word), data)


def wall_clock_hour(exif: dict) -> int | None:
    """The hour on the camera's clock, from the EXIF date ingest kept; None without one."""
    text = exif.get("taken_at") if isinstance(exif, dict) else None
    if not isinstance(text, str):
        return None
    try:
        taken = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    # Midnight to the second is a date with no time of day (a camera whose clock was never set
    # starts at 00:00:00), far likelier than a photo taken at that very second.
    return None if taken.time() == dt.time(0) else taken.hour


def part_of_day(hour: int) -> str:
    names = [name for first, name in PARTS_OF_DAY if hour >= first]
    return names[-1] if names else PARTS_OF_DAY[-1][1]
