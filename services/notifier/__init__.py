"""Notifier: email, signed webhooks and feeds; funders' subscriptions."""
