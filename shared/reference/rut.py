"""Chilean RUT (Rol Único Tributario): check digit, validation and normalisation.

A RUT identifies an organisation (one organisation per RUT), so it must be stored in a single
canonical form for uniqueness to hold however a user typed it.

Canonical form: the body with dots as thousands separators, a hyphen and an upper-case check
digit, e.g. ``"76.086.428-5"``, ``"6-K"``. Leading zeros of the body are dropped.

Accepted input: surrounding spaces; the body with or without dots (if present they must group
thousands correctly, without leading zeros); with or without the hyphen; lower-case ``k``;
leading zeros when there are no dots. The body has 1 to 8 significant digits (organisations
are usually between 1.000.000 and 99.999.999, but any body from 1 is accepted).
``RUT_PATTERN`` says the same as a JSON Schema pattern; only the check digit is left out.
"""

from __future__ import annotations

import re

from shared.fields import SPACE

__all__ = [
    "RUT_PATTERN",
    "InvalidRut",
    "check_digit",
    "format_rut",
    "is_valid_rut",
    "normalize_rut",
]

_MAX_BODY = 99_999_999

# Body either plain digits (maybe zero-padded) or dotted in groups of three, 1 to 8 significant
# digits; then an optional hyphen and the check digit.
_BODY = r"0*[1-9][0-9]{0,7}|[1-9][0-9]{0,2}\.[0-9]{3}|[1-9][0-9]?\.[0-9]{3}\.[0-9]{3}"
_RUT_RE = re.compile(rf"^({_BODY})-?([0-9K])$")
RUT_PATTERN = rf"^[{SPACE}]*(?:{_BODY})-?[0-9Kk][{SPACE}]*$"


class InvalidRut(ValueError):
    """A RUT that is malformed or whose check digit does not match its body."""


def _body_value(body: int | str) -> int:
    """Body as an int in 1..99.999.999, rejecting anything else with a Spanish message."""
    if isinstance(body, bool):  # bool is an int subclass; True is not a RUT body
        raise InvalidRut(f"El cuerpo del RUT {body!r} no es válido: formato inválido")
    if isinstance(body, int):
        value = body
    else:
        text = body.strip()
        if not text.isascii() or not text.isdigit():
            raise InvalidRut(f"El cuerpo del RUT {body!r} no es válido: formato inválido")
        value = int(text)
    if not 1 <= value <= _MAX_BODY:
        raise InvalidRut(
            f"El cuerpo del RUT {body!r} no es válido: debe estar entre 1 y 99.999.999"
        )
    return value


def _check_digit_of(value: int) -> str:
    """Modulo 11 with weights 2..7 repeating from the right; 11 → "0", 10 → "K"."""
    total = 0
    weight = 2
    while value:
        value, digit = divmod(value, 10)
        total += digit * weight
        weight = 2 if weight == 7 else weight + 1
    result = 11 - total % 11
    if result == 11:
        return "0"
    if result == 10:
        return "K"
    return str(result)


def _dotted(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def check_digit(body: int | str) -> str:
    """Check digit ("0"-"9" or "K") of a RUT body given as an int or a string of digits."""
    return _check_digit_of(_body_value(body))


def format_rut(body: int | str) -> str:
    """Canonical RUT for a body, computing its check digit (e.g. for fixtures and imports)."""
    value = _body_value(body)
    return f"{_dotted(value)}-{_check_digit_of(value)}"


def normalize_rut(raw: str) -> str:
    """Validate a RUT as typed by a user and return its canonical form ``"NN.NNN.NNN-D"``.

    Raises ``InvalidRut`` when the format is wrong or the check digit does not match.
    """
    if not isinstance(raw, str):
        raise InvalidRut(f"El RUT {raw!r} no es válido: formato inválido")
    text = raw.strip().upper()
    match = _RUT_RE.fullmatch(text)
    if match is None:
        raise InvalidRut(f"El RUT {raw!r} no es válido: formato inválido")
    digits = match.group(1).replace(".", "").lstrip("0")  # some systems zero-pad the body
    if not 1 <= len(digits) <= 8:
        raise InvalidRut(f"El RUT {raw!r} no es válido: formato inválido")
    value = int(digits)
    expected = _check_digit_of(value)
    if match.group(2) != expected:
        raise InvalidRut(f"El RUT {raw!r} no es válido: dígito verificador incorrecto")
    return f"{_dotted(value)}-{expected}"


def is_valid_rut(raw: str) -> bool:
    """True when ``normalize_rut`` would accept the value."""
    try:
        normalize_rut(raw)
    except InvalidRut:
        return False
    return True
