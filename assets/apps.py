from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = "Assets"

    def ready(self) -> None:
        from assets import imaging

        imaging.configure_pillow()
