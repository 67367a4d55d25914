"""The hub's faces: the FastAPI app (REST ``/v1``, docs, health, metrics) and the CLI.
Nothing imports ``gateway``."""

from gateway.app import create_app

__all__ = ["create_app"]
