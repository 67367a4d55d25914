"""The ``rightshub`` command line (Typer): ``app`` is the entry point
(``[project.scripts] rightshub = "gateway.cli:app"``, or ``python -m gateway.cli``).

The commands live in the private modules beside it, one per area, each with a ``register``;
they all start from :func:`gateway.cli._settings.load_settings`."""

from gateway.cli._app import app

__all__ = ["app"]
