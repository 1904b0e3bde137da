"""Path parameters shared by the routers: bounded, so no path can reach the database unchecked."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from app.models.types import IDENT_PATTERN, MAX_INT

IdPath = Annotated[
    str,
    Path(min_length=1, max_length=40, pattern=IDENT_PATTERN, description="An id, e.g. crs_01JD3X…"),
]
AgencyPath = Annotated[
    str,
    Path(min_length=1, max_length=60, pattern=IDENT_PATTERN, description="Agency id"),
]
VersionPath = Annotated[
    int, Path(ge=1, le=MAX_INT, description="Curriculum version number (1, 2, ...)")
]
