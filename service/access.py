"""Who may see which case and work which task: least access, decided in one place.

A user sees the cases of their own organisation's part in it (the school, the LA, the provider,
the social care team or the virtual school named on the case); a parent sees only their own
child's cases. Administrators and process owners manage the system, not cases.
"""
from __future__ import annotations

from sqlalchemy import false, or_, select

from .models import Case, PupilParent, User

REFERRING_ROLES = {"school_ap_lead", "la_officer"}
PROVIDER_MANAGERS = {"la_officer", "admin"}

_ORG_COLUMN = {
    "school": Case.school_id,
    "la": Case.la_id,
    "provider": Case.provider_id,
    "social_care": Case.social_care_id,
    "virtual_school": Case.virtual_school_id,
}


def case_filter(user: User):
    """A WHERE clause selecting the cases this user may see."""
    clauses = []
    org = user.organisation
    if org is not None and org.type in _ORG_COLUMN and user.roles - {"parent", "admin", "process_owner"}:
        clauses.append(_ORG_COLUMN[org.type] == org.id)
    if "parent" in user.roles:
        own_children = select(PupilParent.pupil_id).where(PupilParent.user_id == user.id)
        clauses.append(Case.pupil_id.in_(own_children))
    return or_(*clauses) if clauses else false()


def can_see_case(user: User, case: Case) -> bool:
    org = user.organisation
    if org is not None and org.type in _ORG_COLUMN and user.roles - {"parent", "admin", "process_owner"}:
        if getattr(case, _ORG_COLUMN[org.type].key) == org.id:
            return True
    if "parent" in user.roles:
        return any(link.user_id == user.id for link in case.pupil_links)
    return False


def is_parent_only(user: User) -> bool:
    """Parents see a summary of their own child's placement, never staff working data."""
    return user.roles == {"parent"}


ROLE_NAMES = {
    "school_ap_lead": "School AP lead", "head_teacher": "Head teacher", "dsl": "Designated safeguarding lead",
    "senco": "SENCO", "la_officer": "Local authority officer", "social_worker": "Social worker",
    "virtual_school": "Virtual school", "provider": "Provider", "parent": "Parent or carer",
    "process_owner": "Process owner", "admin": "Administrator",
}


def role_name(role: str) -> str:
    """A role as people say it ("School AP lead"), for pages and messages."""
    return ROLE_NAMES.get(role, role.replace("_", " "))


def not_your_role(role: str) -> str:
    return f"This task is for someone in the {role_name(role)} role"


def can_view_task(user: User, case: Case, role: str) -> bool:
    """Who may read a task they cannot do: staff of the pupil's school and of the LA, who oversee
    the case. Parents and other agencies see only their own tasks (the case page lists the rest)."""
    if can_work_task(user, case, role):
        return True
    org = user.organisation
    return (not is_parent_only(user) and org is not None and org.id in (case.school_id, case.la_id)
            and can_see_case(user, case))


def can_work_task(user: User, case: Case, role: str) -> bool:
    return role in user.roles and can_see_case(user, case)


def can_refer(user: User) -> bool:
    org = user.organisation
    return bool(user.roles & REFERRING_ROLES) and org is not None and org.type in {"school", "la"}


def can_manage_providers(user: User) -> bool:
    return bool(user.roles & PROVIDER_MANAGERS)


def can_deploy(user: User) -> bool:
    return "process_owner" in user.roles
