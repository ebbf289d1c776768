"""python manage.py verify_storage [--no-checksums] [--remove-orphans]

Compares the blob rows with what storage holds: files missing from storage, files whose bytes
are not their row's (checksum), orphan files no row names, and rows nothing uses. Exits with
status 1 when something is wrong (missing or damaged files, or orphans older than the grace
period: younger ones may be uploads in flight and are only listed).
"""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from assets.actions import blobs
from assets.models import Blob


class Command(BaseCommand):
    help = "Check stored files against their rows: missing files, orphans and checksum mismatches."

    def add_arguments(self, parser):
        parser.add_argument("--no-checksums", action="store_true", help="only check that files exist (fast)")
        parser.add_argument("--remove-orphans", action="store_true",
                            help="then delete orphan files and unused rows past the grace period")

    def handle(self, *args, no_checksums=False, remove_orphans=False, **options):
        with tqdm(total=Blob.objects.count(), unit="file", desc="verifying", file=self.stderr) as bar:
            report = blobs.verify(checksums=not no_checksums, progress=lambda _: bar.update(1))
        sections = [
            ("missing from storage", report.missing),
            ("checksum mismatch", report.mismatched),
            ("orphan files (no row, past the grace period)", report.orphans),
            ("recent orphan files (maybe uploads in flight)", report.recent_orphans),
            ("rows no asset or rendition uses", report.unreferenced),
        ]
        for title, names in sections:
            if names:
                self.stdout.write(f"{title}: {len(names)}")
                for name in names[:50]:
                    self.stdout.write(f"  {name}")
                if len(names) > 50:
                    self.stdout.write(f"  … and {len(names) - 50} more")
        checked = "existence" if no_checksums else "existence and checksums"
        self.stdout.write(f"checked {report.checked} stored file(s) ({checked}): {'OK' if report.ok else 'PROBLEMS'}")
        if remove_orphans:
            removed = blobs.remove_orphans()
            self.stdout.write(f"removed {removed['files']} orphan file(s) and {removed['blobs']} unused row(s)")
        if not report.ok:
            raise SystemExit(1)
