"""Is a new JSON Schema of an event's ``data`` compatible with the published one?

Within one event version (``...v<N>``) the rule is: **every event valid under the old
schema stays valid under the new one**, because history is replayed (the embedded broker
republishes each outbox on start, the audit ledger keeps events as published) and must
still validate against the current model. On top of that, ``type`` and ``format`` are
frozen, since they decide how a reader parses a value.

Allowed: adding an optional property, making a required property optional, relaxing a
constraint (a lower minimum, a longer maxLength, dropping a pattern or const), adding an
enum value or a union alternative of an existing type. Adding enum values is allowed
because consumers are tolerant readers: they must handle a value they do not know (log
it, treat it as "other"), never crash on it.

Breaking: removing a property, adding a required property or making one required,
changing a type (including making a value nullable) or a format, removing an enum value
or a union alternative, changing or adding a const, tightening a constraint.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
    (type(None), "null"),
)


def breaking_changes(old_schema: Schema, new_schema: Schema) -> list[str]:
    """Each way ``new_schema`` breaks ``old_schema``, as ``"<path>: <what changed>"``.

    Paths start at ``data`` (the event's data); ``[]`` stands for any array item. Local
    ``$ref``s (``#/$defs/...``) are resolved in their own document. An empty list means
    the change is allowed within one event version.
    """
    return _Comparison(old_schema, new_schema).compare(old_schema, new_schema, "data")


class _Comparison:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self._old_root = old_root
        self._new_root = new_root
        # Pairs of refs being compared right now: a recursive model must not recurse forever.
        self._active: set[tuple[str, str]] = set()

    def compare(self, old: Schema, new: Schema, path: str) -> list[str]:
        refs = (old.get("$ref", ""), new.get("$ref", ""))
        if refs[0] and refs[1]:
            if refs in self._active:
                return []
            self._active.add(refs)
        try:
            return self._compare_resolved(
                _resolve(old, self._old_root), _resolve(new, self._new_root), path
            )
        finally:
            self._active.discard(refs)

    def _compare_resolved(self, old: Schema, new: Schema, path: str) -> list[str]:
        old_types = _types(old, self._old_root)
        new_types = _types(new, self._new_root)
        if old_types != new_types:
            return [f"{path}: type changed from {_show(old_types)} to {_show(new_types)}"]
        if _is_union(old) or _is_union(new):
            return self._compare_unions(old, new, path)
        problems = _value_changes(old, new, path)
        problems += self._compare_objects(old, new, path)
        problems += self._compare_arrays(old, new, path)
        return problems

    def _compare_unions(self, old: Schema, new: Schema, path: str) -> list[str]:
        new_branches = _branches(new, self._new_root)
        problems: list[str] = []
        for old_branch in _branches(old, self._old_root):
            same_type = [
                b
                for b in new_branches
                if _types(b, self._new_root) == _types(old_branch, self._old_root)
            ]
            # The old alternative survives if some new one of its type accepts all it did.
            attempts = sorted((self.compare(old_branch, b, path) for b in same_type), key=len)
            if not attempts:
                problems.append(f"{path}: alternative {_describe(old_branch)} removed")
            elif attempts[0]:
                problems.extend(attempts[0])
        return problems

    def _compare_objects(self, old: Schema, new: Schema, path: str) -> list[str]:
        old_props: Schema = old.get("properties", {})
        new_props: Schema = new.get("properties", {})
        problems = [
            f"{path}: property {name!r} removed" for name in old_props if name not in new_props
        ]
        old_required = set(old.get("required", ()))
        for name in sorted(set(new.get("required", ())) - old_required):
            if name in old_props:
                problems.append(f"{path}: property {name!r} became required")
            else:
                problems.append(f"{path}: required property {name!r} added")
        for name, old_prop in old_props.items():
            if name in new_props:
                problems += self.compare(old_prop, new_props[name], f"{path}.{name}")
        old_extra = old.get("additionalProperties", True)
        new_extra = new.get("additionalProperties", True)
        if new_extra is False and old_extra is not False:
            problems.append(f"{path}: additional properties no longer allowed")
        elif isinstance(old_extra, dict) and isinstance(new_extra, dict):
            problems += self.compare(old_extra, new_extra, f"{path}.*")
        return problems

    def _compare_arrays(self, old: Schema, new: Schema, path: str) -> list[str]:
        problems: list[str] = []
        old_items, new_items = old.get("items"), new.get("items")
        if isinstance(old_items, dict) and isinstance(new_items, dict):
            problems += self.compare(old_items, new_items, f"{path}[]")
        elif isinstance(new_items, dict) and old_items is None and new_items:
            problems.append(f"{path}: array items constrained")
        old_prefix = old.get("prefixItems", [])
        for index, new_item in enumerate(new.get("prefixItems", [])):
            if index < len(old_prefix):
                problems += self.compare(old_prefix[index], new_item, f"{path}[{index}]")
            else:
                problems.append(f"{path}: array item {index} constrained")
        return problems


def _value_changes(old: Schema, new: Schema, path: str) -> list[str]:
    """Changes to which values of the same type are accepted: format, const, enum, bounds."""
    problems: list[str] = []
    if old.get("format") != new.get("format"):
        was, now = old.get("format", "none"), new.get("format", "none")
        problems.append(f"{path}: format changed from {was} to {now}")
    if "const" in new and "const" not in old:
        problems.append(f"{path}: const {new['const']!r} added")
    elif "const" in new and old["const"] != new["const"]:
        problems.append(f"{path}: const changed from {old['const']!r} to {new['const']!r}")
    if "enum" in new:
        if "enum" not in old:
            problems.append(f"{path}: values restricted to enum {new['enum']!r}")
        else:
            problems += [
                f"{path}: enum value {value!r} removed"
                for value in old["enum"]
                if value not in new["enum"]
            ]
    problems += _tightened_bounds(old, new, path)
    return problems


def _tightened_bounds(old: Schema, new: Schema, path: str) -> list[str]:
    problems: list[str] = []
    for key in _LOWER_BOUNDS:
        if key in new and (key not in old or new[key] > old[key]):
            problems.append(f"{path}: {key} tightened from {old.get(key)} to {new[key]}")
    for key in _UPPER_BOUNDS:
        if key in new and (key not in old or new[key] < old[key]):
            problems.append(f"{path}: {key} tightened from {old.get(key)} to {new[key]}")
    if "pattern" in new and new["pattern"] != old.get("pattern"):
        problems.append(f"{path}: pattern changed from {old.get('pattern')} to {new['pattern']}")
    if "multipleOf" in new and (
        "multipleOf" not in old or old["multipleOf"] % new["multipleOf"] != 0
    ):
        problems.append(
            f"{path}: multipleOf tightened from {old.get('multipleOf')} to {new['multipleOf']}"
        )
    if new.get("uniqueItems") and not old.get("uniqueItems"):
        problems.append(f"{path}: items must now be unique")
    return problems


def _resolve(node: Schema, root: Schema) -> Schema:
    """The schema a local ``$ref`` points to, merged with the ref's sibling keywords."""
    seen: set[str] = set()
    while isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"$ref cycle at {ref}")
        seen.add(ref)
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/"):
            if part:
                target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **siblings}
    return _merge_single_allof(node)


