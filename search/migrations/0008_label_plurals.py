"""The words of labels and of the faces finding are indexed with their plurals (search.analyzer
field_analyze): documents indexed before hold "mountain" but not "mountains", so every document
whose tokens changed is written again here. Documents without such fields keep their token hash
and are left alone (a hash comparison per document, no write).

A fresh database has no documents and skips the loop (it never imports today's models then).
"""

from django.db import migrations


def add_plurals(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM search_document)")
        if not cursor.fetchone()[0]:
            return
    from search.indexing import reindex_all

    reindex_all(rewrite=False)


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0007_identifiers_and_names"),
        ("assets", "0010_model_switches"),
    ]

    operations = [migrations.RunPython(add_plurals, migrations.RunPython.noop)]
