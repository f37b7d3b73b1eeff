"""Project tree and form edits: rename with references, delete asking, path sync, problems."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.editors import (
    ActionEditor,
    EndpointEditor,
    ModelEditor,
    format_where,
    parse_where,
    sync_path_variables,
)
from runtime.project import Variable
from runtime.projectfile import dumps


def open_posts(window, posts_copy):
    assert window.open_file(posts_copy)
    return window.document


def test_renaming_a_model_updates_what_refers_to_it(window, posts_copy):
    doc = open_posts(window, posts_copy)
    before = dumps(doc.project)
    window.tree.select("models", "m1")
    window.prompts.texts = ["Post"]
    window.actions["rename"].trigger()
    p = doc.project
    assert p.model("Post") and not p.model("Posts")
    assert p.endpoint("Create post").variables[0].model == "Post"
    assert p.endpoint("Update social media post").variables[1].model == "Post"
    assert all(g.model == "Post" for a in p.actions for g in a.variables)
    assert all(e.settings["model"] == "Post" for a in p.actions for e in a.events.values())
    window.update_problems()
    assert doc.problems() == []
    assert window.undo_action.text() == "Undo Rename model Posts to Post"
    window.undo_action.trigger()  # one step undoes it all
    assert dumps(doc.project) == before


def test_renaming_an_endpoint_in_its_editor_follows_in_the_trigger(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("endpoints", "e4")
    assert isinstance(editor, EndpointEditor)
    editor.name.setFocus()
    editor.name.selectAll()
    qtbot.keyClicks(editor.name, "Edit post")
    qtbot.keyClick(editor.name, Qt.Key.Key_Return)
    assert doc.project.action("Update social media post").trigger.endpoint == "Edit post"
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Edit post"
    assert window.tree.sections["endpoints"].child(3).text(0) == "Edit post"


def test_renaming_a_field_updates_custom_models_and_events(window, posts_copy):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("models", "m1")
    caption = doc.project.model("Posts").field("caption")
    table = editor.fields.model
    table.setData(table.index_of(caption, 0), "text")
    assert doc.project.endpoint("Update social media post").variables[1].fields == ["text"]
    update = doc.project.action("Update social media post").events["n1"]
    assert update.settings["values"] == {"text": "=body.post.caption"}
    seed = doc.project.model("Posts").seed
    assert seed and all("text" in row and "caption" not in row for row in seed)
    window.undo_action.trigger()  # one step takes it all back
    assert all("caption" in row for row in doc.project.model("Posts").seed)


def test_deleting_asks_when_something_refers_to_it(window, posts_copy):
    doc = open_posts(window, posts_copy)
    window.tree.select("endpoints", "e4")
    window.prompts.confirms = [False]
    assert not window.tree.delete_current()
    assert doc.project.endpoint("Update social media post") is not None
    window.prompts.confirms = [True]
    assert window.tree.delete_current()
    assert doc.project.endpoint("Update social media post") is None
    window.update_problems()
    assert any("unknown endpoint" in p.message for p in doc.problems())
    window.undo_action.trigger()
    assert doc.project.endpoints[3].name == "Update social media post"


def test_deleting_an_unused_item_does_not_ask(window):
    window.new_project()
    window.tree.add("models", "Notes")
    window.tree.select("models", "m1")
    assert window.tree.delete_current()
    assert window.prompts.asked == []
    assert window.current_editor() is None  # its tab closed with it


def test_duplicate_gives_fresh_ids(window, posts_copy):
    doc = open_posts(window, posts_copy)
    window.tree.select("models", "m1")
    clone = window.tree.duplicate_current()
    assert clone.name == "Posts_copy" and clone.id == "m2"
    ids = [f.id for m in doc.project.models for f in m.fields]
    assert len(ids) == len(set(ids))
    assert doc.project.models.index(clone) == 1


def test_search_filters_the_tree(window, posts_copy):
    open_posts(window, posts_copy)
    window.tree.search.setText("upd")
    shown = {s: [t.child(i).text(0) for i in range(t.childCount())]
             for s, t in window.tree.sections.items()}
    assert shown == {"models": [], "endpoints": ["Update social media post"],
                     "actions": ["Update social media post"]}
    window.tree.search.setText("{id}")  # paths are searched too
    assert window.tree.sections["endpoints"].childCount() == 3


def test_link_kind_asks_which_model(window):
    window.new_project()
    window.tree.add("models", "Users")
    window.tree.add("models", "Posts")
    editor = window.current_editor()
    assert isinstance(editor, ModelEditor)
    f = editor.add_field("author")
    table = editor.fields.model
    window.prompts.choices = [None]
    table.setData(table.index_of(f, 1), "Link")
    assert f.kind == "Text"  # cancelled
    window.prompts.choices = ["Users"]
    table.setData(table.index_of(f, 1), "Link")
    assert (f.kind, f.link) == ("Link", "Users")
    assert table.data(table.index_of(f, 1)) == "Link → Users"
    # id and created_at are shown first and cannot be edited.
    assert table.data(table.index(0, 0)) == "id" and table.data(table.index(1, 0)) == "created_at"
    assert not table.flags(table.index(0, 0)) & Qt.ItemFlag.ItemIsEditable


def test_path_variable_mismatch_is_flagged(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("endpoints", "e3")
    path_var = doc.project.endpoint("Get post").variables[0]
    table = editor.variables.model
    table.setData(table.index_of(path_var, 1), "Id")
    assert not editor.path_problem.isHidden()
    assert "must match in spelling and capitalisation" in editor.path_problem.text()
    assert "capitalisation" in table.data(table.index_of(path_var, 1), Qt.ItemDataRole.ToolTipRole)
    window.undo_action.trigger()
    assert editor.path_problem.isHidden()


def test_adding_a_path_variable_adds_it_to_the_path(window):
    window.new_project()
    endpoint = window.tree.add("endpoints", "Get post")
    editor = window.current_editor()
    editor.add_variable("path")
    assert endpoint.path == "/v1/{id}"
    assert [(v.name, v.kind, v.location) for v in endpoint.variables] == [("id", "Number", "path")]
    assert editor.path.text() == "/v1/{id}"


def test_sync_path_variables_follows_renames_in_the_path():
    base = [Variable("id", "Number", "path"), Variable("post", "JSON", "body")]
    renamed = sync_path_variables(base, "/v1/posts/{postId}")
    assert [(v.name, v.kind) for v in renamed] == [("postId", "Number"), ("post", "JSON")]
    added = sync_path_variables(base, "/v1/users/{user_id}/posts/{id}")
    assert [v.name for v in added] == ["id", "user_id", "post"]
    assert sync_path_variables(base, "/v1/posts/{") == base  # half typed: nothing yet


def test_where_text_round_trip():
    assert parse_where("id = =path.id") == parse_where("id = path.id")  # "=" as elsewhere
    where = parse_where("id = path.id")
    assert where == {"field": "id", "op": "=", "value": "=path.id"}
    assert format_where(where) == "id = path.id"
    both = parse_where('likes >= 10 and user = "ann"')
    assert both == {"and": [{"field": "likes", "op": ">=", "value": 10},
                            {"field": "user", "op": "=", "value": "ann"}]}
    assert parse_where(format_where(both)) == both
    assert parse_where("caption is null") == {"field": "caption", "op": "is_null"}
    optional = parse_where("user = query.user (if given) and likes > 3")
    assert optional == {"and": [{"field": "user", "op": "=", "value": "=query.user",
                                 "optional": True},
                                {"field": "likes", "op": ">", "value": 3}]}
    assert format_where(optional) == "user = query.user (if given) and likes > 3"


def test_the_generated_list_filters_survive_the_where_text():
    """Editing the Where of a generated list as text keeps its filters optional."""
    from runtime.generate import generate_api
    from runtime.projectfile import load
    from tests.app.conftest import EXAMPLES

    project = load(EXAMPLES / "shoes.actiongraph.json")
    generate_api(project, "Shoes")
    wheres = [e.settings["where"] for a in project.actions for e in a.events.values()
              if e.kind == "query" and e.settings.get("where")]
    assert wheres
    for where in wheres:
        assert parse_where(format_where(where)) == where


def test_bad_where_text_is_refused_with_a_message(window, posts_copy):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("actions", "a4")
    g = doc.project.action("Update social media post").variables[0]
    table = editor.globals.model
    table.setData(table.index_of(g, 3), "id equals")
    assert g.where == {"field": "id", "op": "=", "value": "=path.id"}
    assert "is not a condition" in editor.where_error.text()


def test_where_dialog_builds_the_filter(window, posts_copy, monkeypatch):
    from app.editors import WhereDialog

    doc = open_posts(window, posts_copy)
    editor = window.open_item("actions", "a4")
    g = doc.project.action("Update social media post").variables[0]

    def run(dialog):
        dialog.add_row({"field": "likes", "op": ">", "value": 3})
        return WhereDialog.DialogCode.Accepted

    monkeypatch.setattr(WhereDialog, "exec", run)
    assert editor.edit_where(g)
    assert g.where == {"and": [{"field": "id", "op": "=", "value": "=path.id"},
                               {"field": "likes", "op": ">", "value": 3}]}


def test_action_trigger_can_be_switched(window, posts_copy):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("actions", "a3")
    assert isinstance(editor, ActionEditor)
    action = doc.project.action("Get post")
    editor.trigger_type.setCurrentIndex(editor.trigger_type.findData("schedule"))
    assert action.trigger.type == "schedule"
    assert editor.trigger_schedule.isVisibleTo(editor) and not editor.trigger_endpoint.isVisibleTo(
        editor)
    window.undo_action.trigger()
    assert (action.trigger.type, action.trigger.endpoint) == ("endpoint", "Get post")
    editor.set_trigger("endpoint", "List posts")
    assert action.trigger.endpoint == "List posts"


def test_clicking_a_problem_opens_its_place(window, posts_copy):
    doc = open_posts(window, posts_copy)
    window.open_item("endpoints", "e1")
    action = doc.project.action("Get post")
    doc.set_attr(action, "response_status", 999)
    window.update_problems()
    assert window.problems.view.topLevelItemCount() == 1
    assert window.problem_count.text() == "1 problem"
    item = window.problems.view.topLevelItem(0)
    assert item.text(1) == 'Action "Get post" › response.status'
    window.problems.view.itemClicked.emit(item, 0)
    editor = window.current_editor()
    assert isinstance(editor, ActionEditor) and editor.item is action


def test_several_editors_open_as_tabs(window, posts_copy):
    open_posts(window, posts_copy)  # opens on its first action, List posts
    for section, item_id in (("models", "m1"), ("endpoints", "e2"), ("actions", "a2"),
                             ("models", "m1")):
        window.open_item(section, item_id)
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == \
        ["List posts", "Posts", "Create post", "Create post"]
    assert window.tabs.currentIndex() == 1
    window.close_tab(1)
    assert window.tabs.count() == 3


def test_edit_menu_lists_shortcuts(window):
    texts = {a.text(): a.shortcut().toString() for a in window.menuBar().actions()[1].menu()
             .actions() if a.text()}
    assert texts["Undo"] == "Ctrl+Z" and texts["Redo"] == "Ctrl+Shift+Z"
    for name in ("Copy", "Paste", "Duplicate", "Delete", "Select All", "&Zoom to Fit",
                 "&Tidy Layout"):
        assert texts[name], name


def test_delete_key_in_a_table_removes_the_row(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("models", "m1")
    likes = doc.project.model("Posts").field("likes")
    editor.fields.select(likes)
    editor.fields.view.setFocus()
    window.graph_actions["delete"].trigger()
    assert doc.project.model("Posts").field("likes") is None
    window.undo_action.trigger()
    assert doc.project.model("Posts").fields[2] is likes


def test_action_editor_works_without_the_graph_module(window, posts_copy, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "app.graph", None)  # as if app/graph.py were missing
    doc = open_posts(window, posts_copy)
    editor = window.open_item("actions", "a4")
    assert not editor.has_graph and "not available" in editor.graph.findChild(
        type(editor.where_error)).text()
    editor.set_trigger("endpoint", "Get post")
    assert doc.project.action("Update social media post").trigger.endpoint == "Get post"
    window.graph_command("fit")  # nothing to fit: no error either
    window.edit_command(("copy",))


def test_ctrl_z_and_ctrl_shift_z_undo_and_redo(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    window.tree.select("models", "m1")
    window.tree.rename_current("Post")
    window.activateWindow()
    window.tree.tree.setFocus()
    qtbot.keyClick(window.tree.tree, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.project.model("Posts") is not None
    qtbot.keyClick(window.tree.tree, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert doc.project.model("Post") is not None


def test_auth_profile_is_chosen_from_the_projects_profiles(window, posts_copy):
    from runtime.project import AuthProfile

    doc = open_posts(window, posts_copy)
    doc.project.settings.auth_profiles.append(AuthProfile(name="Members"))
    editor = window.open_item("endpoints", "e2")
    assert [editor.auth.itemText(i) for i in range(editor.auth.count())] == \
        ["None: anyone may call it", "Members"]
    editor.auth.setCurrentIndex(1)
    editor.auth.activated.emit(1)
    assert doc.project.endpoint("Create post").auth == "Members"
    window.undo_action.trigger()
    assert doc.project.endpoint("Create post").auth == "" and editor.auth.currentIndex() == 0


def test_clicking_an_event_problem_selects_the_node(window, posts_copy):
    doc = open_posts(window, posts_copy)
    event = doc.project.action("Create post").events["n1"]
    doc.set_attr(event, "settings", dict(event.settings, model="Nope"))
    window.update_problems()
    item = next(window.problems.view.topLevelItem(i)
                for i in range(window.problems.view.topLevelItemCount())
                if "event n1" in window.problems.view.topLevelItem(i).text(1))
    window.problems.view.itemClicked.emit(item, 0)
    editor = window.current_editor()
    assert editor.item.name == "Create post"
    if editor.has_graph:
        assert editor.graph.selected_ids() == ["n1"]
