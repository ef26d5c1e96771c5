"""One JSON document decoded a record at a time (formats.base._json_document_stream): the records
are those of the document parsed whole, in order, whatever the chunk boundaries; a document that
is malformed anywhere is unreadable; no value is read past MAX_VALUE."""

from __future__ import annotations

import json

import pytest

import roi_pipeline.formats.base as base
from roi_pipeline.formats.base import UnreadableFile, iter_json_objects

DOCUMENTS = {
    "page": '{"data":[\n{"id":1,"x":1.5},\n{"id":2,"x":NaN,"s":"a\\u2028b","n":12345678901234567890}\n],"nextCursor":null}\n',
    "trailer_first": '{"nextCursor":"abc", "data":[{"id":1},{"id":2}]}',
    "empty_page": '{"data":[],"nextCursor":null}',
    "not_a_list": '{"data":null,"id":3}',
    "array_of_pages": '[{"data":[{"id":1}]},{"data":[{"id":2},{"id":3}]}]',
    "array_of_things": '[{"id":1},{"id":2}, 3, "x", null, [1,2], true]',
    "empty_array": "[]",
    "object": '{"id": 7}',
    "empty_object": "{}",
    "number": "12345",
    "pretty": json.dumps({"data": [{"id": i, "v": [i] * 3, "t": "é" * i} for i in range(60)], "n": 1}, indent=2),
    "bom": '\ufeff{"data":[{"id":1}]}',
    "crlf": '{"data":[\r\n{"id":1},\r\n{"id":2}\r\n]}\r\n',
}
MALFORMED = {
    "truncated": '{"data":[{"id":1},{"id":2',
    "extra_data": '{"data":[]} {"data":[]}x',
    "missing_comma": '[{"id":1} {"id":2}]',
    "unquoted_key": "{data:[]}",
    "bad_literal": '{"data":[tru]}',
}


def records(path, stream: bool, monkeypatch) -> list:
    monkeypatch.setattr(base, "STREAM_JSON_BYTES", -1 if stream else 10**12)
    return list(iter_json_objects(path, "data"))


@pytest.mark.parametrize("chunk", [1 << 20, 1, 3, 7])
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_streamed_records_are_the_whole_documents(name, chunk, tmp_path, monkeypatch):
    path = tmp_path / f"{name}.json"
    path.write_text(DOCUMENTS[name], encoding="utf-8", newline="")
    whole = records(path, False, monkeypatch)
    monkeypatch.setattr(base._JsonReader, "CHUNK", chunk)
    streamed = records(path, True, monkeypatch)
    assert json.dumps(streamed, default=repr) == json.dumps(whole, default=repr)
    expected = {"page": 2, "trailer_first": 2, "empty_page": 0, "array_of_pages": 3, "array_of_things": 7}
    assert len(streamed) == expected.get(name, len(streamed))


@pytest.mark.parametrize("chunk", [1 << 20, 3])
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_document_malformed_anywhere_is_unreadable(name, chunk, tmp_path, monkeypatch):
    path = tmp_path / f"{name}.json"
    path.write_text(MALFORMED[name], encoding="utf-8")
    monkeypatch.setattr(base._JsonReader, "CHUNK", chunk)
    for stream in (False, True):
        with pytest.raises(UnreadableFile, match="malformed JSON"):
            records(path, stream, monkeypatch)


def test_not_utf8_is_unreadable(tmp_path, monkeypatch):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"data":[{"name":"Müller"}]}'.encode("latin-1"))
    with pytest.raises(UnreadableFile, match="UTF-8"):
        records(path, True, monkeypatch)


def test_no_value_is_read_past_the_limit(tmp_path, monkeypatch):
    path = tmp_path / "long.json"
    path.write_text('{"data":[{"id":1},{"id":"' + "x" * 5000, encoding="utf-8")  # never terminated
    monkeypatch.setattr(base._JsonReader, "CHUNK", 100)
    monkeypatch.setattr(base._JsonReader, "MAX_VALUE", 1000)
    reader_sizes = []
    original = base._JsonReader._more

    def more(self):
        reader_sizes.append(len(self.buffer))
        return original(self)

    monkeypatch.setattr(base._JsonReader, "_more", more)
    with pytest.raises(UnreadableFile, match="Unterminated string"):
        records(path, True, monkeypatch)
    assert max(reader_sizes) < 1200, "the reader gave up near MAX_VALUE, not at the end of the file"
