"""The words of labels and of the faces finding are indexed with their plurals (search.analyzer
field_analyze): documents indexed before hold "mountain" but not "mountains", so every document
whose tokens changed is written again here; documents without such fields are left alone.
"""

from django.db import migrations

from search.migrations._reindex import rewrite_changed_documents as add_plurals


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0007_identifiers_and_names"),
        ("assets", "0010_model_switches"),
    ]

    operations = [migrations.RunPython(add_plurals, migrations.RunPython.noop)]
