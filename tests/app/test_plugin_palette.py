"""A plug-in's event kinds (the example package tests/plugins/actiongraph_slugify) are in the
palette with their documentation, like the built-ins."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from app.palette import Palette
from nodes import GROUP, catalogue

pytestmark = pytest.mark.skipif(
    not any(e.name == "slugify" for e in entry_points(group=GROUP)),
    reason="the example plug-in is not installed: pip install -e tests/plugins/actiongraph_slugify")


def test_a_plugin_kind_is_in_the_palette_with_its_docs(qtbot, theme):
    palette = Palette(catalogue())
    qtbot.addWidget(palette)
    item = palette.items()["slugify.slug"]
    assert item.text(0) == "Slugify" and item.parent().text(0) == "Text"
    assert "slug for a URL" in item.toolTip(0)
    palette.search.setText("slugify")
    assert palette.visible_kinds() == ["slugify.slug"]


async def test_a_plugin_kind_runs_in_the_editors_live_server_and_its_api_docs(make_window,
                                                                             tmp_path):
    import aiohttp
    from PySide6.QtCore import QSettings

    from app.live import free_port
    from runtime.projectfile import save
    from tests.test_plugins import slug_project

    path = tmp_path / "slugs.actiongraph.json"
    save(slug_project(), path)
    QSettings().setValue("live/port", free_port(19800))
    window = make_window()
    assert window.open_file(str(path))
    await window.live._starting
    server = window.live.server
    try:
        assert server.running, server.error
        assert window.document.problems() == []
        graph = window.current_graph()
        assert graph is not None and graph.node("n1") is not None  # drawn like any event
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{server.base_url}/v1/slug",
                                 json={"title": "Crème brûlée, 2 pièces!"}) as r:
                assert (r.status, await r.json()) == (200, "creme_brulee_2_pieces")
            async with http.get(f"{server.base_url}/openapi.json") as r:
                assert "/v1/slug" in (await r.json())["paths"]
    finally:
        await window.live.shutdown()
