"""The data-source registry's shared package: domain, storage adapters and HTTP plumbing for the Lambda handlers."""
