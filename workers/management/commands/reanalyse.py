"""python manage.py reanalyse [--analyser NAME ...] [--only-missing]

Runs the analysers again over ready assets, in this process with a progress bar, through the same
claims and findings as the workers. --only-missing takes the assets that have no finding of the
chosen analysers from their current model (after a model changed, only that analyser's work is
redone); --analyser limits the run to those analysers.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Exists, OuterRef
from tqdm import tqdm

from assets.models import Analysis, Asset, Status


class Command(BaseCommand):
    help = "Run the analysers (detected text, labels, faces, colours, place, dates) over ready assets again."

    def add_arguments(self, parser):
        parser.add_argument("--analyser", action="append", dest="names", help="only this analyser (repeatable)")
        parser.add_argument("--only-missing", action="store_true",
                            help="only assets without a finding of the analyser's current model")
        parser.add_argument("--batch-size", type=int, default=8)

    def handle(self, *args, names=None, only_missing=False, batch_size=8, **options):
        from workers.analysis import analyse_now, load_analyser
        from workers.ml import analysers
        from workers.ml.errors import ModelUnavailable

        known = analysers.enabled()
        names = names or known
        unknown = sorted(set(names) - set(analysers.ANALYSERS))
        if unknown:
            raise CommandError(f"unknown analyser(s): {', '.join(unknown)}; known: {', '.join(analysers.ANALYSERS)}")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        assets = Asset.objects.alive().filter(status=Status.READY)
        if only_missing:
            missing = None
            for name in names:
                try:
                    model_id = load_analyser(name).model_id
                except ModelUnavailable as exc:
                    self.stdout.write(f"skipped {name}: {exc.reason}")
                    continue
                current = Analysis.objects.filter(asset=OuterRef("pk"), analyser=name, model_id=model_id, error="")
                lacking = ~Exists(current)
                missing = lacking if missing is None else missing | lacking
            assets = assets.filter(missing) if missing is not None else assets.none()
        ids = list(assets.order_by("pk").values_list("pk", flat=True))
        totals = {"findings": 0, "errors": 0}
        skipped: dict[str, str] = {}
        with tqdm(total=len(ids), unit="asset", desc="reanalyse", file=self.stderr) as bar:
            for start in range(0, len(ids), batch_size):
                batch = ids[start : start + batch_size]
                report = analyse_now(batch, names)
                totals["findings"] += report.findings
                totals["errors"] += report.errors
                skipped.update(report.skipped)
                bar.update(len(batch))
        for name, reason in skipped.items():
            self.stdout.write(f"skipped {name}: {reason}")
        found, errors = totals["findings"], totals["errors"]
        self.stdout.write(f"reanalyse: {len(ids)} asset(s), {found} finding(s), {errors} error(s)")
