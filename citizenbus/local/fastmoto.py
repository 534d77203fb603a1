"""moto's DynamoDB with costs proportional to the items a call touches (local bus only).

Stock moto (5.x) has two costs that grow with everything stored, not with the call:

- ``TransactWriteItems`` deep-copies every table it names before it starts, to roll back if
  an item fails (about 16 µs per stored item: 0.3 s per filing with 20,000 items).
- ``Query`` walks (and sorts) every item of the table, for an index query and a table query
  alike (about 5 µs per item).

:func:`install` changes only how these find and undo items, never what they answer:

- a transaction keeps a journal of the items it touches (a copy of each before its write, and
  the length of the table's stream) and on cancellation puts back exactly those, so the table
  is as before and its stream has no record of the undone writes (as with moto's copies). The
  checks, their order and the errors (``ConditionalCheckFailed`` with its cancellation reasons,
  validation errors, too many items, one item twice) are moto's own code, unchanged.
- each secondary index gets a maintained map from its partition key to that partition's items,
  sorted as moto sorts them; a query hands moto's own ``Table.query`` just the items of the
  partition after ``ExclusiveStartKey``, so the key condition, ``Limit``, the 1 MB page size,
  ``LastEvaluatedKey``, filters and projections are moto's. A table query gets the items of
  its one hash key. Anything the fast path cannot answer the same way (several key attributes,
  key values of mixed types, a start key without the index's attributes) goes to moto as is.

Further down the same way (each section says what it changes): ``UpdateItem``'s validation
without moto's per-call overheads, an item's 400 KB check summed as it goes, SQS queue counts
in one pass, moto's list of a response class's methods made once per class, the in-process
transport (a URL's handler kept, a plain request's WSGI environment written directly, request
ids in one draw), condition expressions lexed once per text and parsed once per text, names
and values.

``tests/test_fastmoto.py`` runs the same random operations against stock moto and this layer
and asserts the same answers, errors and stream records. The layer keeps its indexes outside
moto's objects (a weak map), so pickling moto's state carries none of it, and it rebuilds an
index when a table's item map was replaced behind its back.
"""

from __future__ import annotations

import bisect
import copy
import io
import json
import os
import pickle
import re
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_LOCK = threading.RLock()
_STATE: dict[str, Any] = {}  # the originals, while installed


class _Partition:
    """One index partition: its items, sorted by moto's index order."""

    __slots__ = ("items", "keys")

    def __init__(self) -> None:
        self.keys: list[tuple[Any, ...]] = []
        self.items: dict[tuple[Any, ...], Any] = {}

    def add(self, sort_key: tuple[Any, ...], item: Any) -> None:
        if sort_key not in self.items:
            bisect.insort(self.keys, sort_key)
        self.items[sort_key] = item

    def remove(self, sort_key: tuple[Any, ...]) -> None:
        if self.items.pop(sort_key, None) is not None:
            position = bisect.bisect_left(self.keys, sort_key)
            del self.keys[position]


class _Index:
    """A secondary index kept in step with its table's writes."""

    def __init__(self, table: Any, index: Any) -> None:
        hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
        ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
        self.usable = len(hashes) == 1 and len(ranges) <= 1
        self.hash_attr = hashes[0] if hashes else ""
        self.range_attr = ranges[0] if ranges else None
        # moto's sort: index hash, index range, table hash, table range; an index without a
        # range key sorts by the table's range key (else its hash key) in that place
        index_range = self.range_attr
        if index_range is None:
            gsi = type(index).__name__ == "GlobalSecondaryIndex"
            index_range = table.range_key_attr if gsi and table.range_key_attr else None
            index_range = index_range or table.hash_key_attr
        order = [self.hash_attr, index_range, table.hash_key_attr, table.range_key_attr]
        self.sort_attrs = [a for a in order if a is not None and a != "None"]
        self.parts: dict[Any, _Partition] = {}
        self.where: dict[tuple[Any, Any], tuple[Any, tuple[Any, ...]]] = {}
        self.items_ref: Any = None
        self.mixed = False  # key values of different types: moto's sort decides
        self.types: dict[str, str] = {}
        self.rebuild(table)

    def rebuild(self, table: Any) -> None:
        self.parts, self.where, self.mixed, self.types = {}, {}, False, {}
        self.items_ref = table.items
        for item in _all(table):
            self.put(_key(item), item)

    def put(self, key: tuple[Any, Any], item: Any | None) -> None:
        old = self.where.pop(key, None)
        if old is not None:
            part = self.parts[old[0]]
            part.remove(old[1])
            if not part.items:
                del self.parts[old[0]]
        if item is None or self.mixed:
            return
        value = item.attrs.get(self.hash_attr)
        if not value or (self.range_attr and not item.attrs.get(self.range_attr)):
            return  # not in the index (moto's query skips it the same way)
        values = [item.attrs[a] for a in self.sort_attrs]
        for attr, v in zip(self.sort_attrs, values, strict=True):
            if self.types.setdefault(attr, v.type) != v.type or v.type not in ("S", "N", "B"):
                self.mixed = True  # moto's own sort decides from now on
                return
        sort_key = tuple(v.cast_value for v in values)
        self.parts.setdefault(value, _Partition()).add(sort_key, item)
        self.where[key] = (value, sort_key)

    def start_after(self, start: dict[str, Any]) -> tuple[Any, ...] | None:
        from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415 - moto loads only with the local bus

        if any(a not in start for a in self.sort_attrs):
            return None
        values = [DynamoType(start[a]) for a in self.sort_attrs]
        if any(
            v.type != self.types.get(a, v.type)
            for a, v in zip(self.sort_attrs, values, strict=True)
        ):
            return None
        return tuple(v.cast_value for v in values)


_INDEXES: weakref.WeakKeyDictionary[Any, dict[str, _Index]] = weakref.WeakKeyDictionary()


