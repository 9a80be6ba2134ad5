"""One client's transport: aiohttp pool, signing, endpoints, retries, error mapping.

This module and _http1 are the only ones that send through aiohttp; its exceptions are
translated once (_http1.transport_error) into aiokinesis.errors and chained with `raise ... from`.
One implementation serves Kinesis and DynamoDB: a `Service` descriptor, chosen at construction, says what differs.
"""

from __future__ import annotations

import asyncio
import enum
import io
import platform
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import orjson

from ._credentials import CredentialSource, RegionSource
from ._diagnose import request_misfit, response_misfit
from ._endpoints import Endpoint, EndpointResolver
from ._http1 import ResponseStream, check_crc32, transport_error
from ._http2pool import MISSING_H2, Http2Pool, h2_available, read_error_body, request_headers, tls_context
from ._invoker import BodyStream
from ._metrics import GuardedSink, measured
from ._protocol import OperationSpec, loads_object, parse_error
from ._retry import RetryPolicy
from ._runtime import Runtime
from ._service import Service
from ._signing import SigV4Signer, payload_hash
from ._version import __version__
from .config import HttpConfig, RetryConfig
from .errors import (
    ClientClosedError,
    ClientError,
    KinesisError,
    ServiceError,
    TransportError,
)

T = TypeVar("T")
_LOCAL_REGION = "us-east-1"
# aiohttp warns (ResourceWarning) about raw bytes bodies above 1 MiB; as BytesIO it writes them
# in chunks, yielding to the loop between them. PutRecords goes up to 5 MiB (10 with large records).
_LARGE_BODY = 1024 * 1024
# Unsigned, as botocore leaves it: AWS attributes traffic by it, proxies may rewrite it.
USER_AGENT = f"aiokinesis/{__version__} aiohttp/{aiohttp.__version__} Python/{platform.python_version()}"


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class Session:
    """Sends signed operations; opened on first use or explicitly, closed once, never reopened."""

    def __init__(
        self,
        *,
        service: Service,
        region: RegionSource,
        endpoint_url: str | None,
        credentials: CredentialSource,
        http: HttpConfig,
        retry: RetryConfig,
        use_fips: bool,
        use_dual_stack: bool,
        http_session: aiohttp.ClientSession | None,
        runtime: Runtime,
    ) -> None:
        self._service = service
        self._crc32_header = service.crc32_header
        self._regions = region
        self._region = region.known
        self._endpoint_url = endpoint_url
        self._credentials = credentials
        self._http_config = http
        self._use_fips = use_fips
        self._use_dual_stack = use_dual_stack
        self._http = http_session
        self._owns_http = http_session is None
        self._runtime = runtime
        self._clock = runtime.clock
        self.retry = RetryPolicy(retry, runtime)
        self._siblings: list[Session] = []
        self._state = _State.UNOPENED
        self._open_lock = asyncio.Lock()
        self._signer: SigV4Signer | None = None
        self._endpoints: EndpointResolver | None = None
        # Responses whose body is being read: closing aiohttp's pool drops their connections
        # without a word to the readers (they would wait forever), so close() fails them itself.
        self._live: set[aiohttp.ClientResponse] = set()
        self._h2: Http2Pool | None = None
        self._h2_decided = False
        self.metrics: GuardedSink | None = None
        """Where calls are reported (the client's metrics=); None: nowhere, at no cost."""

    @property
    def closed(self) -> bool:
        return self._state is _State.CLOSED

    @property
    def service(self) -> Service:
        return self._service

    @property
    def unclosed_pool(self) -> bool:
        """True while this session, or a sibling made from it, owns an aiohttp pool it has not closed."""
        own = self._owns_http and self._http is not None and not self._http.closed
        return own or any(sibling.unclosed_pool for sibling in self._siblings)

    def sibling(
        self,
        service: Service,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        use_fips: bool | None = None,
        use_dual_stack: bool | None = None,
        http: HttpConfig | None = None,
        retry: RetryConfig | None = None,
    ) -> Session:
        """A session for another service with this one's credentials, region and runtime; closed with it.

        The credential chain and the configured region are resolved once for both. The sibling
        has its own retry quota (a throttled lease table spends no Kinesis retries) and its own
        connection pool, so lease renewals never queue for a connection behind reads and writes,
        unless this session was given the caller's aiohttp session: then that one (its proxy, TLS
        and tracing settings) carries both. `endpoint_url` is not inherited: it names one service.
        The region, FIPS, dual-stack, HTTP and retry settings are, unless given."""
        if self._state is _State.CLOSED:
            raise ClientClosedError("the client is closed")
        sibling = Session(
            service=service,
            region=self._regions if region is None else RegionSource(region, None),
            endpoint_url=endpoint_url,
            credentials=self._credentials,
            http=self._http_config if http is None else http,
            retry=self.retry.config if retry is None else retry,
            use_fips=self._use_fips if use_fips is None else use_fips,
            use_dual_stack=self._use_dual_stack if use_dual_stack is None else use_dual_stack,
            http_session=None if self._owns_http else self._http,
            runtime=self._runtime,
        )
        sibling.metrics = self.metrics
        self._siblings = [*(s for s in self._siblings if not s.closed), sibling]
        return sibling

    async def open(self) -> None:
        async with self._open_lock:
            if self._state is _State.CLOSED:
                raise ClientClosedError("the client is closed")
            if self._state is _State.OPEN:
                return
            region = self._region
            if region is None:
                region = await self._regions.get()
                if self.closed:  # closed while the thread ran: make no pool
                    raise ClientClosedError("the client was closed while it opened")
            if region is None and self._endpoint_url is not None:
                region = _LOCAL_REGION
            if region is None:
                raise ClientError(
                    "no region: pass region=..., or set AWS_REGION / AWS_DEFAULT_REGION or a profile's region"
                )
            self._region = region
            service = self._service
            self._endpoints = EndpointResolver(
                service,
                region=region,
                endpoint_url=self._endpoint_url,
                use_fips=self._use_fips,
                use_dual_stack=self._use_dual_stack,
            )
            unsigned = {"User-Agent": USER_AGENT}
            if service.crc32_header is not None:  # the checksum is of the bytes sent: ask for them unencoded
                unsigned["Accept-Encoding"] = "identity"
            self._signer = SigV4Signer(region, service.signing_name, unsigned, content_type=service.content_type)
            if self._http is None:
                config = self._http_config
                verify = config.verify
                tls = verify if isinstance(verify, bool) else tls_context(verify, http2=False)
                self._http = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(
                        limit=config.max_connections, keepalive_timeout=config.keepalive_timeout, ssl=tls
                    ),
                    timeout=aiohttp.ClientTimeout(
                        total=None, sock_connect=config.connect_timeout, sock_read=config.read_timeout
                    ),
                )
            self._state = _State.OPEN

    async def close(self) -> None:
        """Idempotent; closes the aiohttp session only if this session created it, and its siblings.

        Calls in flight then raise ClientClosedError, whatever aiohttp makes of the closed pool."""
        self._state = _State.CLOSED
        live, self._live = self._live, set()
        for response in live:
            response.content.set_exception(ClientClosedError("the client was closed during the call"))
        siblings, self._siblings = self._siblings, []
        for sibling in siblings:
            await sibling.close()
        if self._h2 is not None:
            await self._h2.close()
        if self._owns_http and self._http is not None:
            await self._http.close()

    @property
    def region(self) -> str | None:
        return self._region

    async def _ready(self) -> EndpointResolver:
        if self._state is not _State.OPEN:
            await self.open()
        assert self._endpoints is not None
        return self._endpoints

    def _closed(self) -> bool:
        """What the retry policy asks between attempts: a closed client makes no more."""
        return self._state is _State.CLOSED

    async def _with_retries(self, attempt_once: Callable[[], Awaitable[T]]) -> T:
        return await self.retry.attempts(attempt_once, self._closed)

    async def _attempts(self, attempt_once: Callable[[], Awaitable[T]], retries: bool) -> T:
        return await (self._with_retries(attempt_once) if retries else attempt_once())

    async def invoke(self, spec: OperationSpec, body: dict[str, Any], parse: Callable[[dict[str, Any]], T]) -> T:
        """Send one operation with retries and parse its answer; raises KinesisError subclasses."""
        endpoints = self._endpoints if self._state is _State.OPEN else await self._ready()
        assert endpoints is not None
        endpoint = endpoints.resolve(spec, body)
        try:
            payload = orjson.dumps(body)
        except orjson.JSONEncodeError as exc:  # a lone surrogate, a 65-bit integer: named by field
            raise request_misfit(spec.name, body, exc, self._service.shapes) from None
        digest = payload_hash(payload)  # once, whatever the attempts
        if self.metrics is None:  # RetryPolicy.attempts, its first attempt inline: two frames fewer on every resume
            failure: ServiceError | TransportError | None = None
            try:
                answer = await self._send(spec, endpoint.url, endpoint.host, payload, digest)
            except (ServiceError, TransportError) as exc:
                failure = exc
            else:
                self.retry.succeeded(0)
            if failure is not None:
                answer = await self.retry.retried(
                    failure, lambda: self._send(spec, endpoint.url, endpoint.host, payload, digest), self._closed
                )
        else:  # the same, each attempt's failure and the call's outcome reported
            attempt = lambda: self._send(spec, endpoint.url, endpoint.host, payload, digest)  # noqa: E731
            answer = await measured(self.metrics, spec.name, body, self._with_retries, attempt)
        try:
            return parse(answer)
        except (KinesisError, MemoryError):
            raise
        except Exception as exc:  # any failure to parse is the answer's fault
            raise response_misfit(spec.name, answer, exc, shapes=self._service.shapes) from exc

    async def open_stream(self, spec: OperationSpec, body: dict[str, Any], *, retries: bool = True) -> BodyStream:
        """Send an operation whose answer is a stream; the caller reads and closes it.

        Over HTTP/2 (a stream of a shared connection) when it can be, else HTTP/1.1 (a connection
        of its own). Retries cover getting the stream, never a stream already being read; with
        `retries=False` one attempt is made, for a caller that paces its own (SubscribeToShard:
        AWS refuses a shard's second call within a second, so the session's quick retries would
        only be refused)."""
        endpoint = (await self._ready()).resolve(spec, body)
        try:
            payload = orjson.dumps(body)
        except orjson.JSONEncodeError as exc:
            raise request_misfit(spec.name, body, exc, self._service.shapes) from None
        digest = payload_hash(payload)
        pool = self._http2_pool()
        if pool is not None:
            stream = await self._attempts(lambda: self._request_h2(pool, spec, endpoint, payload, digest), retries)
            if stream is not None:
                if self._state is _State.CLOSED:  # closed as the answer came in
                    stream.close()
                    raise ClientClosedError(f"{spec.name}: the client was closed during the call")
                return stream
        response = await self._attempts(
            lambda: self._request(spec, endpoint.url, endpoint.host, payload, digest), retries
        )
        self._live.add(response)  # until the stream is closed
        if self._state is _State.CLOSED:  # closed as the answer came in
            response.close()
            raise ClientClosedError(f"{spec.name}: the client was closed during the call")
        return ResponseStream(response, spec.name, endpoint.host, self)

    @property
    def http2(self) -> Http2Pool | None:
        """The HTTP/2 pool of streamed calls, once the first one made it (for tests and figures)."""
        return self._h2

    def _http2_pool(self) -> Http2Pool | None:
        """The HTTP/2 pool, made on first use; None for HTTP/1.1: HttpConfig.http2 off, an aiohttp
        session given (its proxy and TLS settings are HTTP/1.1's), or h2 missing (said once)."""
        if not self._h2_decided:
            self._h2_decided = True
            config = self._http_config
            if config.http2 and self._owns_http:
                if h2_available():
                    self._h2 = Http2Pool(config)
                else:
                    MISSING_H2.give()
        return self._h2

    async def _request_h2(
        self, pool: Http2Pool, spec: OperationSpec, endpoint: Endpoint, payload: bytes, digest: str
    ) -> BodyStream | None:
        """One HTTP/2 attempt: a 2xx stream unread, None if the host speaks HTTP/1.1 only, else raised."""
        assert self._signer is not None
        creds = await self._credentials.get()
        if self._state is _State.CLOSED:  # closed while the credentials were fetched
            raise ClientClosedError(f"{spec.name}: the client is closed")
        url, host = endpoint.url, endpoint.host
        stream = await pool.request(
            url,
            host,
            request_headers(
                url, host, self._signer.headers(host, spec.target, payload, creds, self._clock(), digest), payload
            ),
            payload,
            spec.name,
        )
        if stream is None or stream.status < 300:
            return stream
        raise parse_error(stream.status, stream.headers, await read_error_body(stream), self._service.errors)

    async def _send(self, spec: OperationSpec, url: str, host: str, payload: bytes, digest: str) -> dict[str, Any]:
        response = await self._request(spec, url, host, payload, digest)
        return loads_object(await self._read(response, spec.name, host))

    async def _read(self, response: aiohttp.ClientResponse, what: str, host: str) -> bytes:
        """The whole body; the response goes back to the pool (or is dropped) either way."""
        live = self._live
        live.add(response)
        try:
            if self._state is _State.CLOSED:  # closed as the answer came in: its connection is gone
                raise ClientClosedError(f"{what}: the client was closed during the call")
            body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self.failure(exc, what, host) from exc
        finally:
            live.discard(response)
            response.release()
        if self._crc32_header is not None:
            check_crc32(self._crc32_header, response, body, what, host)
        return body

    async def _request(
        self, spec: OperationSpec, url: str, host: str, payload: bytes, digest: str
    ) -> aiohttp.ClientResponse:
        """POST a signed request (`digest`: its payload's hash); a 2xx response is returned unread, else raised."""
        assert self._http is not None
        assert self._signer is not None
        # No local holds the headers: the session token is in them (shown as *** by their repr),
        # and error reporters record the locals of the frames a failure passes through.
        creds = self._credentials.current() or await self._credentials.refreshed()
        if self._state is _State.CLOSED:  # closed while the credentials were fetched
            raise ClientClosedError(f"{spec.name}: the client is closed")
        try:
            body = payload if len(payload) <= _LARGE_BODY else io.BytesIO(payload)
            response = await self._http.post(
                url, data=body, headers=self._signer.headers(host, spec.target, payload, creds, self._clock(), digest)
            )
            if response.status < 300:
                return response
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self.failure(exc, spec.name, host) from exc
        except RuntimeError as exc:  # aiohttp's "Session is closed": ours, or one the caller gave and closed
            if self._http.closed:
                raise ClientClosedError(f"{spec.name}: the HTTP session is closed") from exc
            raise
        raise parse_error(
            response.status, response.headers, await self._read(response, spec.name, host), self._service.errors
        )

    def forget(self, response: aiohttp.ClientResponse) -> None:
        """A streamed answer is closed by its reader: close() need not fail it any more."""
        self._live.discard(response)

    def failure(self, exc: aiohttp.ClientError | TimeoutError, what: str, host: str) -> KinesisError:
        """The error for an aiohttp failure: ClientClosedError if this session was closed meanwhile
        (closing the pool breaks the exchanges in flight), else the transport error."""
        if self._state is _State.CLOSED:
            return ClientClosedError(f"{what}: the client was closed during the call")
        return transport_error(exc, what, host)
