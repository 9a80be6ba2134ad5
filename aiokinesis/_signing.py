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

from ._protocol import CONTENT_TYPE

_ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True, slots=True)
class FrozenCredentials:
    """One consistent set of keys; repr never shows the secret or the token."""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"FrozenCredentials(access_key={self.access_key[:4]}..., secret_key=***)"


class SigV4Signer:
    """Signs POST / requests with the headers Kinesis needs for one region and service."""

    def __init__(self, region: str, service: str = "kinesis") -> None:
        self._region = region
        self._service = service
        self._key_cache: tuple[str, str, bytes] | None = None  # (day, secret, key)
        self._stamp_cache: tuple[int, str] = (-1, "")

    def _amz_date(self, now: float) -> str:
        second = int(now)
        cached_second, stamp = self._stamp_cache
        if cached_second != second:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
            self._stamp_cache = (second, stamp)
        return stamp

    def _signing_key(self, day: str, secret: str) -> bytes:
        cached = self._key_cache
        if cached is not None and cached[0] == day and cached[1] == secret:
            return cached[2]
        key = hmac.digest(f"AWS4{secret}".encode(), day.encode(), "sha256")
        for part in (self._region, self._service, "aws4_request"):
            key = hmac.digest(key, part.encode(), "sha256")
        self._key_cache = (day, secret, key)
        return key

    def headers(self, host: str, target: str, body: bytes, creds: FrozenCredentials, now: float) -> dict[str, str]:
        """The headers to send, Authorization included, for a request made at `now` (epoch s)."""
        amz_date = self._amz_date(now)
        day = amz_date[:8]
        token = creds.token
        if token is None:
            canonical_headers = (
                f"content-type:{CONTENT_TYPE}\nhost:{host}\nx-amz-date:{amz_date}\nx-amz-target:{target}\n"
            )
            signed = "content-type;host;x-amz-date;x-amz-target"
        else:
            canonical_headers = (
                f"content-type:{CONTENT_TYPE}\nhost:{host}\nx-amz-date:{amz_date}\n"
                f"x-amz-security-token:{' '.join(token.split())}\nx-amz-target:{target}\n"
            )
            signed = "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
        canonical = f"POST\n/\n\n{canonical_headers}\n{signed}\n{hashlib.sha256(body).hexdigest()}"
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        to_sign = f"{_ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(day, creds.secret_key), to_sign.encode(), "sha256").hexdigest()
        headers = {
            "Content-Type": CONTENT_TYPE,
            "X-Amz-Target": target,
            "X-Amz-Date": amz_date,
            "Authorization": (
                f"{_ALGORITHM} Credential={creds.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
            ),
        }
        if token is not None:
            headers["X-Amz-Security-Token"] = token
        return headers
