"""Bulk import from disk: files and zip archives become assets of one owner, safely re-runnable.

    python manage.py import_media PATH [PATH ...] [--owner USER] [--team SLUG]
        [--visibility private|team|organisation] [--tags a,b] [--recursive]

Every file goes through the same validation as an upload (actions.upload_many); files already
imported by that owner count as duplicates, so an interrupted import can simply be run again.
Rejected files are reported one line each and do not make the command fail.
"""

from __future__ import annotations

import sys
import unicodedata
from collections import Counter
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from assets import actions
from assets.errors import RejectedUpload
from assets.models import Team, Visibility
from assets.tags import normalise_tags


def _printable(text: str) -> str:
    """File names on disk may hold control or bidi characters; never echo them raw to a terminal."""
    return "".join(
        ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _hidden(path: Path) -> bool:
    return path.name.startswith(".")


class Command(BaseCommand):
    help = "Import image files and zip archives from disk as assets (safe to re-run: known files are duplicates)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories to import")
        parser.add_argument("--owner", help="username of the owner (default: the only superuser)")
        parser.add_argument("--team", help="slug of the team to file the assets under")
        parser.add_argument("--visibility", choices=Visibility.values, default=Visibility.PRIVATE)
        parser.add_argument("--tags", default="", help="comma-separated tags for every imported asset")
        parser.add_argument("--recursive", action="store_true", help="descend into sub-directories")

    def handle(self, *args, **options) -> None:
        owner = self._owner(options["owner"])
        options_for_assets = self._asset_options(owner, options)
        files = self._collect([Path(p) for p in options["paths"]], options["recursive"])

        counts: Counter[str] = Counter()
        stdout = getattr(self.stdout, "_out", sys.stdout)
        stderr = getattr(self.stderr, "_out", sys.stderr)
        with tqdm(files, desc="importing", unit="file", file=stderr, dynamic_ncols=True) as bar:
            for path in bar:
                for status, shown, reason in self._import_one(owner, path, options_for_assets):
                    counts[status] += 1
                    if status == "rejected":
                        tqdm.write(f"rejected {_printable(shown)}: {_printable(reason)}", file=stdout)
                bar.set_postfix(created=counts["created"], duplicates=counts["duplicate"], rejected=counts["rejected"])

        self.stdout.write(
            f"created {counts['created']}, duplicates {counts['duplicate']}, rejected {counts['rejected']}"
        )

    # --- arguments ------------------------------------------------------------------------

    def _owner(self, username: str | None):
        users = get_user_model().objects
        if username:
            try:
                owner = users.get(username=username)
            except users.model.DoesNotExist:
                raise CommandError(f"no user named {username!r}") from None
        else:
            superusers = list(users.filter(is_superuser=True, is_active=True)[:2])
            if len(superusers) != 1:
                found = "no superuser" if not superusers else "more than one superuser"
                raise CommandError(f"there is {found}; say who owns the files with --owner USERNAME")
            owner = superusers[0]
        if not owner.is_active:
            raise CommandError(f"user {owner.get_username()!r} is not active")
        return owner

    def _asset_options(self, owner, options) -> actions.AssetOptions:
        team = None
        if options["team"]:
            try:
                team = Team.objects.get(slug=options["team"])
            except Team.DoesNotExist:
                raise CommandError(f"no team with slug {options['team']!r}") from None
        try:
            tags = normalise_tags(options["tags"])
        except ValueError as exc:
            raise CommandError(f"--tags: {exc}") from None
        asset_options = actions.AssetOptions(tags=tags, team=team, visibility=options["visibility"])
        try:
            actions.check_options(owner, asset_options)
        except RejectedUpload as exc:
            raise CommandError(exc.reason) from None
        return asset_options

    def _collect(self, roots: list[Path], recursive: bool) -> list[Path]:
        files: list[Path] = []
        seen: set[Path] = set()
        for root in roots:
            if root.is_file():
                found = [root]
            elif root.is_dir():
                pattern = root.rglob("*") if recursive else root.iterdir()
                found = sorted(
                    p for p in pattern
                    if p.is_file() and not _hidden(p) and not any(_hidden(d) for d in p.relative_to(root).parents[:-1])
                )
            else:
                raise CommandError(f"no such file or directory: {root}")
            for path in found:
                key = path.resolve()
                if key not in seen:
                    seen.add(key)
                    files.append(path)
        return files

    # --- one file -------------------------------------------------------------------------

    def _import_one(self, owner, path: Path, options: actions.AssetOptions):
        """Yield (status, name shown, reason) for the file, or for each member when it is an archive."""
        try:
            stream = path.open("rb")
        except OSError as exc:
            yield "rejected", str(path), f"cannot read file ({exc.strerror or exc})"
            return
        with stream:
            for result in actions.upload_many(owner, [(path.name, stream)], options):
                # result.filename is the file's own name or "archive.zip/member"; show where it lives.
                yield result.status, str(path.parent / result.filename), result.reason
