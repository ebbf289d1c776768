"""The words of labels and of the faces finding are indexed with their plurals (search.analyzer
field_analyze): documents indexed before hold "mountain" but not "mountains", so every document
whose tokens changed is written again here. Documents without such fields keep their token hash
and are left alone (a hash comparison per document, no write).

A fresh database has no documents and skips the loop (it never imports today's models then).
"""

from django.db import migrations

BATCH = 1000


def add_plurals(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM search_document)")
        if not cursor.fetchone()[0]:
            return
    from search.indexing import index_assets

    last = 0
    while True:
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT asset_id FROM search_document WHERE asset_id > %s ORDER BY asset_id LIMIT %s",
                           [last, BATCH])
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return
        index_assets(ids)
        last = ids[-1]


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0007_identifiers_and_names"),
        ("assets", "0010_model_switches"),
    ]

    operations = [migrations.RunPython(add_plurals, migrations.RunPython.noop)]
