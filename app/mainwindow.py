"""The main window: project tree, tabbed editors, Problems, menus, files, autosave."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import recovery
from app import theme as looks
from app.apidocs import ApiDocsDialog
from app.debugging import Debugging
from app.document import Document
from app.editors import EDITORS, ActionEditor, Editor, RowsTable
from app.envdialog import EnvironmentDialog
from app.files import FileCommands
from app.livetesting import LiveTesting
from app.palette import Palette
from app.panels import PANELS, build_docks
from app.problems import ProblemsPanel, place
from app.properties import PropertiesPanel
from app.shortcuts import ShortcutsDialog
from app.testspanel import Testing, test_name_of
from app.theme import Theme, logo
from app.tree import ID_ROLE, SECTION_ROLE, SINGULAR, ProjectTree, Prompts, find
from app.welcome import WelcomePage
from nodes import catalogue
from runtime.errors import ProjectError
from runtime.projectfile import load

RUN_KEYS = ("Ctrl+R",)
# Edit-menu commands handed to the current action graph: (menu text, method names, shortcut).
GRAPH_COMMANDS = (
    ("Copy", ("copy",), QKeySequence.StandardKey.Copy, "copy"),
    ("Paste", ("paste",), QKeySequence.StandardKey.Paste, "paste"),
    ("Duplicate", ("duplicate",), "Ctrl+D", "duplicate"),
    ("Delete", ("delete", "delete_selected"), QKeySequence.StandardKey.Delete, "delete"),
    ("Select All", ("select_all",), QKeySequence.StandardKey.SelectAll, None),
)


class MainWindow(QMainWindow):
    """One project at a time: tree on the left, editors in tabs, Problems at the bottom."""

    def __init__(self, theme: Theme | None = None):
        super().__init__()
        if theme is None:
            theme = Theme(self)
            theme.apply()
        self.theme = theme
        self.prompts = Prompts(self)
        self.document: Document | None = None
        self.tree: ProjectTree | None = None
        self.undo_group = QUndoGroup(self)
        self.autosave = recovery.Autosave(self)
        self.files = FileCommands(self)
        self.setWindowIcon(logo())
        self.setMinimumSize(QSize(1000, 640))

        self.welcome = WelcomePage(theme)
        self.welcome.newRequested.connect(lambda: self.new_project())
        self.welcome.openRequested.connect(lambda path: self.open_file(path or None))
        self.welcome.templateRequested.connect(lambda path: self.new_project(path))
        self.welcome.recoverRequested.connect(lambda path: self.recover_unsaved(Path(path)))
        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.setIconSize(QSize(16, 16))
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(lambda _i: self._current_tab_changed())
        self.empty = QLabel("Select a model, endpoint or action on the left to edit it.")
        self.empty.setProperty("role", "muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.centre = QStackedWidget()
        self.centre.addWidget(self.empty)
        self.centre.addWidget(self.tabs)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.tree_holder = QWidget()  # holds the tree of whichever project is open
        self.tree_holder.setMinimumWidth(200)
        QVBoxLayout(self.tree_holder).setContentsMargins(0, 0, 0, 0)
        self.splitter.addWidget(self.tree_holder)
        self.splitter.addWidget(self.centre)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 1000])
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.splitter)
        self.setCentralWidget(self.pages)

        self.problems = ProblemsPanel(theme)
        self.problems.activated.connect(self.go_to_problem)
        self.live = LiveTesting(self)
        self.debugging = Debugging(self)  # pins, breakpoints, run from here (app/debugging.py)
        self.testing = Testing(self)  # the Tests dock, Save as Test (app/testspanel.py)
        self.testing.connect_sources(self.live)
        self.docks = build_docks(self, {"problems": self.problems, **self._side_widgets(),
                                        **self.live.widgets, **self.debugging.widgets,
                                        **self.testing.widgets})
        self.debugging.set_dock(self.docks["debug"])
        self.problems_dock = self.docks["problems"]
        self.live.docks = {name: self.docks[name] for name in self.live.widgets}
        self.side_docks = {name: self.docks[name] for name in ("palette", "properties")
                           if name in self.docks}
        for dock in self.side_docks.values():
            dock.hide()  # shown while an action graph is the current tab
        self.resizeDocks(list(self.side_docks.values()), [290] * len(self.side_docks),
                         Qt.Orientation.Horizontal)
        self.resizeDocks(list(self.side_docks.values()), [220, 400][:len(self.side_docks)],
                         Qt.Orientation.Vertical)

        self.problem_count = QToolButton()
        self.problem_count.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.problem_count.setAutoRaise(True)
        self.problem_count.clicked.connect(lambda: self.problems_dock.setVisible(True))
        self.file_label = QLabel()
        self.file_label.setProperty("role", "muted")
        self.statusBar().addPermanentWidget(self.file_label)
        self.statusBar().addPermanentWidget(self.problem_count)
        self.statusBar().setSizeGripEnabled(False)

        self.problems_timer = QTimer(self, interval=300, singleShot=True)
        self.problems_timer.timeout.connect(self.update_problems)
        self._build_menus()
        for dock in self.live.docks.values():
            # Tabbed with Problems, the tallest panel's minimum would set the strip's height;
            # each grows when it comes to the front instead (_live_dock_shown).
            dock.widget().setMinimumHeight(80)
            dock.visibilityChanged.connect(lambda visible, d=dock: self._live_dock_shown(d, visible))
        self.theme.changed.connect(self.restyle)
        self.restyle()
        self._show_bottom_docks(False)
        self._show_welcome()
        self._update_title()
        self._update_actions()
        geometry = QSettings().value("window/geometry")
        if geometry:
            self.restoreGeometry(geometry)
        else:
            screen = self.screen().availableGeometry()
            self.resize(min(1440, int(screen.width() * 0.9)), min(900, int(screen.height() * 0.9)))

    # -- menus ------------------------------------------------------------------------------
    def _action(self, menu: QMenu, text: str, slot, shortcut=None, icon: str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        if icon:
            action.setData(icon)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        a = self.actions = {}
        a["new"] = self._action(file, "&New Project", self.new_project,
                                QKeySequence.StandardKey.New, "new")
        a["open"] = self._action(file, "&Open...", self.open_file, QKeySequence.StandardKey.Open,
                                 "open")
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file.addSeparator()
        a["save"] = self._action(file, "&Save", self.save, QKeySequence.StandardKey.Save, "save")
        a["save_as"] = self._action(file, "Save &As...", self.save_as, "Ctrl+Shift+S")
        a["export"] = self._action(file, "&Export Project File...", self.export, "Ctrl+E",
                                   tip="Write a copy of the project file elsewhere")
        a["export_server"] = self._action(
            file, "Export for Se&rver...", self.export_for_server,
            tip="A folder with the project, pinned requirements, a secrets template and a README")
        file.addSeparator()
        a["close"] = self._action(file, "&Close Project", self.close_project, "Ctrl+Shift+W")
        a["quit"] = self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        self.undo_action = self.undo_group.createUndoAction(self, "Undo")
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.undo_action.setData("undo")
        self.redo_action = self.undo_group.createRedoAction(self, "Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.setData("redo")
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)
        edit.addSeparator()
        self.graph_actions = {}
        for text, methods, shortcut, icon in GRAPH_COMMANDS:
            action = self._action(edit, text, lambda m=methods: self.edit_command(m), shortcut,
                                  icon)
            # Text fields keep their own copy/paste/delete: these only act on the graph or tree.
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.graph_actions[methods[0]] = action
        # Tab adds an event only on the graph (elsewhere it moves the focus): listed here so the
        # key is found in the menus and the shortcut table, handled by the graph itself.
        a["add_event"] = self._action(edit, "&Add Event...", lambda: self.graph_command(
            "open_picker"), "Tab", tip="On the graph: pick an event by name and add it")
        a["add_event"].setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        edit.addSeparator()
        a["fit"] = self._action(edit, "&Zoom to Fit", lambda: self.graph_command("fit"),
                                "Ctrl+0", "fit")
        a["tidy"] = self._action(edit, "&Tidy Layout", lambda: self.graph_command("tidy"),
                                 "Ctrl+Shift+L", "tidy")

        project = bar.addMenu("&Project")
        for section in ("models", "endpoints", "actions"):
            a[f"add_{section}"] = self._action(
                project, f"New {SINGULAR[section].capitalize()}...",
                lambda s=section: self.tree and self.tree.add(s),
                {"models": "Ctrl+Shift+M", "endpoints": "Ctrl+Shift+E",
                 "actions": "Ctrl+Shift+A"}[section])
        project.addSeparator()
        a["rename"] = self._action(project, "&Rename...", self.rename_current, "F2", "rename")
        a["duplicate_item"] = self._action(project, "D&uplicate",
                                           lambda: self.tree.duplicate_current())
        a["delete_item"] = self._action(project, "&Delete...", lambda: self.tree.delete_current())
        project.addSeparator()
        a["generate_api"] = self._action(
            project, "&Generate REST API...", lambda: self.tree and self.tree.generate_api_current(),
            "Ctrl+Alt+G", tip="List, get, create, update and delete endpoints for a data model")
        a["api_docs"] = self._action(project, "API &Docs", self.show_api_docs, "Ctrl+Alt+D",
                                     tip="The project's OpenAPI document as a readable page")
        a["environment"] = self._action(
            project, "&Environment Values...", self.show_environment,
            tip="Values expressions read as env.NAME (API keys, URLs), per environment, kept "
                "in .env files beside the project")

        run = bar.addMenu("&Run")
        a["run"] = self._action(run, "&Run Endpoint or Action", self.run_current, RUN_KEYS[0],
                                "play", "Run the endpoint or action being edited (or selected "
                                "in the project tree) in the Run panel")
        # The Run panel's own action, made window-wide: Ctrl+Enter sends from anywhere while
        # the Run dock is shown (it is disabled while the dock is hidden).
        a["send"] = self.live.run_panel.send_action
        a["send"].setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        run.addAction(a["send"])
        a["run_tests"] = self._action(run, "Run All &Tests", self.testing.run_all,
                                      "Ctrl+Shift+T", tip="Run the project's tests in the "
                                      "Tests panel, each on a fresh database")
        self.debugging.add_menu(run)

        view = bar.addMenu("&View")
        self.panel_actions = {}
        for panel in PANELS:
            if panel.name in self.docks:
                self.panel_actions[panel.name] = self._panel_action(view, self.docks[panel.name],
                                                                    panel.shortcut)
        view.addSeparator()
        a["search"] = self._action(view, "&Find in Project", self._focus_search,
                                   QKeySequence.StandardKey.Find, "search")
        view.addSeparator()
        theme_menu = view.addMenu("&Theme")
        group = QActionGroup(self)
        for mode in ("system", "light", "dark"):
            act = theme_menu.addAction({"system": "Follow the System", "light": "Light",
                                        "dark": "Dark"}[mode])
            act.setCheckable(True)
            act.setChecked(self.theme.mode == mode)
            act.triggered.connect(lambda _=False, m=mode: self.theme.set_mode(m))
            group.addAction(act)

        helpmenu = bar.addMenu("&Help")
        self._action(helpmenu, "&Keyboard Shortcuts", self._show_shortcuts, "Ctrl+/")

        toolbar = QToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(18, 18))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        for action in (a["new"], a["open"], a["save"], None, self.undo_action, self.redo_action,
                       None, a["fit"], a["tidy"]):
            if action is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(action)
        self.toolbar = toolbar
        self.addToolBar(toolbar)
        for action in self._all_actions():
            if not action.shortcut().isEmpty():
                # Tool tips name the shortcut, as the menus do.
                action.setToolTip(f"{action.text().replace('&', '')} "
                                  f"({action.shortcut().toString(QKeySequence.NativeText)})")

    def _all_actions(self) -> list[QAction]:
        return [*self.actions.values(), self.undo_action, self.redo_action,
                *self.graph_actions.values(), *self.panel_actions.values()]

    def dock(self, name: str) -> QDockWidget | None:
        """A dock of the window by its panel name (problems, palette, run, data, ...)."""
        return self.docks.get(name)

    def _panel_action(self, menu: QMenu, dock: QDockWidget, key: str) -> QAction:
        """A View-menu entry that brings a dock to the front (or hides it when in front)."""
        action = self._action(menu, dock.windowTitle(), lambda: self.toggle_panel(dock), key)
        action.setCheckable(True)
        dock.visibilityChanged.connect(lambda visible: action.setChecked(visible))
        return action

    def toggle_panel(self, dock: QDockWidget) -> None:
        """Show a dock in front and focus it; hide it when it is in front with the focus (the
        same key again puts it away)."""
        focus = QApplication.focusWidget()
        if dock.isVisible() and not dock.visibleRegion().isEmpty() and focus is not None \
                and dock.isAncestorOf(focus):
            dock.hide()
            return
        dock.show()
        dock.raise_()
        widget = dock.widget()
        if widget is not None:
            widget.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def restyle(self) -> None:
        """Pick up the current colour scheme's icons everywhere."""
        for action in self._all_actions():
            if action.data():
                action.setIcon(self.theme.icon(action.data()))
        self.problem_count.setIcon(self.theme.icon("error" if self.problems.problems else "ok"))
        self.welcome.restyle()
        for dock in self.docks.values():  # every panel of the table that has looks of its own
            restyle = getattr(dock.widget(), "restyle", None)
            if callable(restyle):
                restyle()
        if self.tree is not None:
            self.tree.restyle()
        for editor in self.editors():
            editor.restyle()
            if isinstance(editor, ActionEditor) and editor.has_graph:
                editor.graph.apply_theme("dark" if self.theme.dark else "light")

    def run_current(self) -> bool:
        """Run the endpoint or action being edited, or the one selected in the project tree."""
        focus = QApplication.focusWidget()
        if self.tree is not None and focus is not None and self.tree.isAncestorOf(focus):
            item = self.tree.tree.currentItem()
            section = item.data(0, SECTION_ROLE) if item is not None else None
            if section in ("endpoints", "actions") and item.data(0, ID_ROLE):
                self.open_item(section, item.data(0, ID_ROLE))
        editor = self.current_editor()
        if editor is not None and editor.click_run():
            return True
        self.statusBar().showMessage("Open an endpoint or an action to run it (Ctrl+R).", 5000)
        return False

    def _side_widgets(self) -> dict:
        """The event palette, and a place for the properties panel (made per project)."""
        self.palette = Palette(catalogue())
        self.palette.kindActivated.connect(lambda kind: self.graph_command("add_event", kind))
        return {"palette": self.palette, "properties": None}

    def _properties_for(self, document: Document | None) -> None:
        """A properties panel for the new project's events (it follows that document)."""
        dock = self.side_docks.get("properties")
        if dock is None:
            return
        old = dock.widget()
        if document is None:
            panel = None
        else:
            panel = PropertiesPanel(document)
            panel.event_part = lambda layout, event, p=panel: self.debugging.properties_part(
                p, layout, event)
        dock.setWidget(panel)
        if old is not None:
            old.deleteLater()

    # -- the document -----------------------------------------------------------------------
    def set_document(self, document: Document | None, adopted: Path | None = None) -> None:
        """Show a project (or the welcome page for None), replacing the one shown."""
        old = self.document
        for i in reversed(range(self.tabs.count())):
            self.tabs.widget(i).deleteLater()
            self.tabs.removeTab(i)
        if self.tree is not None:
            self.tree.deleteLater()
            self.tree = None
        if old is not None:
            old.changed.disconnect(self._document_changed)
            old.pathChanged.disconnect(self._path_changed)
            self.undo_group.removeStack(old.undo)
            old.deleteLater()
        self.document = document
        self.debugging.set_document(document)
        self.live.set_document(document)
        self.testing.set_document(document)
        self.autosave.attach(document, adopted)
        self._properties_for(document)
        self._show_bottom_docks(document is not None)
        if document is None:
            self.problems.show_problems([])
            self._show_welcome()
        else:
            document.setParent(self)
            self.undo_group.addStack(document.undo)
            self.undo_group.setActiveStack(document.undo)
            document.changed.connect(self._document_changed)
            document.pathChanged.connect(self._path_changed)
            # After undo/redo the stack's clean state is known only once its index moved.
            document.undo.indexChanged.connect(self._index_moved)
            self.tree = ProjectTree(document, self.prompts, self.theme)
            self.tree.opened.connect(lambda s, i: self.open_item(s, i))
            self.tree_holder.layout().addWidget(self.tree)
            self.splitter.setSizes([260, max(self.width() - 260, 600)])
            self.pages.setCurrentWidget(self.splitter)
            self.centre.setCurrentWidget(self.empty)
            self.update_problems()
        self._update_title()
        self._update_actions()

    def _show_bottom_docks(self, shown: bool) -> None:
        """The Problems and live-testing docks belong to a project: none on the welcome page.
        With a project they share a short strip, so the graph gets most of the window."""
        docks = [self.problems_dock, *self.live.docks.values(), self.docks["tests"]]
        for dock in docks:
            dock.setVisible(shown)
        if shown:
            self.problems_dock.raise_()
            # Once the docks just shown are laid out: sized before that, the strip keeps its
            # old height.
            QTimer.singleShot(0, lambda: self.resizeDocks(
                [self.problems_dock], [self._strip_height(0.16)], Qt.Orientation.Vertical))

    def _strip_height(self, share: float) -> int:
        return max(140, int(self.height() * share))

    def _live_dock_shown(self, dock: QDockWidget, visible: bool) -> None:
        """The Run panel (a request and its answer) and the rows of the Data browser need
        room: the strip grows when one of them comes to the front."""
        if dock is self.live.docks["run"]:
            self.actions["send"].setEnabled(visible)
        if visible and not dock.isFloating() and dock.height() < self._strip_height(0.36):
            self.resizeDocks([dock], [self._strip_height(0.42)], Qt.Orientation.Vertical)

    def _open_first_item(self) -> None:
        """An opened project shows its first action (else its first model) to start from."""
        project = self.document.project if self.document is not None else None
        if project is None:
            return
        if project.actions:
            self.open_item("actions", project.actions[0].id)
        elif project.models:
            self.open_item("models", project.models[0].id)

    def _show_welcome(self) -> None:
        self.welcome.set_recent(self.recent_files())
        self.welcome.set_recoverable(
            [(str(p), f"{_project_name(p)} ({recovery.when(p)})") for p in recovery.orphans()])
        self.pages.setCurrentWidget(self.welcome)

    def _document_changed(self) -> None:
        self._update_title()
        self._update_actions()
        for editor in self.editors():
            if editor.stale:
                self._replace_stale(editor)
            else:
                editor.refresh()
        self._retitle_tabs()
        self.problems_timer.start()

    def _path_changed(self) -> None:
        self._update_title()
        if self.document is not None and self.document.path is not None:
            self.add_recent(self.document.path)

    def _index_moved(self, _index: int) -> None:
        self._update_title()

    def _update_title(self) -> None:
        doc = self.document
        self.setWindowTitle(f"{doc.title()} — Actiongraph" if doc else "Actiongraph")
        self.file_label.setText(str(doc.path) if doc and doc.path else "")

    def _update_actions(self) -> None:
        has_doc = self.document is not None
        for key in ("save", "save_as", "export", "close", "rename", "duplicate_item",
                    "delete_item", "search", "add_models", "add_endpoints", "add_actions",
                    "generate_api", "api_docs", "export_server", "run_tests"):
            self.actions[key].setEnabled(has_doc)
        graph = self.current_graph()
        for key in ("fit", "tidy"):
            self.actions[key].setEnabled(graph is not None)
        self.problem_count.setVisible(has_doc)

    # -- files (app/files.py) ---------------------------------------------------------------
    def confirm_close(self) -> bool:
        """Ask about unsaved edits; True when the project may be closed."""
        return self.files.confirm_close()

    def close_project(self) -> bool:
        """Close the project (asking about unsaved edits) and show the welcome page."""
        return self.files.close_project()

    def new_project(self, template: str | None = None) -> bool:
        """Start an unsaved project, empty or copied from an example."""
        return self.files.new_project(template)

    def open_file(self, path: str | Path | None = None) -> bool:
        """Open a project file (asking which when no path); offers autosaved edits to recover."""
        return self.files.open_file(path)

    def recover_unsaved(self, source: Path) -> bool:
        """Reopen an unsaved project kept by autosave before a crash."""
        return self.files.recover_unsaved(source)

    def save(self) -> bool:
        """Save to the project's file (asking for one the first time)."""
        return self.files.save()

    def save_as(self) -> bool:
        """Save under a new file name; the project then lives there."""
        return self.files.save_as()

    def export(self) -> bool:
        """Write a copy of the project file elsewhere."""
        return self.files.export()

    def export_for_server(self, folder: str | Path | None = None) -> list[Path]:
        """Write a deployment folder; returns the files written."""
        return self.files.export_for_server(folder)

    def recent_files(self) -> list[str]:
        """Recently opened project files, newest first."""
        return self.files.recent_files()

    def add_recent(self, path: Path) -> None:
        """Put a file at the top of the recent list."""
        self.files.add_recent(path)

    def show_api_docs(self):
        """The project's API docs (OpenAPI) in a window that follows edits; export from there."""
        doc = self.document
        if doc is None:
            return None
        dialog = getattr(self, "api_docs", None)
        if dialog is None or dialog.project is not doc.project:
            if dialog is not None:
                dialog.close()
            dialog = ApiDocsDialog(doc.project, self.live.server.base_url, self,
                                   folder=doc.path.parent if doc.path else None)
            dialog.setWindowTitle(f"API Docs: {doc.project.name}")
            doc.changed.connect(lambda d=dialog, document=doc: d.isVisible()
                                and d.set_project(document.project))
            self.api_docs = dialog
        else:
            dialog.set_server_url(self.live.server.base_url)
            dialog.set_project(doc.project)
        dialog.show()
        dialog.raise_()
        return dialog

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_files():
            self.recent_menu.addAction(p, lambda path=p: self.open_file(path))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask about unsaved edits; a clean close leaves no recovery file behind."""
        if not self.confirm_close():
            event.ignore()
            return
        self.autosave.discard()
        QSettings().setValue("window/geometry", self.saveGeometry())
        self.debugging.release()
        self.live.close()
        event.accept()

    # -- editors ----------------------------------------------------------------------------
    def editors(self) -> list[Editor]:
        """The open editor tabs."""
        return [self.tabs.widget(i) for i in range(self.tabs.count())
                if isinstance(self.tabs.widget(i), Editor)]

    def show_environment(self) -> EnvironmentDialog | None:
        """Project › Environment Values: declare env.NAME values, fill them in per environment."""
        if self.document is None:
            return None
        dialog = EnvironmentDialog(self.document, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()  # window-modal, without a nested event loop
        return dialog

    def open_item(self, section: str, item_id: str) -> Editor | None:
        """Open (or show) the editor of a model, endpoint or action."""
        if self.document is None or find(self.document.project, section, item_id) is None:
            return None
        for editor in self.editors():
            if editor.section == section and editor.item_id == item_id:
                self.tabs.setCurrentWidget(editor)
                return editor
        editor = EDITORS[section](self.document, item_id, self.prompts, self.theme)
        self._add_tab(editor)
        self.tree.select(section, item_id)
        return editor

    def _add_tab(self, editor: Editor, index: int = -1) -> None:
        index = self.tabs.insertTab(index, editor, looks.item_icon(editor.section),
                                    editor.title())
        self.tabs.setCurrentIndex(index)
        self.centre.setCurrentWidget(self.tabs)
        if isinstance(editor, ActionEditor) and editor.has_graph:
            self._connect_graph(editor)
            editor.graph.show_problems(self.document.problems())
        if hasattr(editor, "runRequested"):
            editor.runRequested.connect(self.live.run_endpoint)
        if hasattr(editor, "runNowRequested"):
            editor.runNowRequested.connect(self.live.run_now)


    def _connect_graph(self, editor: ActionEditor) -> None:
        graph = editor.graph
        graph.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        graph.eventSelected.connect(lambda eid, g=graph: self._event_selected(g, eid))
        self.debugging.connect_graph(graph)

    def _replace_stale(self, editor: Editor) -> None:
        index = self.tabs.indexOf(editor)
        self.tabs.removeTab(index)
        editor.deleteLater()
        if editor.item is not None:
            # The same item as a new object (recovered, or reloaded): edit that one instead.
            self._add_tab(EDITORS[editor.section](self.document, editor.item_id, self.prompts,
                                                  self.theme), index)
        if not self.tabs.count():
            self.centre.setCurrentWidget(self.empty)

    def close_tab(self, index: int) -> None:
        """Close one editor tab (the edits stay in the project)."""
        widget = self.tabs.widget(index)
        self.tabs.removeTab(index)
        widget.deleteLater()
        if not self.tabs.count():
            self.centre.setCurrentWidget(self.empty)

    def _retitle_tabs(self) -> None:
        for i in range(self.tabs.count()):
            widget = self.tabs.widget(i)
            if isinstance(widget, Editor) and self.tabs.tabText(i) != widget.title():
                self.tabs.setTabText(i, widget.title())

    def current_editor(self) -> Editor | None:
        """The editor of the current tab."""
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, Editor) else None

    def current_graph(self):
        """The ActionGraph of the current tab, or None."""
        editor = self.current_editor()
        if isinstance(editor, ActionEditor) and editor.has_graph:
            return editor.graph
        return None

    def _current_tab_changed(self) -> None:
        self._update_actions()
        editor = self.current_editor()
        if editor is not None and self.tree is not None:
            self.tree.select(editor.section, editor.item_id)
        self._bind_side_docks()

    def _bind_side_docks(self) -> None:
        """Show the palette and the properties of the current action graph (hidden otherwise)."""
        graph = self.current_graph()
        for dock in self.side_docks.values():
            dock.setVisible(graph is not None)
        panel = self.side_docks["properties"].widget() if "properties" in self.side_docks \
            else None
        if panel is not None:
            panel.follow(graph)
        if graph is not None and panel is not None:
            if panel.action is not graph.action:
                panel.set_action(graph.action)
            selected = graph.selected_ids()
            panel.show_event(selected[0] if len(selected) == 1 else "")

    def _event_selected(self, graph, event_id: str) -> None:
        panel = self.side_docks["properties"].widget() if "properties" in self.side_docks \
            else None
        if panel is not None and graph is self.current_graph():
            panel.show_event(event_id)

    # -- edit commands ----------------------------------------------------------------------
    def edit_command(self, methods: tuple[str, ...]) -> None:
        """Copy/paste/duplicate/delete/select all: on the graph, or on the tree's item."""
        focus = QApplication.focusWidget()
        if self.tree is not None and focus is not None and self.tree.isAncestorOf(focus):
            if methods[0] == "duplicate":
                self.tree.duplicate_current()
            elif methods[0] == "delete":
                self.tree.delete_current()
            return
        table = next((w for w in _ancestors(focus) if isinstance(w, RowsTable)), None)
        if table is not None:
            if methods[0] == "delete":
                table.remove_selected()
            return
        graph = self.current_graph()
        for name in methods:
            method = getattr(graph, name, None) if graph is not None else None
            if callable(method):
                method()
                return

    def rename_current(self) -> None:
        """F2: in a table, edit the current cell (what F2 does in any table); elsewhere rename
        the item selected in the project tree."""
        focus = QApplication.focusWidget()
        view = next((w for w in _ancestors(focus) if isinstance(w, QAbstractItemView)), None)
        if view is not None and self.tree is not None and view is not self.tree.tree:
            index = view.currentIndex()
            if index.isValid() and index.flags() & Qt.ItemFlag.ItemIsEditable:
                view.edit(index)
            return
        if self.tree is not None:
            self.tree.rename_current()

    def graph_command(self, name: str, *args) -> None:
        """Zoom to fit, tidy, or add an event to the current action graph."""
        graph = self.current_graph()
        method = getattr(graph, name, None) if graph is not None else None
        if callable(method):
            method(*args)

    def _focus_search(self) -> None:
        if self.tree is not None:
            self.tree.search.setFocus()
            self.tree.search.selectAll()

    # -- problems ---------------------------------------------------------------------------
    def update_problems(self) -> None:
        """Recompile and show the project's problems (list, status bar, graphs)."""
        self.problems_timer.stop()
        if self.document is None:
            return
        problems = self.document.problems()
        self.problems.show_problems(problems)
        self.problem_count.setText(problem_summary(problems))
        n = sum(p.severity == "error" for p in problems)
        self.problem_count.setIcon(self.theme.icon(
            "error", None if n else self.theme.colors["warning"]) if problems
            else self.theme.icon("ok"))
        for editor in self.editors():
            if isinstance(editor, ActionEditor) and editor.has_graph:
                editor.graph.show_problems(self.document.problems())
        self.testing.show_problems(problems)

    def _problems_of(self, editor: ActionEditor) -> list:
        action = editor.item
        if action is None or self.document is None:
            return []
        return [p for p in self.document.problems()
                if (pl := place(p)) and pl.section == "actions" and pl.name == action.name]

    def go_to_problem(self, problem) -> None:
        """Open the editor of the problem's item; select the event or row it names."""
        where = place(problem)
        if self.document is not None and (problem.where or "").startswith("settings"):
            self.open_item("settings", "settings")  # auth profiles, mail: the Settings tab
            return
        test = test_name_of(problem)
        if test is not None and self.document is not None:  # the test's row in the Tests dock
            self.testing.show_dock()
            found = self.document.project.test(test)
            if found is not None:
                self.testing.panel.select(found.id)
            return
        if where is None or self.document is None:
            return
        item = next((x for x in getattr(self.document.project, where.section)
                     if x.name == where.name), None)
        if item is None:
            return
        editor = self.open_item(where.section, item.id)
        if where.event and isinstance(editor, ActionEditor) and editor.has_graph:
            editor.graph.select_event(where.event)
        elif editor is not None:
            _select_row(editor, where.rest)

    def _show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self.menuBar(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.shortcuts_dialog = dialog


def problem_summary(problems) -> str:
    """The status bar's count: errors and warnings apart ("1 problem, 2 warnings")."""
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    parts = [f"{n} {word}{'s' if n != 1 else ''}"
             for n, word in ((errors, "problem"), (warnings, "warning")) if n]
    return ", ".join(parts) or "No problems"


def _ancestors(widget: QWidget | None):
    """A widget and its parents, innermost first."""
    while widget is not None:
        yield widget
        widget = widget.parentWidget()


def _select_row(editor: Editor, rest: str) -> None:
    """Select the field or variable a problem's location names (`fields["likes"].default`)."""
    m = re.match(r'^(fields|variables)\["([^"]+)"\]', rest or "")
    table = getattr(editor, "fields", None) or getattr(editor, "variables", None) \
        or getattr(editor, "globals", None)
    if not m or table is None or not hasattr(table, "model"):
        return
    for obj in table.model.rows():
        if getattr(obj, "name", None) == m.group(2):
            table.select(obj)
            return


def _project_name(path: Path) -> str:
    try:
        return load(path).name
    except ProjectError:
        return path.name