def _key(item: Any) -> tuple[Any, Any]:
    return (item.hash_key, item.range_key)


def _all(table: Any) -> Iterator[Any]:
    for value in table.items.values():
        if table.range_key_attr:
            yield from value.values()
        else:
            yield value


def _current(table: Any, key: tuple[Any, Any]) -> Any | None:
    group = table.items.get(key[0]) if key[0] in table.items else None
    if table.range_key_attr:
        return group.get(key[1]) if group is not None else None
    return group


def _reindex(table: Any, key: tuple[Any, Any]) -> None:
    indexes = _INDEXES.get(table)
    if not indexes:
        return
    item = _current(table, key)
    for index in indexes.values():
        if index.items_ref is table.items:
            index.put(key, item)


def _index(table: Any, name: str) -> _Index | None:
    indexes = _INDEXES.setdefault(table, {})
    index = indexes.get(name)
    if index is None or index.items_ref is not table.items:
        found = [i for i in table.all_indexes() if i.name == name]
        if not found:
            return None
        index = indexes[name] = _Index(table, found[0])
    return index


# -- the patched methods -------------------------------------------------------------------------
_OVERRIDE = threading.local()


@contextmanager
def _candidates(table: Any, items: list[Any], presorted: bool) -> Iterator[None]:
    _OVERRIDE.table, _OVERRIDE.items, _OVERRIDE.presorted = table, items, presorted
    try:
        yield
    finally:
        _OVERRIDE.table = _OVERRIDE.items = None


