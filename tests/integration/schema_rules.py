"""Every service's schemathesis hooks in one module, because `schemathesis.toml` names one:
the registry's rules (`registry_rules`) and the events service's (`events_rules`). Each hook
looks at its own service's paths only, so loading both is harmless for either."""

from __future__ import annotations

import tests.integration.events_rules
import tests.integration.registry_rules  # noqa: F401 - registers the registry's rules
