"""RightsHub benchmarks: ``python -m bench SCENARIO`` (``all`` runs every scenario).

Never part of ``make test``. Each scenario prints a table and writes
``bench/results/<scenario>.json`` (overwritten on every run). See docs/benchmarks.md.
"""
