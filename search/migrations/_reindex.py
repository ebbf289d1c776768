"""What the analyzer-change migrations run (not a migration: Django skips modules named with "_")."""


def rewrite_changed_documents(apps, schema_editor) -> None:
    """Write again every document whose tokens the analyzer now makes differently; the others
    keep their token hash and are left alone (a hash comparison per document, no write). A fresh
    database has no documents and skips the loop (it never imports today's models then)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM search_document)")
        if not cursor.fetchone()[0]:
            return
    from search.indexing import reindex_all

    reindex_all(rewrite=False)
