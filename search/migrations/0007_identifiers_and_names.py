"""Identifier keys and file-name trigrams beside the postings (search.identifiers, search.names).

Both cascade from their document, like the postings, so every path that deletes an asset
deletes them in the same statement. Existing documents get them on their next write, or at
once with `manage.py reindex`.
"""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
ALTER TABLE search_identifier ADD CONSTRAINT search_identifier_document_fk
    FOREIGN KEY (asset_id) REFERENCES search_document (asset_id) ON DELETE CASCADE;
ALTER TABLE search_namegram ADD CONSTRAINT search_namegram_document_fk
    FOREIGN KEY (asset_id) REFERENCES search_document (asset_id) ON DELETE CASCADE;
"""
REVERSE = """
ALTER TABLE search_identifier DROP CONSTRAINT search_identifier_document_fk;
ALTER TABLE search_namegram DROP CONSTRAINT search_namegram_document_fk;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0006_scoped_statistics'),
    ]

    operations = [
        migrations.AddField(
            model_name='document',
            name='name',
            field=models.CharField(db_collation='C', default='', max_length=255),
        ),
        migrations.CreateModel(
            name='Identifier',
            fields=[
                ('pk', models.CompositePrimaryKey('key', 'document', blank=True, editable=False, primary_key=True, serialize=False)),
                ('key', models.CharField(db_collation='C', max_length=64)),
                ('document', models.ForeignKey(db_column='asset_id', db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, to='search.document')),
            ],
        ),
        migrations.CreateModel(
            name='NameGram',
            fields=[
                ('pk', models.CompositePrimaryKey('gram', 'document', blank=True, editable=False, primary_key=True, serialize=False)),
                ('gram', models.CharField(db_collation='C', max_length=3)),
                ('document', models.ForeignKey(db_column='asset_id', db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, to='search.document')),
            ],
        ),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
