"""OAuth2 authorization server, API keys, admin accounts, scopes, tenancy policy and audit.

Empty until the security issue: until then the gateway authenticates the development
principals of the settings (see ``gateway.deps``)."""

__all__: list[str] = []
