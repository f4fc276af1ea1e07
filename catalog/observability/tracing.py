"""OpenTelemetry spans for a request through api -> service -> store and storage.

Off unless an OTLP endpoint is configured (`ICEFLOE_OTLP_ENDPOINT`), and then free: nothing of
the SDK is imported, `span()` hands back one shared do-nothing context manager, and no span
object is made. When on, the request span is the trace's root (or continues the caller's W3C
`traceparent`), its trace id is the request id in the access log and the `X-Request-Id`
header, and spans opened in the service (also on the worker threads the routes hand work to:
the thread pool copies the context) are its children.

The tracer is held here, not passed down: the service opens spans deep inside the commit path,
where threading a tracer through every constructor would buy nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

_tracer: Any = None
_provider: Any = None
_OFF: AbstractContextManager[None] = contextlib.nullcontext()


def enabled() -> bool:
    return _tracer is not None


def span(name: str) -> AbstractContextManager[Any]:
    """A child span of the current one while the block runs; nothing at all when off."""
    if _tracer is None:
        return _OFF
    manager: AbstractContextManager[Any] = _tracer.start_as_current_span(name)
    return manager


def configure(endpoint: str | None, service_name: str = "icefloe") -> None:
    """Export spans over OTLP/HTTP to `endpoint` (e.g. http://collector:4318/v1/traces). The
    exporter's standard variables (OTEL_EXPORTER_OTLP_HEADERS, ..._TIMEOUT, OTEL_BSP_*) apply."""
    if not endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    use(provider)


def use(provider: Any) -> None:
    """Trace with `provider` (an SDK TracerProvider) from now on; None turns tracing off."""
    global _tracer, _provider
    if _provider is not None and _provider is not provider:
        _provider.shutdown()
    _provider = provider
    _tracer = provider.get_tracer("icefloe") if provider is not None else None


class RequestSpan:
    """The server span of one HTTP request, current while the request is handled."""

    def __init__(self, scope: Mapping[str, Any]) -> None:
        from opentelemetry import context, trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers", [])
            if name in (b"traceparent", b"tracestate")
        }
        parent = TraceContextTextMapPropagator().extract(carrier) if carrier else None
        self._method = str(scope.get("method", ""))
        self._span = _tracer.start_span(self._method, context=parent, kind=trace.SpanKind.SERVER)
        self._token = context.attach(trace.set_span_in_context(self._span, parent))
        self.trace_id = format(self._span.get_span_context().trace_id, "032x")

    def end(self, operation: str, status: int) -> None:
        from opentelemetry import context
        from opentelemetry.trace import StatusCode

        self._span.update_name(f"{self._method} {operation}")
        self._span.set_attribute("http.request.method", self._method)
        self._span.set_attribute("http.response.status_code", status)
        self._span.set_attribute("icefloe.operation", operation)
        if status >= 500:
            self._span.set_status(StatusCode.ERROR)
        self._span.end()
        context.detach(self._token)


def request_span(scope: Mapping[str, Any]) -> RequestSpan | None:
    return RequestSpan(scope) if _tracer is not None else None
