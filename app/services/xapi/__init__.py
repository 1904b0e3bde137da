"""The xAPI statement endpoint (xAPI 2.0 / IEEE 9274.1.1, and 1.0.3): validation,
storage, queries and the mapping of statements onto module progress."""
