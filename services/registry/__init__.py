"""Registry: articulator self-registration and the public directory."""
