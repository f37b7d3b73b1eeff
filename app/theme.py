"""Looks: light and dark palettes following the system, the stylesheet, and tinted SVG icons."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, QRectF, QSettings, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
ICONS = RESOURCES / "icons"
STYLESHEET = RESOURCES / "theme.qss"
MODES = ("system", "light", "dark")

LIGHT = {
    "window": "#f5f6f8", "panel": "#ffffff", "base": "#ffffff", "alt": "#f8f9fa",
    "text": "#1c2024", "muted": "#60646c", "faint": "#8b8d98", "border": "#dcdee3",
    "strong": "#c4c7ce", "hover": "#eceef2", "pressed": "#e1e4ea", "accent": "#5b5bd6",
    "accent_hover": "#4f4fc4", "accent_text": "#ffffff", "selection": "#e4e4fd",
    "selection_text": "#1c2024", "error": "#dc3e42", "warning": "#c27400", "ok": "#2b9a66",
    "icon": "#4a4f5a", "tab": "#eceef2", "disabled_icon": "#c4c7ce",
}
DARK = {
    "window": "#161719", "panel": "#1c1d20", "base": "#121314", "alt": "#18191b",
    "text": "#edeef0", "muted": "#a1a5ad", "faint": "#7b7f88", "border": "#2e3035",
    "strong": "#43464d", "hover": "#26272b", "pressed": "#303136", "accent": "#7070e8",
    "accent_hover": "#8080f0", "accent_text": "#ffffff", "selection": "#2e2e5c",
    "selection_text": "#edeef0", "error": "#ff6369", "warning": "#f1a10d", "ok": "#3dd68c",
    "icon": "#c4c7ce", "tab": "#202124", "disabled_icon": "#4a4d55",
}
# Event categories get their own colour, the same in both schemes, so a node is known at a glance.
CATEGORY_COLORS = {"Data": "#3e8ed0", "Logic": "#8e4ec6", "Messaging": "#d6409f",
                   "Integrations": "#12a594"}
SECTION_COLORS = {"models": "#3e8ed0", "endpoints": "#12a594", "actions": "#e5a000",
                  "settings": "#60646c"}


class Theme(QObject):
    """The current colour scheme; emits `changed` when the system or the user switches it."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.mode = str(QSettings().value("theme", "system"))
        self.dark = False
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(lambda _scheme: self.apply())

    @property
    def colors(self) -> dict[str, str]:
        """The palette of the scheme in use."""
        return DARK if self.dark else LIGHT

    def set_mode(self, mode: str) -> None:
        """Follow the system, or force light or dark (remembered across runs)."""
        self.mode = mode if mode in MODES else "system"
        QSettings().setValue("theme", self.mode)
        self.apply()

    def apply(self) -> None:
        """Set style, palette and stylesheet on the application."""
        app = QApplication.instance()
        if self.mode == "system":
            dark = QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
        else:
            dark = self.mode == "dark"
        self.dark = dark
        app.setStyle("Fusion")
        app.setPalette(palette(self.colors))
        app.setStyleSheet(stylesheet(self.colors))
        _pixmaps.cache_clear()
        self.changed.emit()

    def icon(self, name: str, color: str | None = None) -> QIcon:
        """An SVG icon from resources/icons tinted for this scheme (or in `color`), drawn
        faint when its button or menu entry is disabled."""
        return icon(name, color or self.colors["icon"], self.colors["disabled_icon"])


def palette(c: dict[str, str]) -> QPalette:
    """A QPalette from our colours, so widgets the stylesheet does not cover still match."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: c["window"], QPalette.ColorRole.WindowText: c["text"],
        QPalette.ColorRole.Base: c["base"], QPalette.ColorRole.AlternateBase: c["alt"],
        QPalette.ColorRole.Text: c["text"], QPalette.ColorRole.Button: c["panel"],
        QPalette.ColorRole.ButtonText: c["text"], QPalette.ColorRole.Highlight: c["accent"],
        QPalette.ColorRole.HighlightedText: c["accent_text"], QPalette.ColorRole.ToolTipBase:
        c["panel"], QPalette.ColorRole.ToolTipText: c["text"], QPalette.ColorRole.PlaceholderText:
        c["faint"], QPalette.ColorRole.Link: c["accent"], QPalette.ColorRole.Mid: c["border"],
        QPalette.ColorRole.Midlight: c["hover"], QPalette.ColorRole.Dark: c["strong"],
        # Fusion draws frame and tab-bar edges in Light and Shadow: left at Qt's white and
        # black, they show as a bright line in the dark scheme.
        QPalette.ColorRole.Light: c["border"], QPalette.ColorRole.Shadow: c["border"],
    }
    for role, value in roles.items():
        p.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(c["faint"]))
    return p


def stylesheet(c: dict[str, str]) -> str:
    """resources/theme.qss with `@name` replaced by colours and `@icon:name` by tinted files."""
    text = STYLESHEET.read_text(encoding="utf-8")
    for name in ("chevron-down", "chevron-up", "chevron-right", "check", "close"):
        color = c["accent_text"] if name == "check" else c["muted"]
        text = text.replace(f"@icon:{name}", icon_file(name, color).as_posix())
    # Longest names first so that `@accent_text` is not eaten by `@accent`.
    for key in sorted(c, key=len, reverse=True):
        text = text.replace(f"@{key}", c[key])
    return text


def svg(name: str, color: str) -> bytes:
    """The icon's SVG text with `currentColor` set."""
    return (ICONS / f"{name}.svg").read_bytes().replace(b"currentColor", color.encode())


def icon_file(name: str, color: str) -> Path:
    """A tinted copy of an icon on disk, for stylesheet `image:` urls."""
    folder = Path(tempfile.gettempdir()) / "actiongraph-icons"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}-{color.lstrip('#')}.svg"
    if not path.exists():
        path.write_bytes(svg(name, color))
    return path


@lru_cache(maxsize=512)
def _pixmaps(name: str, color: str) -> tuple[QPixmap, ...]:
    renderer = QSvgRenderer(QByteArray(svg(name, color)))
    out = []
    # Rendered at each size it is drawn at (1x and 2x screens), so it is never scaled blurry.
    for size in (16, 20, 24, 32, 40, 48, 64, 96, 128):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        out.append(pixmap)
    return tuple(out)


def icon(name: str, color: str, disabled: str | None = None) -> QIcon:
    """An icon from resources/icons in one colour, crisp at any scale; with `disabled`, the
    colour it has when disabled (Qt's own disabled tint barely differs on flat icons)."""
    result = QIcon()
    for pixmap in _pixmaps(name, color):
        result.addPixmap(pixmap)
    if disabled:
        for pixmap in _pixmaps(name, disabled):
            result.addPixmap(pixmap, QIcon.Mode.Disabled)
    return result


def category_icon(category: str) -> QIcon:
    """The icon of an event category (Data, Logic, ...), in the category's colour."""
    name = f"category-{category.lower()}"
    if not (ICONS / f"{name}.svg").exists():
        name = "category-other"
    return icon(name, CATEGORY_COLORS.get(category, "#8b8d98"))


def section_icon(section: str) -> QIcon:
    """The icon of a project tree section: models, endpoints or actions."""
    return icon(section, SECTION_COLORS[section])


def item_icon(section: str) -> QIcon:
    """The icon of one model, endpoint or action in the tree (or of the settings)."""
    name = "settings" if section == "settings" else section.rstrip("s")
    return icon(name, SECTION_COLORS[section])


def logo() -> QIcon:
    """The application icon."""
    return icon("logo", "#000")
