"""Where a webhook may be sent: the rule against server-side request forgery (SSRF).

A funder gives a URL and the notifier POSTs to it from inside the deployment, so without a
rule anyone with a funder key could make it call the database, the cloud's metadata service
(169.254.169.254) or anything else on the private network. The rule: `https` only, no user or
password in the URL, and every address the host resolves to is public (not loopback, private,
link-local, multicast, reserved, unspecified or shared; an IPv4-mapped IPv6 address is judged
as the IPv4 address it carries). Local runs and tests, whose receivers listen on 127.0.0.1,
relax it with `NOTIFIER_WEBHOOK_ALLOW_PRIVATE` (then `http` and any address are allowed).

Pure: the caller resolves the host (`services.notifier.webhooks.check_webhook_url`) and passes
the addresses in; the same rule runs when a subscription is written and before each delivery
(an address may change between the two: DNS is the funder's).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["WebhookTarget", "address_refusal", "addresses_refusal", "target_of"]

_SHAPE = "Debe ser una URL válida que comience con https:// (p. ej. https://ejemplo.cl/webhooks)."


@dataclass(frozen=True)
class WebhookTarget:
    """The host and port a URL connects to."""

    host: str
    port: int


def target_of(url: str, *, allow_private: bool) -> WebhookTarget | str:
    """The URL's host and port, or why it is refused (a Spanish sentence)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _SHAPE
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        if parts.scheme == "http":
            return "La URL del webhook debe usar https://."
        return _SHAPE
    if parts.username is not None or parts.password is not None:
        return "La URL no debe incluir usuario ni contraseña."
    if not parts.hostname:
        return _SHAPE
    default = 443 if parts.scheme == "https" else 80
    return WebhookTarget(host=parts.hostname, port=port or default)


def address_refusal(address: str) -> str | None:
    """Why a resolved address may not receive webhooks, or None when it is public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    except ValueError:
        return "dirección inválida"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        (ip.is_loopback, "dirección local (loopback)"),
        (ip.is_unspecified, "dirección no especificada"),
        (ip.is_link_local, "dirección de enlace local"),
        (ip.is_multicast, "dirección multicast"),
        (ip.is_private, "dirección privada"),
        (ip.is_reserved, "dirección reservada"),
        (not ip.is_global, "dirección no pública"),
    )
    for refused, reason in checks:
        if refused:
            return reason
    return None


def addresses_refusal(addresses: Iterable[str], *, allow_private: bool) -> str | None:
    """Why a host whose addresses are these is refused (a Spanish sentence), or None.

    Every address must be public: a host that resolves to one public and one private address
    would let the connection pick the private one."""
    found = list(addresses)
    if not found:
        return "El nombre del servidor del webhook no se pudo resolver."
    if allow_private:
        return None
    for address in found:
        reason = address_refusal(address)
        if reason is not None:
            return (
                f"La URL del webhook apunta a una {reason}; solo se permiten direcciones públicas."
            )
    return None
