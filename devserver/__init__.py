"""The local twin of the deployed stack: moto server for AWS, an HTTP API built from template.yaml, dev tokens."""
