"""Implementations of the domain's ports: DynamoDB and Secrets Manager for AWS, in-memory twins for unit tests."""
