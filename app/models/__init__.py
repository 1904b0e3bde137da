"""All table models, imported here so ``SQLModel.metadata`` (and Alembic) sees every table."""

from app.models.agency import Agency
from app.models.user import LoginAttempt, RefreshToken, User

__all__ = ["Agency", "LoginAttempt", "RefreshToken", "User"]
