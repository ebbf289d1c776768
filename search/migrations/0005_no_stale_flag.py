"""The keyword index is written by the actions that change assets, in their own transaction
(assets.actions through assets.keyword_index), so nothing can change an indexed column behind its
back: the stale flag and the trigger that set it go.

The index lock gets one definition, search_index_lock(): the statement triggers take it, and so
does search.indexing before it reads the rows it is about to index.
"""

from django.db import migrations

FORWARD = """
DROP TRIGGER IF EXISTS search_asset_text_changed ON assets_asset;
DROP FUNCTION IF EXISTS search_mark_stale();
ALTER TABLE search_document DROP COLUMN stale;

CREATE FUNCTION search_index_lock() RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('mediavault.search.index', 0))
$$;
CREATE OR REPLACE FUNCTION search_lock_index() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_index_lock();
    RETURN NULL;
END $$;
"""

REVERSE = """
CREATE OR REPLACE FUNCTION search_lock_index() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('mediavault.search.index', 0));
    RETURN NULL;
END $$;
DROP FUNCTION IF EXISTS search_index_lock();
ALTER TABLE search_document ADD COLUMN stale boolean NOT NULL DEFAULT false;
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


class Migration(migrations.Migration):
    dependencies = [("search", "0004_impact_groups"), ("assets", "0006_stages_trash_audit")]

    operations = [
        migrations.RunSQL(
            FORWARD, REVERSE, state_operations=[migrations.RemoveField(model_name="document", name="stale")]
        )
    ]
