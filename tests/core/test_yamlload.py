"""Safe YAML loading: plain data, positions for error messages, and every abuse rejected clearly."""

from __future__ import annotations

import pytest

from bot.core.errors import ConfigError, InputError
from bot.core.yamlload import MAX_ALIAS_NODES, MAX_DEPTH, format_path, load_yaml, suggest

DOC = """\
checklists:
  - id: backend-build
  - id: prod-readiness
    labels: [readiness, ops]
summary:
  day: monday
  time: 09:00
  enabled: off
"""


def error_of(text: str | bytes, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        load_yaml(text, filename="f.yml", **kwargs)
    return info.value


def test_plain_data_and_positions_of_key_paths() -> None:
    doc = load_yaml(DOC, filename=".readiness.yml")
    assert doc.value == {
        "checklists": [{"id": "backend-build"}, {"id": "prod-readiness", "labels": ["readiness", "ops"]}],
        "summary": {"day": "monday", "time": "09:00", "enabled": "off"},
    }
    assert doc.to_python() is doc.value
    assert doc.positions.lookup(("checklists", 1, "id")) == (3, 5)
    assert doc.positions.lookup(("checklists", 1, "id"), value=True) == (3, 9)
    assert doc.positions.lookup(("checklists", 1, "labels", 1)) == (4, 25)
    assert doc.positions(("summary", "time")) == (7, 3)


def test_unknown_paths_fall_back_to_the_nearest_parent() -> None:
    doc = load_yaml(DOC, filename="f.yml")
    # pydantic locations can name keys that are absent or internal (e.g. a union member)
    assert doc.positions.lookup(("checklists", 1, "function-after", "id")) == (3, 5)
    assert doc.positions.lookup(("summary", "timezone")) == (5, 1)
    assert doc.positions.lookup(("nothing", "here")) == (1, 1)


def test_error_helper_renders_file_line_column_and_key_path() -> None:
    doc = load_yaml(DOC, filename=".readiness.yml")
    err = doc.error(
        ("checklists", 1, "id"),
        "unknown checklist 'prod-readiness'",
        suggestion="production-readiness",
        value=True,
        error=ConfigError,
    )
    assert isinstance(err, ConfigError)
    assert str(err) == (
        ".readiness.yml:3:9: checklists[1].id: unknown checklist 'prod-readiness' "
        "(did you mean 'production-readiness'?)"
    )


def test_scalars_follow_yaml_1_2_core_schema() -> None:
    text = "a: yes\nb: on\nc: 09:00\nd: 2024-01-31\ne: true\nf: 12\ng: 0x1F\nh: 1.5\ni: ~\nj: 012\nk: '12'\n"
    assert load_yaml(text, filename="f.yml").value == {
        "a": "yes",
        "b": "on",
        "c": "09:00",
        "d": "2024-01-31",
        "e": True,
        "f": 12,
        "g": 31,
        "h": 1.5,
        "i": None,
        "j": 12,
        "k": "12",
    }


def test_empty_document_is_none() -> None:
    assert load_yaml("", filename="f.yml").value is None
    assert load_yaml("# only a comment\n", filename="f.yml").value is None


def test_documents_over_the_size_limit_are_rejected_before_parsing() -> None:
    err = error_of("a: " + "x" * 200, max_bytes=100)
    assert str(err) == "f.yml: file is 203 bytes; the limit is 100 bytes"


def test_billion_laughs_is_rejected_at_the_alias_that_crosses_the_limit() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    err = error_of("\n".join(lines))
    assert err.line == 5  # e: 9 x 9^3 nodes pushes the expansion past the limit
    assert f"aliases expand to more than {MAX_ALIAS_NODES} nodes" in err.message
    assert "billion laughs" in err.message


def test_modest_aliases_are_fine() -> None:
    doc = load_yaml("base: &b {files: [a, b]}\none: *b\ntwo: *b\n", filename="f.yml")
    assert doc.value["two"] == {"files": ["a", "b"]}


def test_recursive_alias_is_rejected() -> None:
    err = error_of("a: &a [1, *a]\n")
    assert (err.line, err.column) == (1, 11)
    assert "recursive" in err.message


def test_duplicate_keys_report_the_second_occurrence() -> None:
    err = error_of("checklists: []\nlabels: [a]\nchecklists: [x]\n")
    assert str(err) == "f.yml:3:1: checklists: duplicate key 'checklists' (first defined on line 1)"


def test_duplicate_keys_in_nested_mappings() -> None:
    err = error_of("items:\n  - id: a\n    title: A\n    id: b\n")
    assert str(err) == "f.yml:4:5: items[0].id: duplicate key 'id' (first defined on line 2)"


@pytest.mark.parametrize(
    ("text", "line", "column", "needle"),
    [
        ("a: [1, 2\nb: 3\n", 2, 2, "expected ',' or ']'"),
        ("a:\n  b: 1\n c: 2\n", 3, 2, "did not find expected key"),
        ("why: Shared: goals\n", 1, 12, "quote"),
        ("a: 'unterminated\n", 2, 1, "unexpected end of stream"),
    ],
)
def test_syntax_errors_carry_line_and_column(text: str, line: int, column: int, needle: str) -> None:
    err = error_of(text)
    assert (err.line, err.column) == (line, column)
    assert err.message.startswith("YAML syntax error: ")
    assert needle in err.message


def test_non_utf8_bytes_point_at_the_bad_byte() -> None:
    err = error_of(b"a: 1\nb: caf\xe9\n")
    assert str(err) == "f.yml:2:7: file is not valid UTF-8 text"


def test_utf8_bytes_with_bom_are_fine() -> None:
    assert load_yaml("\ufeffa: é\n".encode(), filename="f.yml").value == {"a": "é"}


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['echo pwned']\n",
        "a: !!python/name:os.system\n",
        "a: !!python/object:collections.OrderedDict {}\n",
    ],
)
def test_python_tags_are_rejected(text: str) -> None:
    err = error_of(text)
    assert (err.line, err.column) == (1, 4)
    assert "Python-specific tag" in err.message
    assert "only plain YAML" in err.message


