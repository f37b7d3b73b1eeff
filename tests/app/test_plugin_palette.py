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
