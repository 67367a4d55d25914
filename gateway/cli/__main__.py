"""``python -m gateway.cli``: the ``rightshub`` command."""

from gateway.cli import app

app()
