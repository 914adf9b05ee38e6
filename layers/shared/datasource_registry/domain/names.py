"""What makes two names the same name, and which characters a name or key may not hold."""

from __future__ import annotations

import unicodedata

# A sort key is at most 1,024 bytes of UTF-8 in DynamoDB; the name marker adds its prefix to the identity.
MAX_IDENTITY_BYTES = 1000

# Cc control, Cf format (zero-width space and joiner, bidi marks, soft hyphen ...), Cs lone surrogates:
# invisible or unencodable, so two names differing only by them would look the same to every reader.
_REFUSED_CATEGORIES = {"Cc": "control", "Cf": "invisible or format", "Cs": "surrogate"}


def name_identity(name: str) -> str:
    """The form under which names are unique: NFKC, case-folded, NFKC again (Unicode's NFKC_Casefold in spirit).

    fullwidth 'Source' (U+FF33 ...), 'source' and 'SOURCE' are one name; so are 'é' composed and 'e' + U+0301 combining acute.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def refused_character(value: str) -> str | None:
    """A reason when `value` holds a control, format (invisible) or surrogate character; else None."""
    for ch in value:
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(ch))
        if kind is not None:
            return f"must not contain {kind} characters (U+{ord(ch):04X})"
    return None


def check_name(value: str) -> str:
    """A name as a data source (or system) may carry it; ValueError with the reason otherwise."""
    reason = refused_character(value)
    if reason is not None:
        raise ValueError(reason)
    size = len(name_identity(value).encode("utf-8", "surrogatepass"))
    if size > MAX_IDENTITY_BYTES:
        raise ValueError(
            f"is too long: {size} bytes of UTF-8 once normalized (NFKC, case-folded); at most {MAX_IDENTITY_BYTES}"
        )
    return value
