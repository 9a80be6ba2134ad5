"""Endpoints from botocore's endpoint rule set of the service, resolved once per distinct input.

Kinesis's rule set picks the host from the region, FIPS/dual-stack, the operation type
(control or data plane) and any ARN in the request (account-scoped hosts); DynamoDB's from the
region and FIPS/dual-stack. Results are cached on exactly those inputs, so the hot path is one
dict lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._protocol import OperationSpec
from .errors import ClientError

if TYPE_CHECKING:
    from botocore.endpoint_provider import EndpointProvider

    from ._service import Service

_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str
    host: str
    """The Host header value, as SigV4 signs it: the port only when it is not the scheme's default."""
    signing_region: str


def endpoint_for_url(url: str, signing_region: str) -> Endpoint:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"endpoint_url must be an http(s) URL with a host, not {url!r}")
    if parts.path not in ("", "/") or parts.query:
        raise ClientError(f"endpoint_url must not have a path or query (the service is served at /): {url!r}")
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default_port = 443 if parts.scheme == "https" else 80
    host = name if parts.port in (None, default_port) else f"{name}:{parts.port}"
    return Endpoint(f"{parts.scheme}://{parts.netloc}/", host, signing_region)


class EndpointResolver:
    """Resolves (operation, request ARNs) to an Endpoint; a fixed endpoint_url short-cuts all."""

    def __init__(
        self, service: Service, *, region: str, endpoint_url: str | None, use_fips: bool, use_dual_stack: bool
    ) -> None:
        self._service = service
        self._region = region
        self._fixed = endpoint_url and endpoint_for_url(endpoint_url, region)
        self._builtins = {
            "Region": region,
            "UseFIPS": use_fips,
            "UseDualStack": use_dual_stack,
            **service.endpoint_params,
        }
        self._provider: EndpointProvider | None = None
        self._cache: dict[tuple[str, tuple[str | None, ...]], Endpoint] = {}

    def resolve(self, spec: OperationSpec, body: dict[str, Any]) -> Endpoint:
        if self._fixed:
            return self._fixed
        key = (spec.name, tuple(body.get(member) for _, member in spec.context_params))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            found = self._cache[key] = self._resolve(spec, body)
        return found

    def _resolve(self, spec: OperationSpec, body: dict[str, Any]) -> Endpoint:
        # botocore's rule-set engine is imported on first use: endpoint_url users never pay for it.
        from botocore.endpoint_provider import EndpointProvider  # noqa: PLC0415
        from botocore.exceptions import EndpointResolutionError  # noqa: PLC0415
        from botocore.loaders import create_loader  # noqa: PLC0415

        if self._provider is None:
            loader = create_loader()
            self._provider = EndpointProvider(
                loader.load_service_model(self._service.endpoint_rules, "endpoint-rule-set-1"),
                loader.load_data("partitions"),
            )
        params: dict[str, Any] = {**self._builtins, **spec.static_params}
        for param, member in spec.context_params:
            if body.get(member) is not None:
                params[param] = body[member]
        try:
            resolved = self._provider.resolve_endpoint(**params)
        except EndpointResolutionError as exc:
            raise ClientError(f"no {self._service.name} endpoint for {spec.name} with {params}: {exc}") from exc
        region = self._region
        for scheme in resolved.properties.get("authSchemes", ()):
            region = scheme.get("signingRegion", region)
        return endpoint_for_url(resolved.url, region)
