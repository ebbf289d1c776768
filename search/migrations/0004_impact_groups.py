"""The impact index ordered on to (tf, dl, asset_id) after the impact, so each (tf, dl) group of a
term's postings is one index range in id order: search.bm25 takes the smallest visible ids of a
group when a long list has to fill the page (an identifier query's "img")."""

from django.db import migrations

FORWARD = """
DROP INDEX search_posting_impact;
CREATE INDEX search_posting_impact ON search_posting (term, search_impact(tf, dl) DESC, tf, dl, asset_id);
"""

REVERSE = """
DROP INDEX search_posting_impact;
CREATE INDEX search_posting_impact ON search_posting (term, search_impact(tf, dl) DESC) INCLUDE (asset_id, tf, dl);
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0003_impact_order")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
