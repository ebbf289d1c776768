"""Keyword statistics per visibility scope (search.scopes), kept by the same kind of triggers.

Documents and postings get their scope (postings carry a copy: the df trigger sees only the rows
of its own statement); search_termscope and search_scopestats count per scope what search_term
and search_corpusstats count for everything. The existing index is backfilled from the assets.
"""

from django.db import migrations, models

SCOPE_OF_ASSET = """CASE WHEN a.visibility = 'organisation' THEN 0
                         WHEN a.visibility = 'team' AND a.team_id IS NOT NULL THEN -a.team_id
                         ELSE a.owner_id END"""

FORWARD = f"""
UPDATE search_document d SET scope = {SCOPE_OF_ASSET} FROM assets_asset a WHERE a.id = d.asset_id;
-- The rows' terms do not change: the global df trigger's decrement and increment cancel out.
UPDATE search_posting p SET scope = d.scope FROM search_document d WHERE d.asset_id = p.asset_id AND d.scope <> 0;

INSERT INTO search_scopestats (scope, doc_count, total_length)
    SELECT scope, count(*), sum(length) FROM search_document GROUP BY scope;
INSERT INTO search_termscope (term, scope, df)
    SELECT term, scope, count(*) FROM search_posting GROUP BY term, scope;

CREATE OR REPLACE FUNCTION search_document_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d_count bigint := 0;
    d_length bigint := 0;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT d_count + count(*), d_length + coalesce(sum(length), 0) INTO d_count, d_length FROM new_documents;
        INSERT INTO search_scopestats AS s (scope, doc_count, total_length)
            SELECT scope, count(*), sum(length) FROM new_documents GROUP BY scope
            ON CONFLICT (scope) DO UPDATE SET doc_count = s.doc_count + excluded.doc_count,
                                              total_length = s.total_length + excluded.total_length;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        SELECT d_count - count(*), d_length - coalesce(sum(length), 0) INTO d_count, d_length FROM old_documents;
        UPDATE search_scopestats s SET doc_count = s.doc_count - o.n, total_length = s.total_length - o.total
            FROM (SELECT scope, count(*) AS n, sum(length) AS total FROM old_documents GROUP BY scope) o
            WHERE s.scope = o.scope;
        DELETE FROM search_scopestats s USING (SELECT DISTINCT scope FROM old_documents) o
            WHERE s.scope = o.scope AND s.doc_count = 0;
    END IF;
    IF d_count <> 0 OR d_length <> 0 THEN
        INSERT INTO search_corpusstats AS s (id, doc_count, total_length) VALUES (1, d_count, d_length)
        ON CONFLICT (id) DO UPDATE
            SET doc_count = s.doc_count + excluded.doc_count, total_length = s.total_length + excluded.total_length;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION search_posting_df() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Decrements first, as plain UPDATEs: an upsert would check df >= 0 on the row it proposes.
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE search_term t SET df = t.df - d.n
            FROM (SELECT term, count(*) AS n FROM old_postings GROUP BY term) d WHERE t.term = d.term;
        UPDATE search_termscope t SET df = t.df - d.n
            FROM (SELECT term, scope, count(*) AS n FROM old_postings GROUP BY term, scope) d
            WHERE t.term = d.term AND t.scope = d.scope;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO search_term AS t (term, df)
            SELECT term, count(*) FROM new_postings GROUP BY term
            ON CONFLICT (term) DO UPDATE SET df = t.df + excluded.df;
        INSERT INTO search_termscope AS t (term, scope, df)
            SELECT term, scope, count(*) FROM new_postings GROUP BY term, scope
            ON CONFLICT (term, scope) DO UPDATE SET df = t.df + excluded.df;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        -- A term no document holds any more leaves the vocabulary, as a rebuild would.
        DELETE FROM search_term t USING (SELECT DISTINCT term FROM old_postings) d WHERE t.term = d.term AND t.df = 0;
        DELETE FROM search_termscope t USING (SELECT DISTINCT term, scope FROM old_postings) d
            WHERE t.term = d.term AND t.scope = d.scope AND t.df = 0;
    END IF;
    RETURN NULL;
END $$;
"""

REVERSE = """
-- The 0002 functions again (the per-scope statements dropped).
CREATE OR REPLACE FUNCTION search_document_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d_count bigint := 0;
    d_length bigint := 0;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT d_count + count(*), d_length + coalesce(sum(length), 0) INTO d_count, d_length FROM new_documents;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        SELECT d_count - count(*), d_length - coalesce(sum(length), 0) INTO d_count, d_length FROM old_documents;
    END IF;
    IF d_count <> 0 OR d_length <> 0 THEN
        INSERT INTO search_corpusstats AS s (id, doc_count, total_length) VALUES (1, d_count, d_length)
        ON CONFLICT (id) DO UPDATE
            SET doc_count = s.doc_count + excluded.doc_count, total_length = s.total_length + excluded.total_length;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION search_posting_df() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE search_term t SET df = t.df - d.n
            FROM (SELECT term, count(*) AS n FROM old_postings GROUP BY term) d WHERE t.term = d.term;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO search_term AS t (term, df)
            SELECT term, count(*) FROM new_postings GROUP BY term
            ON CONFLICT (term) DO UPDATE SET df = t.df + excluded.df;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        DELETE FROM search_term t USING (SELECT DISTINCT term FROM old_postings) d WHERE t.term = d.term AND t.df = 0;
    END IF;
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0005_no_stale_flag")]

    operations = [
        migrations.AddField(
            model_name="document",
            name="scope",
            field=models.BigIntegerField(default=0, help_text="Visibility scope (search.scopes), for the statistics."),
        ),
        migrations.AddField(model_name="posting", name="scope", field=models.BigIntegerField(default=0)),
        migrations.CreateModel(
            name="ScopeStats",
            fields=[
                ("scope", models.BigIntegerField(primary_key=True, serialize=False)),
                ("doc_count", models.BigIntegerField(default=0)),
                ("total_length", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="TermScope",
            fields=[
                ("pk", models.CompositePrimaryKey("term", "scope", blank=True, editable=False, primary_key=True,
                                                  serialize=False)),
                ("term", models.TextField(db_collation="C")),
                ("scope", models.BigIntegerField()),
                ("df", models.PositiveIntegerField()),
            ],
        ),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
