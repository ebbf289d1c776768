"""Latin letters lose their diacritics in the analyzer (search.analyzer.normalize): documents
indexed before hold "zürich" where queries now ask for "zurich", so every document whose tokens
changed is written again here, its identifier keys and file-name trigrams with it. Documents
without such letters keep their token hash and are left alone.

A fresh database has no documents and skips the loop (it never imports today's models then).
"""

from django.db import migrations


def fold_latin(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM search_document)")
        if not cursor.fetchone()[0]:
            return
    from search.indexing import reindex_all

    reindex_all(rewrite=False)


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0008_label_plurals"),
        ("assets", "0010_model_switches"),
    ]

    operations = [migrations.RunPython(fold_latin, migrations.RunPython.noop)]
