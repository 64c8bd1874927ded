"""Fixtures for the HTML page tests: a world of organisations and people, the web test bundle,
and a helper to sign a test client in."""
from __future__ import annotations

from pathlib import Path

import pytest

from service import casework, processes
from service.models import Organisation, PupilParent, User

from ..service.factories import PASSWORD, referral, user, world

BUNDLE = Path(__file__).parent / "bundles" / "webmini"


@pytest.fixture
def app(make_app):
    return make_app(DEFAULT_PROCESS_MODEL="webmini")


@pytest.fixture
def w(sessions):
    with sessions() as session:
        people = world(session)
        people["parent"] = user(session, None, "parent")
        people["admin"] = user(session, None, "admin")
        people["lead2"] = user(session, people["school"], "school_ap_lead")
        processes.deploy(session, processes.read_bundle_path(BUNDLE), note="web tests")
        session.commit()
        return {k: v.id for k, v in people.items()}


def start_case(sessions, w, **overrides) -> int:
    with sessions() as session:
        orgs = {k: session.get(Organisation, w[k]) for k in ("school", "provider", "la", "other_provider")}
        case = casework.start_case(session, session.get(User, w["lead"]), referral(orgs, **overrides),
                                   model_key="webmini")
        session.commit()
        return case.id


def link_parent(sessions, w, case_id):
    from service.models import Case
    with sessions() as session:
        case = session.get(Case, case_id)
        session.add(PupilParent(pupil_id=case.pupil_id, user_id=w["parent"]))
        session.commit()


def email_of(sessions, user_id) -> str:
    with sessions() as session:
        return session.get(User, user_id).email


@pytest.fixture
def sign_in(app, sessions):
    def _sign_in(user_id, client=None):
        client = client or app.test_client()
        response = client.post("/sign-in", data={"email": email_of(sessions, user_id), "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client
    return _sign_in
