"""The lookups of a statement batch, written as raw SQL (app/services/xapi/rows.py): the
existing-id lookup finds exactly the stored ids of the agency among those asked for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlmodel import Session

from app.core import bulk
from app.core.bulk import stamp_for
from app.models.xapi import XapiStatement
from app.services.learning.progress_store import new_ids
from app.services.xapi import rows
from tests.factories import make_agency

COLUMNS = (
    "id",
    "agency_id",
    "statement_id",
    "verb_id",
    "timestamp",
    "stored",
    "voided",
    "body",
    "signature",
    "unmatched",
)


def test_the_existing_id_lookup_finds_the_agencys_stored_ids_only(session: Session) -> None:
    mine, other = make_agency(session), make_agency(session)
    session.commit()
    connection = session.connection()
    at = stamp_for(connection.dialect.name)(datetime(2025, 5, 15, tzinfo=UTC))
    verb = "http://adlnet.gov/expapi/verbs/experienced"
    shared = str(uuid.uuid4())  # a statement id is unique per agency only
    stored = [
        (pk, agency.id, ident, verb, at, at, False, "{}", f"2:{n}", False)
        for n, (pk, agency, ident) in enumerate(
            zip(
                new_ids("xst", 4),
                (mine, mine, other, other),
                (str(uuid.uuid4()), shared, shared, str(uuid.uuid4())),
                strict=True,
            )
        )
    ]
    bulk.insert(connection, XapiStatement.__table__, COLUMNS, stored)  # type: ignore[attr-defined]
    asked = [stored[0][2], shared, stored[3][2], *(str(uuid.uuid4()) for _ in range(97))]
    assert rows.stored_signatures(connection, mine.id, asked) == {
        stored[0][2]: "2:0",
        shared: "2:1",
    }
    assert rows.stored_signatures(connection, other.id, asked) == {
        shared: "2:2",
        stored[3][2]: "2:3",
    }
