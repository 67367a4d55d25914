"""import-linter contract types of RightsHub (``[tool.importlinter]`` in pyproject.toml).

``package_fronts``: a package imports another package only through its front, the package
itself (``from hub import Hub``) or a named public module (``hub.tables``, ``hub.archive``),
never a private module: none of the names below the other package's top level may start with
``_`` (``hub._db``, ``hub.archive._service``, ``auth._policy``). A package's own private
modules are its own business: ``hub.archive._service`` may import ``hub._archive_db``.

import-linter's wildcards stand for whole module names only, so a ``forbidden`` contract cannot
say "any module starting with ``_``"; and its built-in ``private_modules`` contract keeps a
private module to its parent package (``gateway.http._tus`` to ``gateway.http``), stricter than
these fronts, which are drawn between the top-level packages."""

from __future__ import annotations

from typing import Any

import grimp
from importlinter import Contract, ContractCheck, fields, output


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def reaches_behind_front(importer: str, imported: str) -> bool:
    """Whether ``importer`` imports a private module of another top-level package."""
    if _top(importer) == _top(imported):
        return False
    return any(_is_private(part) for part in imported.split(".")[1:])


class PackageFrontsContract(Contract):
    """Packages import each other only through their fronts.

    Options:
        - packages: the top-level packages whose private modules no other package may import.
    """

    type_name = "package_fronts"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        packages = set(self.packages)  # type: ignore[call-overload]
        links: list[dict[str, Any]] = []
        for imported in sorted(graph.modules):
            if _top(imported) not in packages:
                continue
            for importer in sorted(graph.find_modules_that_directly_import(imported)):
                if _top(importer) in packages and reaches_behind_front(importer, imported):
                    details = graph.get_import_details(importer=importer, imported=imported)
                    links.append({
                        "importer": importer,
                        "imported": imported,
                        "line_numbers": tuple(d["line_number"] for d in details),
                    })
        return ContractCheck(kept=not links, metadata={"links": links})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error(
            "Imports of another package's private modules (import its front instead):",
            bold=False,
        )
        output.new_line()
        for link in check.metadata["links"]:
            lines = ", ".join(str(n) for n in link["line_numbers"])
            output.print_error(f"- {link['importer']} -> {link['imported']} (l.{lines})",
                               bold=False)
        output.new_line()
