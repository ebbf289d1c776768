"""Latin letters lose their diacritics in the analyzer (search.analyzer.normalize): documents
indexed before hold "zürich" where queries now ask for "zurich", so every document whose tokens
changed is written again here, its identifier keys and file-name trigrams with it; documents
without such letters are left alone.
"""

from django.db import migrations

from search.migrations._reindex import rewrite_changed_documents as fold_latin


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0008_label_plurals"),
        ("assets", "0010_model_switches"),
    ]

    operations = [migrations.RunPython(fold_latin, migrations.RunPython.noop)]
