"""Every service's schemathesis hooks in one module, because `schemathesis.toml` names one:
the registry's rules (`registry_rules`), the events service's (`events_rules`), the metrics
service's (`metrics_rules`) and the notifier's (`notifier_rules`). Each hook looks at its own
service's paths only, so loading them all is harmless for any."""

from __future__ import annotations

import tests.integration.events_rules
import tests.integration.metrics_rules
import tests.integration.notifier_rules
import tests.integration.registry_rules  # noqa: F401 - registers the registry's rules
