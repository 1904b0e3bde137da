"""OAuth 2.0 token endpoint (RFC 6749) and token revocation (RFC 7009)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from app.core.errors import error_responses
from app.deps import SessionDep
from app.models.invitation import InvitationAccept
from app.models.user import TokenResponse, UserPublic
from app.services import auth, client_auth
from app.services.learning import learner_accounts

router = APIRouter(prefix="/auth", tags=["auth"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "/token",
    name="auth-token",
    summary="Get tokens: log in (password) or exchange a refresh token",
    description=(
        "OAuth 2.0 token endpoint, form-encoded. `grant_type=password` with `username` "
        "(the email) and `password`; `grant_type=refresh_token` with `refresh_token` (single "
        "use: presenting a used one revokes every token of that login). Errors carry the "
        "RFC 6749 `error` field (`invalid_request`, `invalid_grant`, `unsupported_grant_type`). "
        "Within 15 minutes, after 5 failed logins for one account from one address, 100 for "
        "one account from anywhere, or 50 from one address, the answer is 429 with "
        "Retry-After. People get an empty `scope`: their rights come from their roles.\n\n"
        "`grant_type=client_credentials` for integration clients (see /v1/clients): "
        "authenticate with HTTP Basic (`client_id:client_secret`, each form-urlencoded) or "
        "the form fields `client_id` and `client_secret`; `scope` (space-separated) may "
        "narrow the client's scopes (`invalid_scope` otherwise). No refresh token. A wrong "
        "id or secret is 401 `invalid_client`; a disabled or expired client, or an address "
        "outside its allowed ranges, is 400 `unauthorized_client`."
    ),
    responses=error_responses(400, 401, 429),
    response_model_exclude_none=True,
)
def token(
    request: Request,
    response: Response,
    session: SessionDep,
    grant_type: Annotated[
        str | None,
        Form(description="password, refresh_token or client_credentials", examples=["password"]),
    ] = None,
    username: Annotated[str | None, Form(description="Email, for grant_type=password")] = None,
    password: Annotated[str | None, Form(json_schema_extra={"format": "password"})] = None,
    refresh_token: Annotated[str | None, Form()] = None,
    scope: Annotated[
        str,
        Form(description="client_credentials: narrow the client's scopes. Ignored for people"),
    ] = "",
    client_id: Annotated[
        str | None, Form(description="client_credentials, when not sent by HTTP Basic")
    ] = None,
    client_secret: Annotated[
        str | None,
        Form(
            description="client_credentials, when not sent by HTTP Basic",
            json_schema_extra={"format": "password"},
        ),
    ] = None,
) -> TokenResponse:
    response.headers.update(_NO_STORE)
    if grant_type == "client_credentials":
        basic = client_auth.basic_credentials(request.headers.get("authorization"))
        if basic is not None and (client_id is not None or client_secret is not None):
            raise auth.oauth_error(
                "invalid_request",
                "Authenticate the client one way only: HTTP Basic or the form fields.",
                "Autentikasi klien dengan satu cara saja: HTTP Basic atau kolom formulir.",
            )
        if basic is None and not (client_id and client_secret):
            raise auth.oauth_error(
                "invalid_request",
                "client_id and client_secret are required (HTTP Basic or form fields).",
                "client_id dan client_secret wajib diisi (HTTP Basic atau kolom formulir).",
            )
        cid, secret = basic or (client_id or "", client_secret or "")
        return client_auth.client_credentials_grant(
            session=session,
            client_id=cid,
            client_secret=secret,
            scope=scope,
            address=request.client.host if request.client else None,
        )
    if grant_type == "password":
        if not username or password is None:
            raise auth.oauth_error(
                "invalid_request",
                "username and password are required (form fields).",
                "username dan password wajib diisi (kolom formulir).",
            )
        address = request.client.host if request.client else "unknown"
        return auth.password_grant(
            session=session, username=username, password=password, address=address
        )
    if grant_type == "refresh_token":
        if not refresh_token:
            raise auth.oauth_error(
                "invalid_request",
                "refresh_token is required (a form field).",
                "refresh_token wajib diisi (kolom formulir).",
            )
        return auth.refresh_grant(session=session, refresh_token=refresh_token)
    if not grant_type:
        raise auth.oauth_error(
            "invalid_request",
            "grant_type is required (a form field).",
            "grant_type wajib diisi (kolom formulir).",
        )
    grants = ", ".join(auth.SUPPORTED_GRANTS)
    raise auth.oauth_error(
        "unsupported_grant_type",
        f"grant_type must be one of: {grants}.",
        f"grant_type harus salah satu dari: {grants}.",
    )


@router.post(
    "/revoke",
    name="auth-revoke",
    summary="Log out: revoke a refresh token and every token of its login",
    description=(
        "RFC 7009. Always 200 with an empty body, also for unknown or already revoked "
        "tokens. Access tokens cannot be revoked (`unsupported_token_type`): they expire "
        "within their short lifetime."
    ),
    response_class=Response,
    responses={
        200: {"description": "Revoked, or unknown: the body is empty", "content": {}},
        **error_responses(400),
    },
)
def revoke(
    session: SessionDep,
    token: Annotated[str | None, Form(description="The refresh token")] = None,
    token_type_hint: Annotated[str | None, Form(examples=["refresh_token"])] = None,
) -> Response:
    if not token:
        raise auth.oauth_error(
            "invalid_request",
            "token is required (a form field).",
            "token wajib diisi (kolom formulir).",
        )
    auth.revoke(session=session, token=token, token_type_hint=token_type_hint)
    return Response(status_code=200, headers=_NO_STORE)


@router.post(
    "/invitations/accept",
    name="auth-accept-invitation",
    status_code=201,
    summary="A learner makes their login with an invitation token (no authentication)",
    description="JSON `{token, email, password}` (password: the users' policy). Creates the "
    "learner's login (role `learner`) and uses the token up; then log in at /v1/auth/token. "
    "An unknown, used, replaced or expired token is one and the same 400 "
    "`invalid_invitation`; a second accept of one token is refused, also when both race.",
    responses=error_responses(400, 409, 422),
)
def accept_invitation(session: SessionDep, data: InvitationAccept) -> UserPublic:
    return UserPublic.model_validate(learner_accounts.accept(session=session, data=data))
