"""All persistent models; import from here."""
from .attendance import AttendanceRecord
from .audit import AuditEvent
from .base import Base
from .cases import CASE_STATUSES, Case, Pupil, PupilParent
from .notifications import Notification, OutboxEmail
from .organisations import ORG_TYPES, REGISTRATION_STATUSES, Organisation, Provider
from .processes import ProcessModel, ProcessVersion
from .records import AttendanceAlert, AttendanceDecision, ProgressReport
from .users import ROLES, ApiToken, User, UserRole
from .work import TaskRecord, TimerIncident, WaitingTimer

__all__ = [
    "ApiToken", "AttendanceAlert", "AttendanceDecision", "AttendanceRecord", "ProgressReport", "AuditEvent", "Base", "CASE_STATUSES", "Case", "Notification", "ORG_TYPES",
    "TaskRecord", "Organisation", "OutboxEmail", "ProcessModel", "ProcessVersion", "Provider",
    "Pupil", "PupilParent", "REGISTRATION_STATUSES", "ROLES", "TimerIncident", "User", "UserRole", "WaitingTimer",
]
