"""Schemathesis hooks: the notifier's rule its OpenAPI document can only state in prose,
taught to the generator (`schema_rules` loads this module).

A webhook URL must be https (the schema's pattern says so) *and* its host must resolve only to
public addresses (the SSRF rule, `services.notifier.domain.webhook_urls`), which no schema can
state: a generated host such as `0` or `a` has the right shape and is refused with 422 naming
`webhook_url`. So a well-formed generated URL is replaced with one whose host is a public
address literal (no DNS needed); a malformed one stays as generated, so negative cases stay
negative. Deliveries to it fail fast here (no route out), which the service records."""

from __future__ import annotations

import re
from typing import Any

import schemathesis

from services.notifier.domain.subscriptions import WEBHOOK_URL_PATTERN

PUBLIC_WEBHOOK = "https://1.1.1.1/articula/webhooks"
_SUBSCRIPTIONS = re.compile(r"^/v1/subscriptions(/\{subscription_id\})?$")
_SHAPE = re.compile(WEBHOOK_URL_PATTERN)


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    repair(case)
    return case


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    repair(case)


def repair(case: Any) -> None:
    body = case.body
    if not isinstance(body, dict) or not _SUBSCRIPTIONS.match(case.operation.path):
        return
    url = body.get("webhook_url")
    if isinstance(url, str) and _SHAPE.search(url) and url != PUBLIC_WEBHOOK:
        body["webhook_url"] = PUBLIC_WEBHOOK
