"""All table models, imported here so ``SQLModel.metadata`` (and Alembic) sees every table."""

from app.models.agency import Agency
from app.models.attendance import Attendance
from app.models.certificate import Certificate, CertificateKey, CertificateSequence
from app.models.change import Change, ChangeCounter
from app.models.client import Client, ClientSecret
from app.models.cohort import Cohort, CohortSession, CohortSessionInstructor
from app.models.course import Course
from app.models.curriculum import Curriculum, CurriculumModule
from app.models.enrollment import Enrollment, EnrollmentEvent
from app.models.grant import LearnerGrant
from app.models.idempotency import IdempotencyRecord
from app.models.invitation import LearnerInvitation
from app.models.jp import JPRecord
from app.models.learner import Learner
from app.models.oneroster import OneRosterTombstone
from app.models.progress import ProgressRecord
from app.models.teaching import CohortTeacher
from app.models.user import LoginAttempt, RefreshToken, User
from app.models.webhook import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookFanout,
    WebhookSubscription,
)
from app.models.xapi import (
    XapiAttachment,
    XapiAuthority,
    XapiDocument,
    XapiStatement,
    XapiStatementRef,
)

__all__ = [
    "Agency",
    "Attendance",
    "Certificate",
    "CertificateKey",
    "CertificateSequence",
    "Change",
    "ChangeCounter",
    "Client",
    "ClientSecret",
    "Cohort",
    "CohortSession",
    "CohortSessionInstructor",
    "CohortTeacher",
    "Course",
    "Curriculum",
    "CurriculumModule",
    "Enrollment",
    "EnrollmentEvent",
    "IdempotencyRecord",
    "JPRecord",
    "Learner",
    "LearnerGrant",
    "LearnerInvitation",
    "LoginAttempt",
    "OneRosterTombstone",
    "ProgressRecord",
    "RefreshToken",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookFanout",
    "WebhookSubscription",
    "XapiAttachment",
    "XapiAuthority",
    "XapiDocument",
    "XapiStatement",
    "XapiStatementRef",
]