def test_other_tags_are_rejected_but_core_tags_work() -> None:
    assert "unsupported YAML tag '!include'" in error_of("a: !include other.yml\n").message
    assert error_of("a: !!int twelve\n").message == "'twelve' is not a valid int"
    assert load_yaml("a: !!str 12\nb: !!int '7'\n", filename="f.yml").value == {"a": "12", "b": 7}


def test_more_than_one_document_is_rejected() -> None:
    err = error_of("a: 1\n---\nb: 2\n")
    assert err.line == 2
    assert "exactly one" in err.message


def test_deep_nesting_is_rejected_instead_of_crashing() -> None:
    # libyaml's own composer segfaults on this; whichever layer stops it (newer PyYAML
    # refuses deep flow levels itself), the answer is an error with the file and position
    err = error_of("[" * 5000 + "]" * 5000)
    assert (err.file, err.line) == ("f.yml", 1)
    assert err.column is not None


def test_nesting_past_our_limit_names_the_limit_and_the_line() -> None:
    deep = "".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_DEPTH + 2)) + "  " * (MAX_DEPTH + 2) + "v: 1\n"
    err = error_of(deep)
    assert str(MAX_DEPTH) in err.message
    assert err.line == MAX_DEPTH + 1  # the first mapping past the limit


def test_merge_keys_are_rejected() -> None:
    assert "merge keys" in error_of("base: &b {a: 1}\nx:\n  <<: *b\n").message


def test_the_error_class_can_be_chosen() -> None:
    with pytest.raises(ConfigError):
        load_yaml("a: [", filename=".readiness.yml", error=ConfigError)


def test_format_path() -> None:
    assert format_path(("checklists", 1, "id")) == "checklists[1].id"
    assert format_path((0, "a")) == "[0].a"
    assert format_path(("overrides", "my item", "skip")) == "overrides['my item'].skip"
    assert format_path(()) == ""


def test_suggest() -> None:
    assert suggest("evidense", ["evidence", "manual", "why"]) == "evidence"
    assert suggest("contain", ["files", "contains", "ci"]) == "contains"
    assert suggest("prod-readiness", ["production-readiness", "backend-build"]) == "production-readiness"
    assert suggest("zzz", ["files", "contains"]) is None


def test_control_characters_point_at_their_position() -> None:
    assert str(error_of("a: 1\nb: x\x00y\n")) == (
        "f.yml:2:5: control character U+0000 is not allowed in YAML (write it as an escape in a "
        "double-quoted string)"
    )
