"""GraphQL at ``/graphql`` over the shared data standard (Strawberry): every record type,
agencies, vocabularies, aggregates and the programme dashboard; mutations through the one
ingest pipeline. See README "GraphQL" and docs/graphql-examples/."""

from gateway.graphql._schema import build_schema, print_sdl
from gateway.graphql._view import GraphQLView, graphql_route

__all__ = ["GraphQLView", "build_schema", "graphql_route", "print_sdl"]
