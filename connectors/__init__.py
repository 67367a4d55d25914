"""Outbound HTTP to agency systems: pull connectors, push deliveries, the agency simulator.

Empty until the connectors issue."""

__all__: list[str] = []
