"""The registry's domain: data sources, their rules and the services that act on them (no AWS imports)."""
