"""AWS's rules for the tags of a stream, consumer or queue: one home for every operation that sets
them (CreateStream, AddTagsToStream, RegisterStreamConsumer, CreateQueue, TagResource).

The model checks each key's length (1-128) and value's (0-256) first, as a ValidationException.
What it does not check is here, an InvalidArgumentException as kinesis-mock answers and as
AddTagsToStream always did here: at most 50 tags on a resource (counting those it keeps), keys
not starting with the reserved `aws:`, and the characters the model's documentation allows
("Unicode letters, digits, white space, or these symbols: _ . : / = + - @").
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ._state import ApiError

TAG_LIMIT = 50
"""AWS: a Kinesis resource has at most 50 tags."""
_ALLOWED = re.compile(r"[\w\s.:/=+\-@]*")
"""Python's Unicode \\w (letters, digits, underscore) and \\s, and the documented symbols."""


def check_tags(tags: Mapping[str, str], current: Mapping[str, str]) -> None:
    """Refuse tags a resource holding `current` cannot take; the caller then merges them."""
    reserved = [key for key in tags if key.lower().startswith("aws:")]
    if reserved:
        raise ApiError("InvalidArgumentException", f"Tag keys cannot start with 'aws:' (reserved): {reserved}.")
    for part, texts in (("keys", list(tags)), ("values", list(tags.values()))):
        broken = [text for text in texts if _ALLOWED.fullmatch(text) is None]
        if broken:
            raise ApiError(
                "InvalidArgumentException",
                f"Tag {part} may contain only Unicode letters, digits, white space and _ . : / = + - @: {broken}.",
            )
    count = len({**current, **tags})
    if count > TAG_LIMIT:
        raise ApiError(
            "InvalidArgumentException",
            f"A resource can have at most {TAG_LIMIT} tags: this request would leave it with {count}.",
        )


def tag_list(tags: Mapping[str, str], keys: list[str] | None = None) -> list[dict[str, str]]:
    """Tags as ListTagsForStream and ListTagsForResource answer them: by key, in key order."""
    return [{"Key": key, "Value": tags[key]} for key in (sorted(tags) if keys is None else keys)]
