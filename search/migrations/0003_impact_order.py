"""Postings laid out for MaxScore over long lists (search.bm25).

- search_posting_impact: each term's postings in impact order, covering (asset_id, tf, dl). A
  posting's BM25 contribution is weight * tf / (tf + k1 * (1 - b + b * dl / avgdl)); avgdl moves
  with every write, so the index orders by that expression with avgdl fixed at a reference
  length (search_impact). Its first entry gives, in one probe, the most any document can gain
  from a term (search.bm25 widens it for the current avgdl), which is what lets MaxScore leave a
  long list unread. It also serves whole posting lists, as the (term, asset) index did: that
  index goes.
- The primary key (asset_id, term) INCLUDEs tf and dl, so scoring one candidate document over the
  query's terms is one index-only probe instead of one per term.

The constants in search_impact must equal K1, B and IMPACT_REFERENCE_LENGTH in search/bm25.py
(a test checks).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION search_impact(tf integer, dl integer) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN tf::float8 / (tf + 1.2::float8 * (1 - 0.75::float8) + 1.2::float8 * 0.75::float8 * dl / 24);
CREATE INDEX search_posting_impact ON search_posting (term, search_impact(tf, dl) DESC) INCLUDE (asset_id, tf, dl);
DROP INDEX search_posting_term_cover;
ALTER TABLE search_posting DROP CONSTRAINT search_posting_pkey;
ALTER TABLE search_posting ADD CONSTRAINT search_posting_pkey PRIMARY KEY (asset_id, term) INCLUDE (tf, dl);
"""

REVERSE = """
ALTER TABLE search_posting DROP CONSTRAINT search_posting_pkey;
ALTER TABLE search_posting ADD CONSTRAINT search_posting_pkey PRIMARY KEY (asset_id, term);
CREATE INDEX search_posting_term_cover ON search_posting (term, asset_id) INCLUDE (tf, dl);
DROP INDEX search_posting_impact;
DROP FUNCTION search_impact(integer, integer);
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0002_triggers")]

    operations = [
        migrations.RunSQL(
            FORWARD,
            REVERSE,
            state_operations=[migrations.RemoveIndex(model_name="posting", name="search_posting_term_cover")],
        )
    ]
