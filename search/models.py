"""BM25 inside PostgreSQL: an inverted index as plain tables, statistics kept by triggers.

Rows:
- Document: one per indexed asset (its token count and a hash of its tokens).
- Posting: one per (asset, distinct term), with the term frequency and, copied in, the document
  length, so scoring a posting needs no join: both indexes cover (tf, dl), so a term's postings
  (in impact order) and a document's postings are read by index-only scans.
- Term: document frequency per term; CorpusStats: N and the total length, one row. These count
  every document: they size posting lists (what MaxScore reads in full), never a score.
- Identifier and NameGram: the whole identifiers of a document (search.identifiers) and the
  trigrams of its file name (search.names), written with its postings.
- TermScope and ScopeStats: the same per visibility scope (search.scopes: the organisation, a
  team, one person's private assets). A caller's scores use the sums over the scopes they can
  see, so no score moves with assets the caller cannot see.

The statistics tables are written only by the triggers (migrations 0002 and 0006), in the same
statement as the rows they count, so they can never drift from the postings (and roll back with
them).
Foreign keys are declared to Django without constraints; the migrations add real ones with
ON DELETE CASCADE (asset -> document -> postings, identifiers, name trigrams), so deleting an
asset by any path, the ORM, a queryset or raw SQL, removes its index rows in the same statement.
"""

from django.db import models

from assets.models import Asset


class Document(models.Model):
    asset = models.OneToOneField(
        Asset, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="search_document"
    )
    length = models.PositiveIntegerField()
    # Hash of the token multiset: a write that leaves the tokens as they were skips re-indexing.
    token_hash = models.CharField(max_length=32)
    scope = models.BigIntegerField(default=0, help_text="Visibility scope (search.scopes), for the statistics.")
    # The file name, normalised as the analyzer does, for fragment search (search.names).
    name = models.CharField(max_length=255, default="", db_collation="C")

    def __str__(self) -> str:
        return f"document {self.asset_id} ({self.length} tokens)"


class Posting(models.Model):
    pk = models.CompositePrimaryKey("document", "term")
    # No index of its own: the primary key (asset_id, term) serves lookups by asset.
    document = models.ForeignKey(
        Document, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, db_column="asset_id"
    )
    term = models.TextField(db_collation="C")
    tf = models.PositiveIntegerField()
    dl = models.PositiveIntegerField(help_text="Length of the document, copied for index-only scoring.")
    # The document's scope, copied: the trigger that keeps per-scope df reads it from the rows it sees.
    scope = models.BigIntegerField(default=0)

    # Indexes (migration 0003, SQL Django cannot express): the primary key INCLUDEs (tf, dl), and
    # search_posting_impact orders each term's postings by their BM25 impact.

    def __str__(self) -> str:
        return f"{self.term}@{self.document_id}x{self.tf}"


class Identifier(models.Model):
    """One identifier key of a document (search.identifiers)."""

    pk = models.CompositePrimaryKey("key", "document")
    key = models.CharField(max_length=64, db_collation="C")
    document = models.ForeignKey(Document, on_delete=models.DO_NOTHING, db_constraint=False, db_column="asset_id")

    def __str__(self) -> str:
        return f"{self.key}@{self.document_id}"


class NameGram(models.Model):
    """One trigram of a document's file name (search.names)."""

    pk = models.CompositePrimaryKey("gram", "document")
    gram = models.CharField(max_length=3, db_collation="C")
    document = models.ForeignKey(Document, on_delete=models.DO_NOTHING, db_constraint=False, db_column="asset_id")

    def __str__(self) -> str:
        return f"{self.gram}@{self.document_id}"


class Term(models.Model):
    term = models.TextField(primary_key=True, db_collation="C")
    df = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.term} (df {self.df})"


class CorpusStats(models.Model):
    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    doc_count = models.BigIntegerField(default=0)
    total_length = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="search_corpusstats_single_row")]

    def __str__(self) -> str:
        return f"N={self.doc_count} total_length={self.total_length}"


class TermScope(models.Model):
    pk = models.CompositePrimaryKey("term", "scope")
    term = models.TextField(db_collation="C")
    scope = models.BigIntegerField()
    df = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.term} in scope {self.scope} (df {self.df})"


class ScopeStats(models.Model):
    scope = models.BigIntegerField(primary_key=True)
    doc_count = models.BigIntegerField(default=0)
    total_length = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"scope {self.scope}: N={self.doc_count} total_length={self.total_length}"
