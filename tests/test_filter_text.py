"""The Data browser's filter line is read into a structured Where, without Qt."""

import pytest

from runtime.project import Field, Model
from runtime.where import FilterError, describe, parse_filter_text

POSTS = Model("Posts", [Field("caption", "Text"), Field("likes", "Integer"),
                        Field("meta", "JSON"), Field("user", "Link", link="Users")])


@pytest.mark.parametrize("text, where", [
    ("", None),
    ("likes > 10", {"field": "likes", "op": ">", "value": "10"}),
    ("caption contains hello", {"field": "caption", "op": "contains", "value": "hello"}),
    ("caption ~ 'two words'", {"field": "caption", "op": "contains", "value": "two words"}),
    ("caption Starts With he", {"field": "caption", "op": "starts_with", "value": "he"}),
    ('caption = "a b"', {"field": "caption", "op": "=", "value": "a b"}),
    ("user = 3", {"field": "user", "op": "=", "value": "3"}),
    ("likes = null", {"field": "likes", "op": "is_null"}),
    ("caption != NULL", {"field": "caption", "op": "not_null"}),
    ("hello world", {"search": "hello world"}),
    ("contains 'x'", {"search": "x"}),
    ("nothing contains x", {"search": "nothing contains x"}),  # not a field: plain text
])
def test_a_filter_line_reads_as_a_where(text, where):
    assert parse_filter_text(text, POSTS) == where


@pytest.mark.parametrize("text, message", [
    ("nope = 3", 'No field "nope" in Posts'),
    ("likes > many", "Posts.likes:"),
    ("likes < null", "only = null and != null"),
    ("likes >", "a value is needed after >"),
    ("caption contains", 'say what to look for after "contains"'),
    ("meta = 1", "a JSON field can only be searched"),
])
def test_a_filter_line_that_cannot_be_used_names_the_field(text, message):
    with pytest.raises(FilterError, match=message):
        parse_filter_text(text, POSTS)


def test_plain_text_needs_a_text_field_to_search():
    with pytest.raises(FilterError, match="no text fields to search"):
        parse_filter_text("hello", Model("Counts", [Field("n", "Integer")]))


def test_a_search_is_described_for_people():
    assert describe({"search": "hi"}) == "any text contains 'hi'"

