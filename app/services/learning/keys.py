"""Learner keys: the NIP, ``pppk:<NI PPPK>`` or ``ext:<agency-slug>:<external_ref>``.

One key per person across the platform. PNS and CPNS share the NIP form (a CPNS who
becomes PNS keeps it); the ``pppk:`` prefix keeps NI PPPK apart from NIPs (both are 18
digits); a guest's reference is only unique within the agency that gives it, so the key
carries that agency's slug.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from app.models.agency import SLUG_PATTERN
from app.models.learner import EXTERNAL_REF_PATTERN, AsnType, Gender
from app.services.learning.nip import check_ni_pppk, check_nip, key_error

PPPK_PREFIX, EXT_PREFIX = "pppk:", "ext:"
_SLUG = re.compile(SLUG_PATTERN)
_REF = re.compile(EXTERNAL_REF_PATTERN)


@dataclass(frozen=True)
class LearnerKey:
    key: str
    asn_types: tuple[AsnType, ...]
    nip: str | None = None
    ni_pppk: str | None = None
    external_ref: str | None = None
    agency_slug: str | None = None
    birth_date: date | None = None
    gender: Gender | None = None


def parse_key(raw: str, *, today: date) -> LearnerKey:
    """The canonical key, with what the number says; 422 naming the wrong part."""
    if raw.startswith(PPPK_PREFIX):
        digits, born = check_ni_pppk(raw[len(PPPK_PREFIX) :], today=today)
        return LearnerKey(PPPK_PREFIX + digits, (AsnType.pppk,), ni_pppk=digits, birth_date=born)
    if raw.startswith(EXT_PREFIX):
        slug, _, ref = raw[len(EXT_PREFIX) :].partition(":")
        if not _SLUG.match(slug) or len(slug) > 60:
            raise key_error(
                f"The agency slug in the key ('{slug}') is not a slug; write "
                "ext:<agency-slug>:<external_ref>, e.g. ext:bkpsdm-kab-tangerang:TAMU-001.",
                f"Slug instansi pada kunci ('{slug}') bukan slug; tulis "
                "ext:<slug-instansi>:<external_ref>, misalnya ext:bkpsdm-kab-tangerang:TAMU-001.",
            )
        if not _REF.match(ref) or len(ref) > 60:
            raise key_error(
                "The external_ref in the key must be 1 to 60 letters, digits, '.', '_' or '-'.",
                "external_ref pada kunci harus 1 sampai 60 huruf, angka, '.', '_' atau '-'.",
            )
        return LearnerKey(
            f"{EXT_PREFIX}{slug}:{ref}", (AsnType.non_asn,), external_ref=ref, agency_slug=slug
        )
    parts = check_nip(raw, today=today)
    return LearnerKey(
        parts.digits,
        (AsnType.pns, AsnType.cpns),
        nip=parts.digits,
        birth_date=parts.birth_date,
        gender=parts.gender,
    )


def identity_of(nip: str | None, ni_pppk: str | None) -> tuple[date | None, Gender | None]:
    """Birth date and gender a stored (already checked) number carries."""
    number = nip or ni_pppk
    if not number:
        return None, None
    born = date(int(number[:4]), int(number[4:6]), int(number[6:8]))
    if nip is None:
        return born, None
    return born, Gender.male if nip[14] == "1" else Gender.female
