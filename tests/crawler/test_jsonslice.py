"""Slicing a JSON array's items out of a response, byte for byte."""

import json

import pytest

from tenderwatch.crawler.jsonslice import iter_array_items


def test_items_are_the_exact_source_text() -> None:
    text = '{"total_count": 2, "results": [ {"a": 1,  "b": "é"} ,\n{"c": [1, 2]}]}'
    items = list(iter_array_items(text, "results"))
    assert [t for t, _ in items] == ['{"a": 1,  "b": "é"}', '{"c": [1, 2]}']
    assert [v for _, v in items] == [{"a": 1, "b": "é"}, {"c": [1, 2]}]


def test_key_inside_a_string_value_is_not_taken_for_the_array() -> None:
    payload = {"note": 'says "results": [1]', "results": [{"x": 1}]}
    items = list(iter_array_items(json.dumps(payload), "results"))
    assert [v for _, v in items] == [{"x": 1}]


def test_empty_array() -> None:
    assert list(iter_array_items('{"results": []}', "results")) == []


def test_truncated_array_raises() -> None:
    with pytest.raises(ValueError):
        list(iter_array_items('{"results": [{"a": 1}, {"b"', "results"))


def test_missing_array_raises() -> None:
    with pytest.raises(ValueError):
        list(iter_array_items('{"total_count": 0}', "results"))
