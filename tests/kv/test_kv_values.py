"""The KV store's pure parts: Kestra's typing of values, PUT bodies, kvType, TTL, keys, and
the in-memory store's expiry and overwrite rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ostinato.kv.access import KvClient, MemoryKv
from ostinato.kv.entries import entry_from_record, entry_record, record_key, ref_of_record_key
from ostinato.kv.values import (MAX_VALUE_BYTES, KvError, KvTooLarge, check_size, coerce,
                                parse_body, parse_ttl, typed, validate_key)
from ostinato.wire.codec import default_codec

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("body, kind, value", [
    ('"hello"', "STRING", "hello"),          # Terraform quotes a plain string
    ("hello", "STRING", "hello"),            # a bare word (Ion symbol)
    ("42", "NUMBER", 42),
    ("3.5", "NUMBER", 3.5),
    ("true", "BOOLEAN", True),
    ('{"a": [1, 2]}', "JSON", {"a": [1, 2]}),
    ("[1, 2]", "JSON", [1, 2]),
    ("PT1H", "DURATION", "PT1H"),            # read back as a Duration, as Kestra does
    ('"PT5M"', "DURATION", "PT5M"),
    ("2024-05-01T10:00:00Z", "DATETIME", "2024-05-01T10:00:00Z"),
    ("2024-05-01", "DATE", "2024-05-01"),
])
def test_put_bodies_are_typed_as_kestra_types_them(body: str, kind: str, value: object) -> None:
    parsed = parse_body(body)
    assert (parsed.type, parsed.value) == (kind, value)


@pytest.mark.parametrize("body", ["", "hello world", "{not json"])
def test_a_body_that_is_no_value_is_refused(body: str) -> None:
    with pytest.raises(KvError, match="Invalid JSON value"):
        parse_body(body)


@pytest.mark.parametrize("value, kv_type, kind, stored", [
    ("42", "NUMBER", "NUMBER", 42),
    ("TRUE", "BOOLEAN", "BOOLEAN", True),
    ("no", "BOOLEAN", "BOOLEAN", False),
    ('{"x": 1}', "JSON", "JSON", {"x": 1}),
    ("PT90M", "DURATION", "DURATION", "PT1H30M"),
    ("2024-05-01T12:00:00+02:00", "DATETIME", "DATETIME", "2024-05-01T10:00:00Z"),
    ("2024-05-01", "DATE", "DATE", "2024-05-01"),
    ("42", "STRING", "STRING", "42"),
    (42, "STRING", "NUMBER", 42),             # a typed value keeps its own type
    ("plain", None, "STRING", "plain"),
    ({"a": 1}, None, "JSON", {"a": 1}),
])
def test_kv_type_converts_a_string_value(value: object, kv_type: str | None, kind: str,
                                         stored: object) -> None:
    result = coerce(value, kv_type)
    assert (result.type, result.value) == (kind, stored)


def test_a_string_not_of_its_kv_type_is_refused_naming_the_type() -> None:
    with pytest.raises(KvError, match="is not a NUMBER"):
        coerce("forty-two", "NUMBER")
    with pytest.raises(KvError, match="Unknown kvType"):
        coerce("1", "INTEGER")


def test_keys_follow_kestras_rule() -> None:
    assert validate_key("my_key.v-1") == "my_key.v-1"
    for bad in ("", "-lead", "has space", "a/b", None):
        with pytest.raises(KvError):
            validate_key(bad)


def test_ttl_is_an_iso_duration_and_never_negative() -> None:
    assert parse_ttl("PT1H") == timedelta(hours=1)
    assert parse_ttl(None) is None
    with pytest.raises(KvError, match="ttl"):
        parse_ttl("one hour")
    with pytest.raises(KvError, match="negative"):
        parse_ttl("-PT1H")


def test_a_value_over_the_limit_is_refused_pointing_to_internal_storage() -> None:
    with pytest.raises(KvTooLarge, match="internal storage"):
        check_size(typed("x" * (MAX_VALUE_BYTES + 1)))


def test_an_entry_round_trips_through_its_avro_record() -> None:
    store = MemoryKv(lambda: T0)
    entry = store.put("acme", "company.team", "k", typed({"a": 1}), ttl=timedelta(minutes=5))
    codec = default_codec()
    _, record = codec.decode(codec.encode("KeyValue", entry_record(entry)), expected="KeyValue")
    assert entry_from_record(record) == entry
    assert ref_of_record_key(record_key("acme", "company.team", "k")) == entry.ref
    assert ref_of_record_key(record_key(None, "company.team", "k")) == (None, "company.team", "k")
    expires = entry.listing()["expirationDate"]
    assert datetime.fromisoformat(expires.replace("Z", "+00:00")) == T0 + timedelta(minutes=5)


def test_memory_store_expires_keeps_creation_date_and_honours_overwrite() -> None:
    now = [T0]
    store = MemoryKv(lambda: now[0])
    store.put(None, "ns", "k", typed("one"), ttl=timedelta(seconds=10))
    now[0] = T0 + timedelta(seconds=5)
    second = store.put(None, "ns", "k", typed("two"), ttl=timedelta(seconds=10))
    assert second.created == T0 and second.updated == now[0]
    with pytest.raises(KvError, match="overwrite"):
        store.put(None, "ns", "k", typed("three"), overwrite=False)
    now[0] = T0 + timedelta(seconds=16)
    assert store.get(None, "ns", "k") is None and store.list(None, "ns") == []
    assert store.delete(None, "ns", "k") is False
    store.put(None, "ns", "k", typed("four"), overwrite=False)  # expired: free again
    assert store.get(None, "other", "k") is None and store.get("t2", "ns", "k") is None


def test_the_kv_function_defaults_to_the_flow_namespace_and_errors_on_missing() -> None:
    store = MemoryKv(lambda: T0)
    store.put(None, "company.team", "k", typed(7))
    store.put(None, "company", "parent", typed("p"))
    client = KvClient(store, None, "company.team")
    assert client.function("k") == 7
    assert client.function("parent", "company") == "p"
    assert client.function("missing", None, False) is None
    with pytest.raises(KvError, match="'missing' does not exist in the namespace 'company.team'"):
        client.function("missing")
