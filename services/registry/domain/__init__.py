"""Registry domain: pure rules, no I/O."""
