"""The HTTP edge the OneRoster routes share: the route class answering every error as the
binding's ``imsx_StatusInfo`` (on these routes only) and the scope check (integration
clients need the binding's scopes; people of the agency, not learners, may read too)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.core import i18n
from app.core.errors import DATABASE_UNAVAILABLE, ProblemError, _field_errors, database_unavailable
from app.core.security import Principal
from app.deps import CurrentPrincipal, insufficient_scope
from app.models.client import Scope
from app.services.oneroster import errors as or_errors

ROSTER_SCOPES = (Scope.or_roster.value, Scope.or_roster_core.value)
GRADEBOOK_READ = (Scope.or_gradebook_read.value, Scope.or_gradebook_write.value)
GRADEBOOK_WRITE = (Scope.or_gradebook_write.value,)


class OneRosterRoute(APIRoute):
    """Answers every error of the route as the binding's ``imsx_StatusInfo`` payload."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except ProblemError as exc:
                return imsx(request, exc)
            except DATABASE_UNAVAILABLE:
                return imsx(request, database_unavailable())
            except HTTPException as exc:  # FastAPI's own: a body that is no JSON at all
                if exc.status_code != 400:
                    raise
                return imsx(
                    request,
                    ProblemError(
                        400,
                        "invaliddata",
                        "The body is not valid JSON; send the result as one JSON object.",
                        detail_id="Isi permintaan bukan JSON yang sah; kirim hasil sebagai "
                        "satu objek JSON.",
                    ),
                )
            except RequestValidationError as exc:
                errors = _field_errors(exc.errors())
                fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
                body = any(e["loc"][:1] == ["body"] for e in errors)
                kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
                if any(e["loc"] == ["body"] for e in errors) and kind != "application/json":
                    return imsx(
                        request,
                        ProblemError(
                            415,
                            "invaliddata",
                            "Send the result as JSON with 'Content-Type: application/json'.",
                            detail_id="Kirim hasil sebagai JSON dengan "
                            "'Content-Type: application/json'.",
                        ),
                    )
                named = {e["loc"][1] for e in errors if e["loc"][:1] == ["query"] and e["loc"][1:]}
                code = (
                    "invalid_selection_field"
                    if "fields" in named
                    else "invalid_filter_field"
                    if "filter" in named
                    else "invaliddata"
                )
                return imsx(
                    request,
                    ProblemError(
                        422 if body else 400,
                        code,
                        f"Invalid or missing: {fields}.",
                        detail_id=f"Tidak valid atau kosong: {fields}.",
                        errors=errors,
                    ),
                )

        return route


def imsx(request: Request, exc: ProblemError) -> Response:
    lang = i18n.negotiate(request.headers.get("accept-language"))
    headers = dict(exc.headers)
    if exc.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="bangkom"')
    return Response(
        or_errors.imsx_body(exc, lang),
        status_code=exc.status,
        headers=headers,
        media_type="application/json",
    )


def scoped(scopes: tuple[str, ...]) -> Any:
    """Clients need one of ``scopes``; people of an agency read as their agency (learners
    may not)."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.is_client and not set(scopes) & principal.scopes:
            raise insufficient_scope(scopes[0])
        if principal.is_learner:
            raise ProblemError(
                403,
                "forbidden",
                "Learner logins cannot use the OneRoster API; an integration client or an "
                "agency account can.",
                detail_id="Akun peserta tidak dapat memakai API OneRoster; klien integrasi "
                "atau akun instansi dapat.",
            )
        return principal

    return Security(dependency, scopes=list(scopes))


RosterReader = Annotated[Principal, scoped(ROSTER_SCOPES)]
GradebookReader = Annotated[Principal, scoped(GRADEBOOK_READ)]
GradebookWriter = Annotated[Principal, scoped(GRADEBOOK_WRITE)]
