"""RQ job functions: thin wrappers that parse JSON-able arguments and call engine/."""
