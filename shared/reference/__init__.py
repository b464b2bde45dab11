"""Reference data and identifiers shared by all services: territory (regions, comunas) and RUT."""
