"""REST routers: thin, one per record family and one per reference resource."""
