"""AWS Signature Version 4 for JSON POSTs, byte-identical to botocore's SigV4Auth.

Cheap on the hot path: the signing key is derived once per (day, secret), the
canonical headers that never change per (host, target) are joined once, and no
botocore request object is built.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from ._protocol import JSON_1_1

_ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True, slots=True)
class FrozenCredentials:
    """One consistent set of keys; repr never shows the secret or the token."""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"FrozenCredentials(access_key={self.access_key[:4]}..., secret_key=***)"


class _Secret(str):
    """A header value that is a secret: sent as is, shown as *** by repr (a header dict's repr
    is what error reporters and debuggers show of aiohttp's frames)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


@dataclass(frozen=True, slots=True)
class _SigningKey:
    """The derived key of one day and secret; repr shows neither."""

    day: str
    secret: str
    key: bytes

    def __repr__(self) -> str:
        return f"_SigningKey(day={self.day!r})"


def payload_hash(body: bytes) -> str:
    """The body's SHA-256 as the canonical request holds it (hex): the same for every attempt."""
    return hashlib.sha256(body).hexdigest()


class SigV4Signer:
    """Signs POST / requests with the headers an AWS JSON service needs, for one region and service.

    The secret, the session token and the signing key never sit in a local variable of
    these frames (only inside objects whose repr hides them), so an error reporter that
    records frame locals does not record them."""

    def __init__(
        self,
        region: str,
        service: str = "kinesis",
        extra_headers: dict[str, str] | None = None,
        content_type: str = JSON_1_1,
    ) -> None:
        self._region = region
        self._service = service
        self._extra_headers = extra_headers or {}
        self._content_type = content_type
        self._head = f"POST\n/\n\ncontent-type:{content_type}\nhost:"
        """The canonical request up to the host: the same for every request of this signer."""
        self._key_cache: _SigningKey | None = None
        self._stamp_cache: tuple[int, str] = (-1, "")

    def _amz_date(self, now: float) -> str:
        second = int(now)
        cached_second, stamp = self._stamp_cache
        if cached_second != second:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
            self._stamp_cache = (second, stamp)
        return stamp

    def _signing_key(self, day: str, creds: FrozenCredentials) -> bytes:
        cached = self._key_cache
        if cached is None or cached.day != day or cached.secret != creds.secret_key:
            digest = hmac.digest
            self._key_cache = cached = _SigningKey(
                day,
                creds.secret_key,
                digest(
                    digest(
                        digest(
                            digest(f"AWS4{creds.secret_key}".encode(), day.encode(), "sha256"),
                            self._region.encode(),
                            "sha256",
                        ),
                        self._service.encode(),
                        "sha256",
                    ),
                    b"aws4_request",
                    "sha256",
                ),
            )
        return cached.key

    def headers(
        self, host: str, target: str, body: bytes, creds: FrozenCredentials, now: float, body_hash: str | None = None
    ) -> dict[str, str]:
        """The headers to send, Authorization included, for a request made at `now` (epoch s).

        `body_hash` is the body's `payload_hash`, if the caller has it: a request retried is hashed once."""
        amz_date = self._amz_date(now)
        day = amz_date[:8]
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        if body_hash is None:
            body_hash = payload_hash(body)
        if creds.token is None:
            signed = "content-type;host;x-amz-date;x-amz-target"
            canonical_hash = hashlib.sha256(
                f"{self._head}{host}\nx-amz-date:{amz_date}\nx-amz-target:{target}\n\n{signed}\n{body_hash}".encode()
            ).hexdigest()
        else:  # the token goes into the canonical request inline: no local holds it
            signed = "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
            canonical_hash = hashlib.sha256(
                f"{self._head}{host}\nx-amz-date:{amz_date}\n"
                f"x-amz-security-token:{' '.join(creds.token.split())}\nx-amz-target:{target}\n\n"
                f"{signed}\n{body_hash}".encode()
            ).hexdigest()
        to_sign = f"{_ALGORITHM}\n{amz_date}\n{scope}\n{canonical_hash}"
        signature = hmac.new(self._signing_key(day, creds), to_sign.encode(), "sha256").hexdigest()
        headers = {
            "Content-Type": self._content_type,
            "X-Amz-Target": target,
            "X-Amz-Date": amz_date,
            "Authorization": (
                f"{_ALGORITHM} Credential={creds.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
            ),
            **self._extra_headers,
        }
        if creds.token is not None:
            headers["X-Amz-Security-Token"] = _Secret(creds.token)
        return headers
