from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"

    def ready(self) -> None:
        from assets import keyword_index
        from search import indexing

        # assets.actions keeps the keyword index in step inside its own transactions, through this seam.
        keyword_index.register(indexing.index_assets)
