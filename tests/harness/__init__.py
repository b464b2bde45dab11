"""What every test module reuses: real processes and infrastructure (`processes`), the broker
through aiokafka's public API (`kafka`), the registry's client helpers (`registry`), and apps
run in-process (`app`). Test modules import from here, never from one another."""
