"""The asset grid shared by the library and collection pages: one page of decorated cards."""

from __future__ import annotations

from django.core.paginator import Page, Paginator

from assets.portal import display

PAGE_SIZE = 48


def grid_page(request, assets) -> Page:
    page = Paginator(assets, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [display.decorate(asset) for asset in page.object_list]
    return page
