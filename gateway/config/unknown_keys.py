"""Unknown keys of the config file, named by their full path (msgspec alone says `$.providers[...]` for
dict values). A table of a union tagged on a field (`kind`) is checked against the member it names, and a
key of another member says whose it is."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

__all__ = ["reject_unknown_keys"]


def reject_unknown_keys(raw: object, info: msgspec.inspect.Type, path: str) -> None:
    """Name the full path of an unknown key (msgspec alone says `$.providers[...]` for dict values)."""
    if isinstance(info, msgspec.inspect.StructType) and isinstance(raw, dict):
        _reject_unknown_fields(raw, info, path, ())
    elif isinstance(info, msgspec.inspect.DictType) and isinstance(raw, dict):
        for key, value in raw.items():
            reject_unknown_keys(value, info.value_type, f"{path}.{key}")
    elif isinstance(info, msgspec.inspect.ListType) and isinstance(raw, list):
        for index, value in enumerate(raw):
            reject_unknown_keys(value, info.item_type, f"{path}[{index}]")
    elif isinstance(info, msgspec.inspect.UnionType):
        tagged = [member for member in info.types if isinstance(member, msgspec.inspect.StructType) and member.tag]
        if tagged and isinstance(raw, dict):
            _reject_tagged(raw, tagged, path)
            return
        for member in info.types:
            reject_unknown_keys(raw, member, path)


def _reject_tagged(raw: dict[str, object], members: list[msgspec.inspect.StructType], path: str) -> None:
    """A table of a union tagged on a field (`kind`): its keys are checked against the member it names."""
    field = members[0].tag_field or ""
    by_tag = {member.tag: member for member in members}
    tag = raw.get(field)
    chosen = by_tag.get(tag) if isinstance(tag, str) else None
    if chosen is None:
        expected = ", ".join(repr(tag) for tag in by_tag)
        raise msgspec.ValidationError(f"`{path}.{field}` must be one of {expected}, not {tag!r}")
    _reject_unknown_fields(raw, chosen, path, [member for member in members if member is not chosen])


def _reject_unknown_fields(
    raw: dict[str, object], info: msgspec.inspect.StructType, path: str, others: Sequence[msgspec.inspect.StructType]
) -> None:
    fields = {field.encode_name: field.type for field in info.fields}
    for key, value in raw.items():
        if key == info.tag_field:
            continue
        where = f"{path}.{key}" if path else key
        if key not in fields:
            owners = [str(other.tag) for other in others if any(f.encode_name == key for f in other.fields)]
            if owners:
                kinds = " and ".join(f"`{owner}`" for owner in owners)
                raise msgspec.ValidationError(f"unknown key `{where}`: a key of {kinds} providers, not of `{info.tag}`")
            raise msgspec.ValidationError(f"unknown key `{where}`")
        reject_unknown_keys(value, fields[key], where)