class _CopyShim:
    """``copy`` as moto's table module sees it: the deep copy of a page of query results is
    skipped on the fast path (moto only reads them: projections make new items, the response
    is built from them), every other copy is a real one."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if getattr(_OVERRIDE, "table", None) is not None and isinstance(value, list):
            return list(value)
        return copy.deepcopy(value, memo)


class _ModelsCopyShim:
    """``copy`` as moto's DynamoDB backend module sees it: in ``update_item`` on a table
    without a stream, the copy of the item (the stream record's old image, nothing else) is
    not made; every other copy is a real one."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        uncopied = getattr(_OVERRIDE, "uncopied", False)
        _OVERRIDE.uncopied = False  # only the first copy update_item makes (before it writes)
        if uncopied and type(value) is _STATE["item_class"]:
            return value
        return copy.deepcopy(value, memo)


def _item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    """moto's ``Item.__init__``: its 400 KB check (``LimitedSizeDict``) adds up the whole item
    again for every attribute put in; here the sum runs along, the same sum and the same
    ``ItemSizeTooLarge`` at the same attribute."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge  # noqa: PLC0415 - moto loads only with the local bus
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict  # noqa: PLC0415 - as above

    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    total = 0
    for key, value in attrs.items():
        typed = DynamoType(value)
        size = len(str(key).encode("utf-8")) + typed.size()
        if total + size > 405000:
            raise ItemSizeTooLarge
        dict.__setitem__(self.attrs, key, typed)
        total += size


def _all_items(self: Any) -> list[Any]:
    if getattr(_OVERRIDE, "table", None) is self:
        return list(_OVERRIDE.items)
    result: list[Any] = _STATE["all_items"](self)
    return result


def _sorted_items(self: Any, hash_attrs: Any, range_attrs: Any, items: list[Any]) -> list[Any]:
    if getattr(_OVERRIDE, "table", None) is self and _OVERRIDE.presorted:
        return items
    result: list[Any] = _STATE["sorted_items"](self, hash_attrs, range_attrs, items)
    return result


def _query(
    self: Any,
    hash_key: Any,
    range_comparison: Any,
    range_objs: Any,
    limit: Any,
    exclusive_start_key: Any,
    scan_index_forward: Any,
    *args: Any,
    **kwargs: Any,
) -> Any:
    original = _STATE["query"]
    index_name = args[1] if len(args) > 1 else kwargs.get("index_name")
    with _LOCK:
        plan = _plan(self, index_name, hash_key, exclusive_start_key, scan_index_forward, kwargs)
        if plan is None:
            return original(
                self,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                exclusive_start_key,
                scan_index_forward,
                *args,
                **kwargs,
            )
        items, start, presorted = plan
        with _candidates(self, items, presorted):
            return original(
                self,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                start,
                scan_index_forward,
                *args,
                **kwargs,
            )


def _plan(
    table: Any,
    index_name: str | None,
    hash_key: Any,
    start: dict[str, Any] | None,
    forward: bool,
    kwargs: dict[str, Any],
) -> tuple[list[Any], dict[str, Any] | None, bool] | None:
    """The items moto's query needs to see (ascending), the start key to pass on, and
    whether they are in moto's index order already; None: let moto do it all."""
    if not index_name:  # a table query: the items of one hash key
        if hash_key is None or hash_key not in table.items:
            return ([], start, False) if hash_key is not None else None
        group = table.items[hash_key]
        return (list(group.values()) if table.range_key_attr else [group]), start, False
    conditions = kwargs.get("hash_key_conditions") or []
    ranges = kwargs.get("range_key_conditions") or []
    if len(conditions) != 1 or len(ranges) > 1:
        return None
    index = _index(table, index_name)
    if index is None or not index.usable or index.mixed or conditions[0][0] != index.hash_attr:
        return None
    part = index.parts.get(conditions[0][1])
    if part is None:
        return [], start, True
    keys = part.keys
    if start is not None:
        after = index.start_after(start)
        if after is None:
            return None
        try:
            if forward:
                keys = keys[bisect.bisect_right(keys, after) :]
            else:
                keys = keys[: bisect.bisect_left(keys, after)]
        except TypeError:  # a start key of another type than the index's values
            return None
    if ranges:
        keys = _in_range(index, keys, ranges[0], forward)
    return [part.items[k] for k in keys], None, True


_BOUNDS = {"EQ": (True, True), "=": (True, True), "BETWEEN": (True, True)}
_BOUNDS |= {"LT": (False, True), "<": (False, True), "LE": (False, True), "<=": (False, True)}
_BOUNDS |= {"GT": (True, False), ">": (True, False), "GE": (True, False), ">=": (True, False)}


def _in_range(
    index: _Index, keys: list[tuple[Any, ...]], condition: Any, forward: bool
) -> list[Any]:
    """``keys`` (one partition, ascending) without those a query reads before it reaches the
    sort-key condition's range (below it going forward, above it going backward). Those can
    never be part of a page; what comes after the range stays, since moto's query looks at the
    next candidate to decide on ``LastEvaluatedKey``. Bounds are kept (moto's own query still
    applies the condition)."""
    attr, comparison, values = condition
    if attr != index.range_attr or len(index.sort_attrs) < 2 or not values:
        return keys
    bounds = _BOUNDS.get(str(comparison).upper())
    kind = index.types.get(attr)
    if bounds is None or any(v.type != kind for v in values):
        return keys  # begins_with and the like: moto walks the partition
    low_bound, high_bound = bounds
    cast = [v.cast_value for v in values]
    try:
        if forward and low_bound:
            return keys[bisect.bisect_left(keys, cast[0], key=_second) :]
        if not forward and high_bound:
            return keys[: bisect.bisect_right(keys, cast[-1], key=_second)]
    except TypeError:
        return keys
    return keys


def _second(key: tuple[Any, ...]) -> Any:
    return key[1]


def _put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        item = _STATE["put_item"](self, *args, **kwargs)
        _reindex(self, _key(item))
        return item


def _delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
    with _LOCK:
        item = _STATE["delete_item"](self, hash_key, range_key)
        if item is not None:
            _reindex(self, _key(item))
        return item


def _update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        # moto copies the item before it updates it, for the stream's old image only: a
        # table without a stream skips the copy (see _ModelsCopyShim)
        _OVERRIDE.uncopied = self.get_table(table_name).stream_shard is None
        try:
            item = _STATE["update_item"](self, table_name, key, *args, **kwargs)
        finally:  # changed in place, or partly before an error: counted again when asked
            _OVERRIDE.uncopied = False
            _forget_size(self, table_name, key)
        _reindex(self.get_table(table_name), _key(item))
        return item


def _forget_size(backend: Any, table_name: str, key: dict[str, Any]) -> None:
    try:
        table = backend.get_table(table_name)
        stored = _current(table, backend.get_keys_value(table, key))
    except Exception:
        return
    if stored is not None:
        stored.__dict__.pop(_SIZE, None)


class _Journal:
    """What a transaction changed: each touched item as it was, each stream's length."""

    def __init__(self) -> None:
        self.items: dict[tuple[int, tuple[Any, Any]], tuple[Any, tuple[Any, Any], Any, bool]] = {}
        self.streams: dict[int, tuple[Any, int]] = {}

    def touch(self, table: Any, key: tuple[Any, Any]) -> None:
        slot = (id(table), key)
        if slot not in self.items:
            before = _current(table, key)
            had_group = key[0] in table.items
            self.items[slot] = (table, key, copy.deepcopy(before), had_group)
        if table.stream_shard is not None and id(table) not in self.streams:
            self.streams[id(table)] = (table, len(table.stream_shard.items))

    def undo(self) -> None:
        for table, key, before, had_group in self.items.values():
            hash_key, range_key = key
            if table.range_key_attr:
                group = table.items[hash_key]
                if before is None:
                    group.pop(range_key, None)
                    if not group and not had_group:
                        del table.items[hash_key]
                else:
                    group[range_key] = before
            elif before is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = before
            _reindex(table, key)
        for table, length in self.streams.values():
            del table.stream_shard.items[length:]


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's ``transact_write_items`` (5.x) with a journal of the touched items instead of a
    deep copy of every table it names; the checks and errors are moto's, line for line."""
    from moto.dynamodb.comparisons import get_filter_expression  # noqa: PLC0415 - as above
    from moto.dynamodb.exceptions import (  # noqa: PLC0415 - moto loads only with the local bus
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    journal = _Journal()
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[Any, Any, Any]] = []
    with _LOCK:
        for item in transact_items:
            original_item: dict[str, Any] | None = None
            if len(list(item.keys())) > 1:  # moto undoes nothing here either
                raise TransactWriteSingleOpException
            try:
                op_type, op = next(iter(item.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                condition_expression = op.get("ConditionExpression")
                names = op.get("ExpressionAttributeNames")
                values = op.get("ExpressionAttributeValues")
                on_failure = op.get("ReturnValuesOnConditionCheckFailure")
                if op_type == "Put":
                    attrs = op["Item"]
                    table = self.get_table(table_name)
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]
                check_unicity(table_name, key)
                current = self.get_item(table_name, key)
                if condition_expression is not None:
                    condition_op = get_filter_expression(condition_expression, names, values)
                    if not condition_op.expr(current):
                        if on_failure == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)
                if op_type in ("Put", "Delete", "Update"):
                    table = self.get_table(table_name)
                    hash_key, range_key = self.get_keys_value(table, key)
                    journal.touch(table, (hash_key, range_key))
                if op_type == "Put":
                    self.put_item(
                        table_name,
                        op["Item"],
                        condition_expression=condition_expression,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                elif op_type == "Delete":
                    self.delete_item(
                        table_name,
                        key,
                        condition_expression=condition_expression,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                elif op_type == "Update":
                    self.update_item(
                        table_name,
                        key,
                        update_expression=op["UpdateExpression"],
                        condition_expression=condition_expression,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                journal.undo()
                raise
            except ConditionalCheckFailed as e:
                errors.append(("ConditionalCheckFailed", str(e.message), original_item))
            except Exception as e:  # moto's own: any other failure is a reason
                errors.append((type(e).__name__, str(e), original_item))
        if any(code is not None for code, _, _ in errors):
            journal.undo()
            raise TransactionCanceledException(errors)


def _no_binary(value: Any) -> bool:
    """Whether a wire-format attribute value holds no binary (``B``/``BS``) anywhere."""
    if isinstance(value, dict):
        return "B" not in value and "BS" not in value and all(map(_no_binary, value.values()))
    if isinstance(value, list):
        return all(map(_no_binary, value))
    return True


def _serialize(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
    """moto's response serializer walks every attribute value through the service model
    (about 15 ms per stored request with its history); an ``AttributeValue`` moto holds is
    already in its wire form (``{"S": ...}``, ``{"M": {...}}``), so it is written as it is.
    Binary values still go the long way (their encoding is the serializer's)."""
    if shape.name == "AttributeValue" and isinstance(value, dict) and _no_binary(value):
        self._default_serialize(serialized, value, shape, key)
        return
    _STATE["serialize"](self, serialized, value, shape, key)


def _value_size(value: Any) -> int:
    """moto's ``DynamoType.size()`` (the bytes DynamoDB counts against a 1 MB page), the same
    number without building a ``DynamoType`` for every map value on the way down."""
    kind, raw = value.type, value.value
    if kind == "S":
        return len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw)
    if kind == "N":
        return len(str(raw))
    if kind == "M":
        return sum(
            (len(k.encode("utf-8")) if isinstance(k, str) else len(k)) + _value_size(v)
            for k, v in raw.items()
        )
    if kind == "L":
        return sum(_value_size(v) for v in raw)
    if kind == "NS":
        return sum(len(str(v)) for v in raw)
    if kind in ("SS", "BS"):
        return sum(len(v.encode("utf-8")) if isinstance(v, str) else len(v) for v in raw)
    if isinstance(raw, bool):
        return 1
    return len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw)


def _dynamo_size(self: Any) -> int:
    return _value_size(self)


_SIZE = "_fastmoto_size"


def _item_size(self: Any) -> int:
    """moto's ``Item.size()``: each attribute's name and value (see :func:`_value_size`).

    Kept on the item once counted (moto asks only to cut query, scan and batch-get answers
    at their size limits, two or three times per item returned): an update drops it (see
    :func:`_update_item`, the one way moto changes a stored item in place); a put stores a new
    item, and moto's ``Item.__deepcopy__`` copies only keys and attributes."""
    size: int | None = self.__dict__.get(_SIZE)
    if size is None:
        size = sum(len(k.encode("utf-8")) + _value_size(v) for k, v in self.attrs.items())
        self.__dict__[_SIZE] = size
    return size


def _project(self: Any, projection_expressions: list[list[str]]) -> Any:
    """moto's ``Item.project`` converts the whole item to plain values once per projected
    path; for top-level names (no nested path, no list index) this converts just those
    attributes, the same way (boto3's deserializer, then its serializer: numbers, sets, maps
    and lists come back as moto makes them; strings, booleans and nulls come back as they
    were), into a new item."""
    if any(len(path) != 1 or "[" in path[0] for path in projection_expressions):
        return _STATE["project"](self, projection_expressions)
    from moto.dynamodb.models.dynamo_type import (  # noqa: PLC0415 - moto loads only with the local bus
        DynamoType,
        Item,
        LimitedSizeDict,
        deserializer,
        serializer,
    )

    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(attrs)  # a part of an item that passed the size check on its write
    for (name,) in projection_expressions:
        value = self.attrs.get(name)
        if value is None or name in attrs:
            continue
        wire: Any = {value.type: value.value}
        if value.type not in ("S", "BOOL", "NULL"):
            wire = serializer.serialize(deserializer.deserialize(value.to_regular_json()))
        dict.__setitem__(attrs, name, DynamoType(wire))
    result: Any = Item.__new__(Item)
    result.hash_key, result.range_key, result.attrs = self.hash_key, self.range_key, attrs
    return result


_PATCHES: dict[str, tuple[str, str, Callable[..., Any]]] = {
    "project": ("item", "project", _project),
    "dynamo_size": ("dynamo_type", "size", _dynamo_size),
    "item_size": ("item", "size", _item_size),
    "serialize": ("serializer", "_serialize", _serialize),
    "all_items": ("table", "all_items", _all_items),
    "sorted_items": ("table", "sorted_items", _sorted_items),
    "query": ("table", "query", _query),
    "put_item": ("table", "put_item", _put_item),
    "delete_item": ("table", "delete_item", _delete_item),
    "update_item": ("backend", "update_item", _update_item),
    "transact_write_items": ("backend", "transact_write_items", _transact_write_items),
}


# -- UpdateItem: moto's validator, without its per-call overheads -------------------------------
# moto validates an update expression by deep-copying its parse tree and walking the copy ten
# times (one processor each), building each processor's type map again at every node. Three
# of the processors read only the expression, its names and the table's key attributes
# (``ActionCountValidator``, ``OverlappingPathsValidator``, ``UpdateHashRangeKeyValidator``):
# once one expression with those names passed them, it passes them every time. The other seven
# run on every call as moto runs them; the copy is an unpickling of the kept tree (the same
# objects, a sixth of the time) and each walk builds its type map once.
_EXPRESSION_ONLY = (
    "ActionCountValidator",
    "OverlappingPathsValidator",
    "UpdateHashRangeKeyValidator",
)
_KEPT_LIMIT = 2048
_AST_BYTES: dict[int, tuple[Any, bytes]] = {}  # id(parse tree) → (the tree, its pickle)
_PASSED: dict[tuple[Any, ...], Any] = {}  # (id(tree), names, key attrs) → the tree


def _copy_tree(tree: Any) -> Any:
    kept = _AST_BYTES.get(id(tree))
    if kept is None or kept[0] is not tree:
        try:
            raw = pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # a tree pickle cannot carry: moto's own copy
            return copy.deepcopy(tree)
        if len(_AST_BYTES) >= _KEPT_LIMIT:
            _AST_BYTES.clear()
        kept = _AST_BYTES[id(tree)] = (tree, raw)
    return pickle.loads(kept[1])  # noqa: S301 - our own pickle of moto's parse tree


def _validator_init(
    self: Any,
    expression: Any,
    expression_attribute_names: dict[str, str],
    expression_attribute_values: dict[str, dict[str, Any]],
    item: Any,
    table: Any,
) -> None:
    """moto's ``Validator.__init__``, the tree copied by :func:`_copy_tree`."""
    self.expression_attribute_names = expression_attribute_names
    self.expression_attribute_values = expression_attribute_values
    self.item = item
    self.table = table
    self.processors = self.get_ast_processors()
    self.node_to_validate = _copy_tree(expression)
    self._citizenbus_tree = expression


def _validate(self: Any) -> Any:
    """moto's ``Validator.validate``; the expression-only checks once per expression."""
    tree = getattr(self, "_citizenbus_tree", None)
    names = [type(p).__name__ for p in self.processors[: len(_EXPRESSION_ONLY)]]
    key: tuple[Any, ...] | None = None
    if tree is not None and tuple(names) == _EXPRESSION_ONLY:
        key = (
            id(tree),
            tuple(sorted((self.expression_attribute_names or {}).items())),
            tuple(self.table.table_key_attrs),
        )
    passed = key is not None and _PASSED.get(key) is tree
    node = self.node_to_validate
    for number, processor in enumerate(self.processors):
        if passed and number < len(_EXPRESSION_ONLY):
            continue
        node = processor.traverse(node)
        if key is not None and number == len(_EXPRESSION_ONLY) - 1:
            if len(_PASSED) >= _KEPT_LIMIT:
                _PASSED.clear()
            _PASSED[key] = tree
    return node


def _traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
    """moto's ``DepthFirstTraverser.traverse_node_recursively``: the processor a node type
    gets is looked up once per type and walk (moto builds the type map twice per node and asks
    ``isinstance`` of abstract classes, the walk's main cost), the same processor as moto's."""
    chosen = self.__dict__.get("_citizenbus_chosen")
    if chosen is None:
        chosen = self.__dict__["_citizenbus_chosen"] = {}
    return _walk(self, node, child_id, chosen)


_NODE_TYPES: dict[type, bool] = {}


def _processor_for(self: Any, kind: type, chosen: dict[type, Any]) -> Any:
    """The processor moto's ``process`` picks for a node of type ``kind`` (None: none)."""
    if kind not in chosen:
        mapping = self._processing_map()
        chosen[kind] = next((p for k, p in mapping.items() if issubclass(kind, k)), None)
    return chosen[kind]


def _walk(self: Any, node: Any, child_id: int, chosen: dict[type, Any]) -> Any:
    kind = type(node)
    is_node = _NODE_TYPES.get(kind)
    if is_node is None:
        is_node = _NODE_TYPES[kind] = issubclass(kind, _STATE["node_class"])
    if is_node:
        parent_node = node.parent
        if node.children is not None:
            for i, child_node in enumerate(node.children):
                self.pre_processing_of_child(node, i)
                _walk(self, child_node, i, chosen)
        processor = _processor_for(self, kind, chosen)
        if processor is not None:
            node = processor(node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
    return node


# -- SQS: a queue's attributes and visible messages in one pass -----------------------------------
# moto works out a queue's three message counts by asking each message twice for the time (a
# few µs each), and it does so to read any one attribute: a send reads
# ``ContentBasedDeduplication``, a receive reads ``MessageRetentionPeriod`` once per message
# it returns. A queue nobody drains (an agency's, locally) made every send cost what it holds,
# and a receive what it holds times ten. Here the counts take one clock reading and one pass,
# and the retention period is read from the queue.
def _queue_counts(queue: Any) -> tuple[int, int, int]:
    """(visible and not delayed, delayed, not visible), as moto's properties count them."""
    # moto's SQS clock as moto.sqs.models sees it (a test may move that module's clock)
    from moto.sqs import models  # noqa: PLC0415 - moto loads only with the local bus

    now = models.unix_time_millis()  # type: ignore[attr-defined]
    ready = delayed = hidden = 0
    for message in queue._messages:
        visible = now > message.visible_at
        late = now < message.delayed_until
        ready += visible and not late
        delayed += late
        hidden += not visible
    return ready, delayed, hidden


_COUNTED = {
    "ApproximateNumberOfMessages": 0,
    "ApproximateNumberOfMessagesDelayed": 1,
    "ApproximateNumberOfMessagesNotVisible": 2,
}
_ATTRIBUTE_NAMES: dict[str, str] = {}


def _queue_attributes(self: Any) -> dict[str, Any]:
    """moto's ``Queue.attributes``, the same dict (see :func:`_queue_counts`)."""
    from moto.core.utils import camelcase_to_underscores  # noqa: PLC0415 - as above

    counts = _queue_counts(self)
    result: dict[str, Any] = {}

    def copy_attributes(names: list[str]) -> None:
        for attribute in names:
            if attribute in _COUNTED:
                result[attribute] = counts[_COUNTED[attribute]]
                continue
            name = _ATTRIBUTE_NAMES.get(attribute)
            if name is None:
                name = _ATTRIBUTE_NAMES[attribute] = camelcase_to_underscores(attribute)
            result[attribute] = getattr(self, name)

    copy_attributes(self.BASE_ATTRIBUTES)
    if self.fifo_queue:
        copy_attributes(self.FIFO_ATTRIBUTES)
    if self.kms_master_key_id:
        copy_attributes(self.KMS_ATTRIBUTES)
    if self.policy:
        result["Policy"] = self.policy
    if self.redrive_policy:
        result["RedrivePolicy"] = json.dumps(self.redrive_policy)
    for key, value in result.items():
        if isinstance(value, bool):
            result[key] = str(value).lower()
    return result


def _queue_messages(self: Any) -> list[Any]:
    """moto's ``Queue.messages`` (visible, not delayed), with one clock reading."""
    from moto.sqs import models  # noqa: PLC0415 - as above

    now = models.unix_time_millis()  # type: ignore[attr-defined]
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _retention_ok(self: Any, queue_name: str, message: Any) -> bool:
    """moto's ``is_message_valid_based_on_retention_period``, the period read from the queue
    (what ``get_queue_attributes(["MessageRetentionPeriod"])`` answers)."""
    from moto.sqs import models  # noqa: PLC0415 - as above

    retention_period = self.get_queue(queue_name).message_retention_period
    retain_until = retention_period + message.sent_timestamp / 1000
    return bool(retain_until > models.unix_time())  # type: ignore[attr-defined]


# -- the in-process transport: moto's router and request, without their per-call walks -------
# Every call a function makes reaches moto through botocore's ``before-send`` hook
# (``BotocoreStubber``), which (1) tries the URL against each service's patterns (~50 regular
# expressions) and then each of the chosen backend's URL patterns, rebuilt from its templates
# on every call; (2) turns botocore's prepared request into a werkzeug request through
# werkzeug's test ``EnvironBuilder``; (3) names the response with a 52-character id drawn one
# character at a time. None of it exists in AWS. Here: (1) the handler a URL resolves to is
# kept (moto's own resolution the first time; the URL maps are fixed once moto is imported);
# (2) a request with a body of bytes and a plain ASCII path gets the same WSGI environment
# written directly (tests/test_fastmoto.py compares it with werkzeug's, key by key); anything
# else goes werkzeug's way; (3) the same kind of id, drawn in one call.
_ROUTES: dict[str, tuple[str, Any]] = {}
_ROUTES_KEPT = 4096
_PLAIN_PATH = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._~-")
_ID_POOL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _route(clean_url: str) -> tuple[str, Any] | None:
    """(service, the handler moto calls) for ``clean_url``, as moto's stubber finds them."""
    found = _ROUTES.get(clean_url)
    if found is not None:
        return found
    from moto import backends  # noqa: PLC0415 - moto loads only with the local bus
    from moto.core import botocore_stubber  # noqa: PLC0415 - as above
    from moto.core.base_backend import BackendDict  # noqa: PLC0415 - as above
    from moto.core.models import DEFAULT_ACCOUNT_ID  # noqa: PLC0415 - as above

    backend_index: Any = vars(botocore_stubber)["backend_index"]
    get_backend: Any = backends.get_backend

    for service, pattern in backend_index.backend_url_patterns:
        if not pattern.match(clean_url):
            continue
        backend_dict = get_backend(service)
        if isinstance(backend_dict, BackendDict):
            regions = backend_dict[DEFAULT_ACCOUNT_ID]
            backend = regions["us-east-1"] if "us-east-1" in regions else regions["aws"]
        else:
            backend = backend_dict["global"]
        for url, method_to_execute in backend.urls.items():
            if re.compile(url).match(clean_url):
                if len(_ROUTES) >= _ROUTES_KEPT:
                    _ROUTES.clear()
                found = _ROUTES[clean_url] = (service, method_to_execute)
                return found
        return None  # moto's own code answers (what it does with no handler)
    return None


def _process_request(self: Any, request: Any) -> Any:
    """moto's ``BotocoreStubber.process_request`` with the handler looked up by :func:`_route`;
    the pass-through and allow-list checks run on every call as moto runs them."""
    from moto.core import botocore_stubber  # noqa: PLC0415 - as above
    from moto.core.request import normalize_request  # noqa: PLC0415 - as above
    from moto.core.utils import get_equivalent_url_in_aws_domain  # noqa: PLC0415 - as above
    from moto.moto_api import recorder  # noqa: PLC0415 - as above
    from werkzeug.exceptions import HTTPException  # noqa: PLC0415 - what moto catches here

    stubber: Any = botocore_stubber  # its helpers, as the stubber itself calls them

    parsed_url, _ = get_equivalent_url_in_aws_domain(request.url)
    clean_url = f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}"
    found = None if stubber.passthrough_url(clean_url) else _route(clean_url)
    if found is None:
        return _STATE["process_request"](self, request)
    service, method_to_execute = found
    if stubber.passthrough_service(service):
        return None
    if not stubber.service_whitelisted(service):
        raise stubber.ServiceNotWhitelisted(service)
    normalized_request = normalize_request(request)
    try:
        recorder._record_request(normalized_request)
        status, headers, body = method_to_execute(
            normalized_request, normalized_request.raw_url, normalized_request.headers
        )
    except HTTPException as e:
        status, headers, body = e.code, e.get_headers(), e.get_body()
    return status, headers, body


def wsgi_environ(method: str, url: str, headers: Any, body: Any) -> dict[str, Any] | None:
    """The WSGI environment werkzeug's ``EnvironBuilder`` makes of moto's
    ``Request.from_primitives(method, url, headers, body)``, written directly; None when the
    request is not the plain kind (no body of bytes, a path or query beyond plain ASCII, a
    header werkzeug would refuse): then werkzeug builds it."""
    if not isinstance(body, bytes) or not body or not isinstance(url, str):
        return None
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    path, _, query = (slash + tail).partition("?")
    path = path or ""
    if not sep or "#" in tail or not path or not set(path) <= _PLAIN_PATH:
        return None
    if not (query.isascii() and netloc.isascii() and "@" not in netloc and "[" not in netloc):
        return None
    host, colon, port = netloc.partition(":")
    if colon and not port.isdigit():
        return None
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REQUEST_URI": path,
        "RAW_URI": path,
        "SERVER_NAME": host,
        "SERVER_PORT": port if colon else ("443" if scheme == "https" else "80"),
        "HTTP_HOST": netloc,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    content_type = None
    combined: dict[str, list[str]] = {}
    for key, raw in headers.items():
        value = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if not isinstance(key, str) or not isinstance(value, str) or "\n" in value:
            return None
        if "\r" in value or not key.isascii():
            return None
        lower = key.lower()
        if lower in {"transfer-encoding", "content-length"}:
            continue
        if lower == "content-type":
            if content_type is None:
                content_type = value
            continue
        combined.setdefault(f"HTTP_{key.upper().replace('-', '_')}", []).append(value)
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    environ["CONTENT_LENGTH"] = str(len(body))
    for key, values in combined.items():
        environ[key] = ", ".join(values)
    return environ


def _from_primitives(cls: Any, method: str, url: str, headers: Any, body: Any = None) -> Any:
    """moto's ``Request.from_primitives``, the environment from :func:`wsgi_environ`."""
    from moto.core.request import (  # noqa: PLC0415 - as above
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        environ_key_for_header,
        should_preserve_original_header_name,
    )

    environ = wsgi_environ(method, url, headers, body)
    if environ is None:
        return _STATE["from_primitives"].__func__(cls, method, url, headers, body)
    request = cls(environ)
    request.environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {
        environ_key_for_header(key): key
        for key in headers
        if key.lower() != "transfer-encoding" and should_preserve_original_header_name(key)
    }
    request.environ.setdefault("CONTENT_LENGTH", "0")
    return request


def _request_id(headerdict: dict[str, Any] | None = None) -> str:
    """moto's ``gen_amzn_requestid_long``: 52 letters and digits from moto's random source."""
    from moto.moto_api._internal import mock_random  # noqa: PLC0415 - as above

    req_id = "".join(mock_random.choices(_ID_POOL, k=52))
    if headerdict is not None and isinstance(headerdict, dict):
        headerdict.update({"x-amzn-requestid": req_id})
    return req_id


# -- condition expressions: each text lexed once ------------------------------------------------
# moto lexes a condition or filter expression (every ConditionExpression of a write or a
# transaction item, every FilterExpression) with a dozen regular expressions, token by token,
# on every call: the bus sends the same few texts. The tokens of a text are kept (its names
# and values are substituted later, per call, by moto's own parser); a text moto cannot lex
# raises every time.
_LEXED: dict[str, tuple[Any, ...]] = {}


def _lex_condition_expression(self: Any) -> Any:
    """moto's ``ConditionExpressionParser._lex_condition_expression``, kept per text (fresh
    nodes each time: moto's later stages get nodes of their own)."""
    from collections import deque  # noqa: PLC0415 - as moto builds it

    text = self.condition_expression
    kept = _LEXED.get(text)
    if kept is None:
        kept = tuple(_STATE["lex"](self))
        if len(_LEXED) >= _KEPT_LIMIT:
            _LEXED.clear()
        _LEXED[text] = kept
    return deque(node._replace(children=list(node.children)) for node in kept)


# A condition's parsed tree, kept per (text, names, values): a transaction item's condition is
# parsed three times per call (moto checks the names and values used, evaluates it, and the
# put evaluates it again), and a conditional write without values ("attribute_not_exists")
# is the same tree every time. The tree's operators only read the item they are given
# (their state is set in __init__), so one tree serves every evaluation; the names and values
# the parser found are handed to the caller as moto's parse records them. Values moto holds
# as bytes (binary) are not kept: parsed each time.
_PARSED: dict[tuple[str, str, str], tuple[Any, list[str], list[str]]] = {}


def _parse_condition(self: Any) -> Any:
    """moto's ``ConditionExpressionParser.parse``, kept per text, names and values."""
    try:
        key = (
            self.condition_expression or "",
            json.dumps(self.expression_attribute_names, sort_keys=True),
            json.dumps(self.expression_attribute_values, sort_keys=True),
        )
    except (TypeError, ValueError):
        return _STATE["parse_condition"](self)
    kept = _PARSED.get(key)
    if kept is None:
        names, values = len(self.expr_attr_names_found), len(self.expr_attr_values_found)
        op = _STATE["parse_condition"](self)  # a bad expression raises: nothing kept
        kept = (
            op,
            list(self.expr_attr_names_found[names:]),
            list(self.expr_attr_values_found[values:]),
        )
        if len(_PARSED) >= _KEPT_LIMIT:
            _PARSED.clear()
        _PARSED[key] = kept
        return op
    self.expr_attr_names_found.extend(kept[1])
    self.expr_attr_values_found.extend(kept[2])
    return kept[0]


_MORE_PATCHES: dict[str, tuple[str, str, Callable[..., Any]]] = {
    "validator_init": ("validator", "__init__", _validator_init),
    "validate": ("validator", "validate", _validate),
    "traverse": ("traverser", "traverse_node_recursively", _traverse_node_recursively),
    "item_init": ("item", "__init__", _item_init),
    "queue_attributes": ("queue", "attributes", property(_queue_attributes)),  # type: ignore[dict-item]
    "queue_messages": ("queue", "messages", property(_queue_messages)),  # type: ignore[dict-item]
    "retention": ("sqs_backend", "is_message_valid_based_on_retention_period", _retention_ok),
    "process_request": ("stubber", "process_request", _process_request),
    "lex": ("condition_parser", "_lex_condition_expression", _lex_condition_expression),
    "parse_condition": ("condition_parser", "parse", _parse_condition),
    "from_primitives": ("request", "from_primitives", classmethod(_from_primitives)),  # type: ignore[dict-item]
}


def _more_owners() -> dict[str, Any]:
    from moto.core.botocore_stubber import BotocoreStubber  # noqa: PLC0415 - as above
    from moto.core.request import Request  # noqa: PLC0415 - as above
    from moto.dynamodb.comparisons import ConditionExpressionParser  # noqa: PLC0415 - as above
    from moto.dynamodb.models.dynamo_type import Item  # noqa: PLC0415 - as above
    from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined]  # noqa: PLC0415 - as above
        DepthFirstTraverser,
    )
    from moto.dynamodb.parsing.validators import Validator  # noqa: PLC0415 - as above
    from moto.sqs.models import Queue, SQSBackend  # noqa: PLC0415 - as above

    return {
        "stubber": BotocoreStubber,
        "request": Request,
        "condition_parser": ConditionExpressionParser,
        "item": Item,
        "validator": Validator,
        "traverser": DepthFirstTraverser,
        "queue": Queue,
        "sqs_backend": SQSBackend,
    }


def _owners() -> dict[str, Any]:
    import moto.dynamodb.models.table as table_module  # noqa: PLC0415 - as above
    from moto.core.serialize import ResponseSerializer  # noqa: PLC0415 - as above
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415 - moto loads only with the local bus
    from moto.dynamodb.models.dynamo_type import DynamoType, Item  # noqa: PLC0415 - as above
    from moto.dynamodb.models.table import Table  # noqa: PLC0415 - as above
    from moto.dynamodb.parsing.expressions import (  # type: ignore[attr-defined]  # noqa: PLC0415 - as above
        UpdateExpressionParser,
    )

    return {
        "table": Table,
        "backend": DynamoDBBackend,
        "serializer": ResponseSerializer,
        "table_module": table_module,
        "dynamo_type": DynamoType,
        "item": Item,
        "update_parser": UpdateExpressionParser,
    }


def install() -> None:
    """Patch moto's DynamoDB classes (idempotent; the whole process, like moto itself).

    Also: moto's EventBridge parses a target's JSONPath for every event it routes; parsed paths
    are kept (``jsonpath_ng`` parsers hold no state between matches).
    """
    import functools  # noqa: PLC0415 - only when the layer goes in

    import jsonpath_ng.ext  # noqa: PLC0415 - moto's dependency, loaded with it

    if os.environ.get("CITIZENBUS_STOCK_MOTO") == "1":  # to measure the difference
        return
    with _LOCK:
        if _STATE:
            return
        parse = jsonpath_ng.ext.parse  # type: ignore[attr-defined]
        if not hasattr(parse, "cache_info"):
            jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(parse)  # type: ignore[attr-defined]
        owners = _owners()
        for name, (owner, attr, patched) in _PATCHES.items():
            _STATE[name] = getattr(owners[owner], attr)
            setattr(owners[owner], attr, patched)
        more = _more_owners()
        for name, (owner, attr, patched) in _MORE_PATCHES.items():
            _STATE[name] = more[owner].__dict__[attr]
            setattr(more[owner], attr, patched)
        import moto.core.responses as responses_module  # noqa: PLC0415 - as above
        import moto.dynamodb.models as models_module  # noqa: PLC0415 - as above
        from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined]  # noqa: PLC0415 - as above
            Node,
        )

        # moto lists a response class's methods (inspect.getmembers) on every call it answers;
        # a class's methods do not change while it serves, so the list is made once per class
        listed = vars(responses_module)["method_names_from_class"]
        _STATE["method_names"] = listed
        vars(responses_module)["method_names_from_class"] = functools.cache(listed)
        _STATE["request_id"] = vars(responses_module)["gen_amzn_requestid_long"]
        vars(responses_module)["gen_amzn_requestid_long"] = _request_id
        _STATE["node_class"] = Node
        _STATE["item_class"] = more["item"]
        _STATE["models_copy"] = vars(models_module)["copy"]
        vars(models_module)["copy"] = _ModelsCopyShim
        _STATE["copy"] = owners["table_module"].copy
        owners["table_module"].copy = _CopyShim
        # An update expression's parse tree, kept per expression text (a filing's status
        # change sends the same few): moto's validator deep-copies the tree before it fills
        # in values, so a kept tree is never changed; a bad expression raises each time.
        parser = owners["update_parser"]
        _STATE["update_parse"] = parser.__dict__["make"]
        parser.make = staticmethod(functools.lru_cache(maxsize=512)(parser.make))


