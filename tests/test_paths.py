"""One path template: /v1/posts/{id} parsed once into its variables, shape and pattern."""

from runtime.paths import path_template


def test_a_template_knows_its_variables_shape_and_normal_form():
    t = path_template("/v1/users/{user}/posts/{id}/")
    assert t.variables == ("user", "id")
    assert t.normal == "/v1/users/{user}/posts/{id}"
    assert t.shape == "/v1/users/{}/posts/{}"
    assert path_template("/").normal == "/" and path_template("/").variables == ()
    assert path_template("/v1/users/{user}/posts/{id}") is path_template("/v1/users/{user}/posts/{id}")


def test_a_concrete_path_matches_with_its_variables_one_segment_each():
    t = path_template("/v1/posts/{id}")
    assert t.match("/v1/posts/7") == {"id": "7"}
    assert t.match("/v1/posts/7/") == {"id": "7"}
    assert t.match("/v1/posts/7/comments") is None
    assert t.match("/v1/posts/") is None
    assert path_template("/v1.0/a+b/{x}").match("/v1x0/a+b/1") is None  # literals are literal
    assert path_template("/v1/{a}-{b}").match("/v1/x-y") == {"a": "x", "b": "y"}


def test_formatting_fills_and_quotes_the_variables():
    t = path_template("/v1/users/{user}/posts/{id}")
    assert t.format({"user": "ann lee/x", "id": 3}) == "/v1/users/ann%20lee%2Fx/posts/3"
    assert t.match(t.format({"user": "ann", "id": 3})) == {"user": "ann", "id": "3"}
    assert t.format({"user": "a b"}, quoted=False) == "/v1/users/a b/posts/{id}"


def test_two_templates_overlap_when_a_path_fits_both():
    posts = path_template("/v1/posts/{id}")
    assert posts.overlaps(path_template("/v1/posts/latest"))
    assert posts.overlaps(path_template("/v1/{kind}/{id}"))
    assert not posts.overlaps(path_template("/v1/users/{id}"))
    assert not posts.overlaps(path_template("/v1/posts/{id}/comments"))