def _merge_single_allof(node: Schema) -> Schema:
    # Older pydantic wraps a described $ref as {"allOf": [{"$ref": ...}], "description": ...}.
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        rest = {k: v for k, v in node.items() if k != "allOf"}
        return {**all_of[0], **rest}
    return node


def _is_union(node: Schema) -> bool:
    return "anyOf" in node or "oneOf" in node


def _branches(node: Schema, root: Schema) -> list[Schema]:
    """The alternatives of a union (nested unions and type lists flattened), each resolved."""
    if not _is_union(node):
        declared = node.get("type")
        if isinstance(declared, list) and len(declared) > 1:
            return [{**node, "type": one} for one in declared]
        return [node]
    found: list[Schema] = []
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        found += _branches(_resolve(branch, root), root)
    return found


def _types(node: Schema, root: Schema) -> frozenset[str]:
    """The JSON types a schema accepts; ``any`` when it does not say."""
    node = _resolve(node, root)
    if _is_union(node):
        return frozenset().union(*(_types(b, root) for b in _branches(node, root)))
    declared = node.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(declared)
    values = [node["const"]] if "const" in node else node.get("enum")
    if values is not None:
        return frozenset(_json_type(v) for v in values)
    return frozenset({"any"})


def _json_type(value: Any) -> str:
    for python_type, name in _JSON_TYPES:
        if isinstance(value, python_type):
            return name
    return "any"


def _show(types: frozenset[str]) -> str:
    return " | ".join(sorted(types))


def _describe(node: Schema) -> str:
    title = node.get("title")
    return f"{title!r}" if title else _show(frozenset({str(node.get("type", "any"))}))