def uninstall() -> None:
    """Put moto's own methods back (the differential tests compare the two)."""
    with _LOCK:
        if not _STATE:
            return
        owners = _owners()
        for name, (owner, attr, _patched) in _PATCHES.items():
            setattr(owners[owner], attr, _STATE[name])
        more = _more_owners()
        for name, (owner, attr, _patched) in _MORE_PATCHES.items():
            setattr(more[owner], attr, _STATE[name])
        import moto.dynamodb.models as models_module  # noqa: PLC0415 - as above

        vars(models_module)["copy"] = _STATE["models_copy"]
        import moto.core.responses as responses_module  # noqa: PLC0415 - as above

        vars(responses_module)["method_names_from_class"] = _STATE["method_names"]
        vars(responses_module)["gen_amzn_requestid_long"] = _STATE["request_id"]
        _ROUTES.clear()
        _LEXED.clear()
        _PARSED.clear()
        _AST_BYTES.clear()
        _PASSED.clear()
        owners["table_module"].copy = _STATE["copy"]
        owners["update_parser"].make = _STATE["update_parse"]
        _STATE.clear()
        _INDEXES.clear()


def forget() -> None:
    """Drop every maintained index (each is rebuilt from its table at its next query): for
    code that writes into a moto table's item map directly instead of through ``put_item``
    (restoring saved state, say). Replacing ``table.items`` wholesale needs no call."""
    with _LOCK:
        _INDEXES.clear()


def installed() -> bool:
    return bool(_STATE)
