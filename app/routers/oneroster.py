"""IMS OneRoster 1.2 provider: /ims/oneroster/rostering/v1p2/... and
/ims/oneroster/gradebook/v1p2/... (app/services/oneroster/ holds the mapping).

The binding's conventions apply on these routes only: the named envelope, limit/offset
with X-Total-Count and Link, sort/orderBy, fields, filter (oneroster_collections.py), and
errors as ``imsx_StatusInfo`` (oneroster_http.py: the route class turns every problem into
it). Integration clients need the binding's scopes; people of the agency (not learners)
may read too. The routes: oneroster_rostering.py and oneroster_gradebook.py.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.routers import oneroster_gradebook, oneroster_rostering

router = APIRouter()
router.include_router(oneroster_rostering.router)
router.include_router(oneroster_gradebook.router)
