"""Cascading foreign keys and the triggers that keep BM25 statistics exact.

Every statement that writes documents or postings updates CorpusStats (N, total length) and Term
(document frequency) in the same statement, so statistics commit and roll back with the rows.

Write contention, on purpose: all index writers serialise on one transaction-level advisory lock
(taken by a BEFORE STATEMENT trigger, i.e. before the first search row is touched). The single
CorpusStats row and the hot Term rows ("dog", "a") are locked by every writer anyway; taking one
lock first, always in the same place, turns what would be deadlocks between writers (term rows
locked in different orders, cascades firing in another order than index_asset) into a short wait.
An indexing transaction holds it until commit, so keep those transactions short.
"""

from django.db import migrations

LOCK_KEY = "hashtextextended('mediavault.search.index', 0)"

FORWARD = f"""
ALTER TABLE search_document ADD CONSTRAINT search_document_asset_fk
    FOREIGN KEY (asset_id) REFERENCES assets_asset (id) ON DELETE CASCADE;
ALTER TABLE search_posting ADD CONSTRAINT search_posting_document_fk
    FOREIGN KEY (asset_id) REFERENCES search_document (asset_id) ON DELETE CASCADE;

INSERT INTO search_corpusstats (id, doc_count, total_length) VALUES (1, 0, 0) ON CONFLICT DO NOTHING;

CREATE FUNCTION search_lock_index() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({LOCK_KEY});
    RETURN NULL;
END $$;

-- N and total length. An upsert, so a flushed (TRUNCATEd) table heals itself on the next write.
CREATE FUNCTION search_document_stats() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- Document frequency: one posting is one document containing the term.
CREATE FUNCTION search_posting_df() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Decrements first, as plain UPDATEs: an upsert would check df >= 0 on the row it proposes.
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
        -- A term no document holds any more leaves the vocabulary, as a rebuild would.
        DELETE FROM search_term t USING (SELECT DISTINCT term FROM old_postings) d WHERE t.term = d.term AND t.df = 0;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER search_document_lock BEFORE INSERT OR UPDATE OR DELETE ON search_document
    FOR EACH STATEMENT EXECUTE FUNCTION search_lock_index();
CREATE TRIGGER search_posting_lock BEFORE INSERT OR UPDATE OR DELETE ON search_posting
    FOR EACH STATEMENT EXECUTE FUNCTION search_lock_index();

CREATE TRIGGER search_document_inserted AFTER INSERT ON search_document
    REFERENCING NEW TABLE AS new_documents FOR EACH STATEMENT EXECUTE FUNCTION search_document_stats();
CREATE TRIGGER search_document_updated AFTER UPDATE ON search_document
    REFERENCING OLD TABLE AS old_documents NEW TABLE AS new_documents
    FOR EACH STATEMENT EXECUTE FUNCTION search_document_stats();
CREATE TRIGGER search_document_deleted AFTER DELETE ON search_document
    REFERENCING OLD TABLE AS old_documents FOR EACH STATEMENT EXECUTE FUNCTION search_document_stats();

CREATE TRIGGER search_posting_inserted AFTER INSERT ON search_posting
    REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION search_posting_df();
CREATE TRIGGER search_posting_updated AFTER UPDATE ON search_posting
    REFERENCING OLD TABLE AS old_postings NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION search_posting_df();
CREATE TRIGGER search_posting_deleted AFTER DELETE ON search_posting
    REFERENCING OLD TABLE AS old_postings FOR EACH STATEMENT EXECUTE FUNCTION search_posting_df();

-- Safety net for writes that bypass Asset.save() (queryset.update(), raw SQL): flag the document so
-- indexing.reindex_stale() re-analyses it. Asset.save() re-indexes at once and clears the flag.
CREATE FUNCTION search_mark_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE search_document SET stale = true WHERE asset_id = NEW.id AND NOT stale;
    RETURN NULL;
END $$;
CREATE TRIGGER search_asset_text_changed AFTER UPDATE ON assets_asset FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.description IS DISTINCT FROM NEW.description
          OR OLD.caption IS DISTINCT FROM NEW.caption OR OLD.tags IS DISTINCT FROM NEW.tags
          OR OLD.original_filename IS DISTINCT FROM NEW.original_filename
          OR OLD.camera_make IS DISTINCT FROM NEW.camera_make OR OLD.camera_model IS DISTINCT FROM NEW.camera_model)
    EXECUTE FUNCTION search_mark_stale();
"""

REVERSE = """
DROP TRIGGER IF EXISTS search_asset_text_changed ON assets_asset;
DROP FUNCTION IF EXISTS search_mark_stale();
DROP TRIGGER IF EXISTS search_posting_deleted ON search_posting;
DROP TRIGGER IF EXISTS search_posting_updated ON search_posting;
DROP TRIGGER IF EXISTS search_posting_inserted ON search_posting;
DROP TRIGGER IF EXISTS search_document_deleted ON search_document;
DROP TRIGGER IF EXISTS search_document_updated ON search_document;
DROP TRIGGER IF EXISTS search_document_inserted ON search_document;
DROP TRIGGER IF EXISTS search_posting_lock ON search_posting;
DROP TRIGGER IF EXISTS search_document_lock ON search_document;
DROP FUNCTION IF EXISTS search_posting_df();
DROP FUNCTION IF EXISTS search_document_stats();
DROP FUNCTION IF EXISTS search_lock_index();
ALTER TABLE search_posting DROP CONSTRAINT IF EXISTS search_posting_document_fk;
ALTER TABLE search_document DROP CONSTRAINT IF EXISTS search_document_asset_fk;
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
