"""HTTP plumbing shared by every handler: request parsing, authentication, problem answers and API models."""
