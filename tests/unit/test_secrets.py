"""Secrets stay out of the frame locals an error reporter records (Sentry and friends walk them)."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

import aiokinesis
from aiokinesis._signing import FrozenCredentials, SigV4Signer
from tests.fakes import FakeTime

from .conftest import ANY_URL, make_client

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE-session-token"


def frames(error: BaseException) -> Iterator[types.FrameType]:
    """Every frame of the error's traceback and of its causes' and contexts'."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            yield tb.tb_frame
            tb = tb.tb_next
        pending += [exc.__cause__, exc.__context__]


def raw_strings(value: object, depth: int = 0) -> Iterator[str]:
    """The strings inside a value as a reporter walking dicts and lists takes them (not their repr)."""
    if isinstance(value, str):
        yield str.__str__(value)
    elif depth < 4 and isinstance(value, dict):
        for key, item in value.items():
            yield from raw_strings(key, depth + 1)
            yield from raw_strings(item, depth + 1)
    elif depth < 4 and isinstance(value, list | tuple):
        for item in value:
            yield from raw_strings(item, depth + 1)


def leaks(error: BaseException) -> list[str]:
    """`function: local` for each local whose repr shows a secret; in our own frames, a local
    holding the secret as a string (in a dict or list too, whatever their repr) counts as well."""
    found = []
    for frame in frames(error):
        ours = "/aiokinesis/" in frame.f_code.co_filename
        for name, value in frame.f_locals.items():
            shown = [repr(value), *(raw_strings(value) if ours else ())]
            if any(SECRET in text or TOKEN in text for text in shown):
                found.append(f"{frame.f_code.co_name}: {name}")
    return found


async def test_the_request_path_keeps_the_token_and_secret_out_of_frame_locals(
    fake_time: FakeTime, http: aioresponses
) -> None:
    seen: list[dict[str, Any]] = []

    def explode(url: Any, **kwargs: Any) -> None:
        seen.append(kwargs["headers"])
        raise aiohttp.ClientConnectionError("the network broke")

    http.post(ANY_URL, callback=explode)
    kinesis = make_client(
        fake_time,
        aws_secret_access_key=SECRET,
        aws_session_token=TOKEN,
        retry=aiokinesis.RetryConfig(max_attempts=1),
    )
    async with kinesis:
        with pytest.raises(aiokinesis.TransportError) as caught:
            await kinesis.put_record(stream_name="s", data=b"x", partition_key="k")
    names = {frame.f_code.co_name for frame in frames(caught.value)}
    assert {"invoke", "_send", "_request", "explode"} <= names  # the walk reached the post
    assert leaks(caught.value) == []
    [headers] = seen
    assert headers["X-Amz-Security-Token"] == TOKEN  # still sent as it is
    assert TOKEN not in repr(headers)


def test_the_signer_keeps_the_secret_token_and_key_out_of_its_frame_locals() -> None:
    class Refusing(str):
        """A region whose bytes cannot be had: raises inside the key derivation, after the
        canonical request (with the token) has been hashed."""

        def encode(self, *args: Any, **kwargs: Any) -> bytes:
            raise RuntimeError("no bytes today")

    signer = SigV4Signer(Refusing("us-east-1"))
    with pytest.raises(RuntimeError) as caught:
        signer.headers("h", "T.Op", b"{}", FrozenCredentials("AKIDEXAMPLE", SECRET, TOKEN), 1_764_000_000.0)
    names = [frame.f_code.co_name for frame in frames(caught.value)]
    assert "headers" in names
    assert "_signing_key" in names
    assert leaks(caught.value) == []


def test_the_signing_key_cache_hides_what_it_holds() -> None:
    signer = SigV4Signer("us-east-1")
    signer.headers("h", "T.Op", b"", FrozenCredentials("AKIDEXAMPLE", SECRET, TOKEN), 1_764_000_000.0)
    cache = signer._key_cache
    assert cache is not None
    assert SECRET not in repr(cache)
    assert cache.key.hex() not in repr(cache)
