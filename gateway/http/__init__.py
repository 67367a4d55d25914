"""The HTTP plumbing under the routers: ASGI middleware, RFC 9457 problem details, strict
JSON bodies and orjson responses, bounded parameters and refused unknown query parameters,
NDJSON streaming ingest and tus resumable uploads. :mod:`gateway.app` wires them together."""
