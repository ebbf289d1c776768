"""The text in the picture is indexed with the words of its runs of words too (search.analyzer
run_together_words): documents indexed before hold "quarterlyharbourreport" but not "harbour", so
every document whose tokens changed is written again here; the others are left alone.
"""

from django.db import migrations

from search.migrations._reindex import rewrite_changed_documents as add_words_of_runs


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0009_latin_folding"),
        ("assets", "0010_model_switches"),
    ]

    operations = [migrations.RunPython(add_words_of_runs, migrations.RunPython.noop)]
