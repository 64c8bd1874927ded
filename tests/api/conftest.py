"""API test fixtures: a migrated app (SQLite and PostgreSQL) whose POST /cases runs the tiny
`mini` model, the people of factories.world() each with an API token, and a small client."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from service import processes
from service.models import ApiToken, Case, PupilParent, TaskRecord
from service.security import new_token
from tests.service.factories import deploy, referral, user, world
from workflows import clock

BUNDLES = Path(__file__).parent / "bundles"


class Api:
    """A test client that speaks JSON and signs requests with a person's token."""

    def __init__(self, client, tokens: dict[str, str]):
        self.client = client
        self.tokens = tokens

    def _headers(self, as_, headers):
        headers = dict(headers or {})
        if as_ is not None:
            headers["Authorization"] = f"Bearer {self.tokens[as_]}"
        return headers

    def get(self, path, as_=None, headers=None, **kw):
        return self.client.get("/api/v1" + path, headers=self._headers(as_, headers), **kw)

    def post(self, path, json=None, as_=None, headers=None, **kw):
        return self.client.post("/api/v1" + path, json=json, headers=self._headers(as_, headers), **kw)


class World(dict):
    """ids of the organisations and people of factories.world(), plus `parent`."""


@pytest.fixture
def app(make_app):
    return make_app(DEFAULT_PROCESS_MODEL="mini")


@pytest.fixture
def w(sessions):
    with sessions() as session:
        people = world(session)
        people["parent"] = user(session, None, "parent")
        people["admin"] = user(session, None, "admin")
        deploy(session)
        ids = World({k: v.id for k, v in people.items()})
        tokens = {}
        for key, value in people.items():
            if value.__class__.__name__ == "User":
                token, digest = new_token()
                session.add(ApiToken(user_id=value.id, token_hash=digest, created_at=clock.now()))
                tokens[key] = token
        ids.tokens = tokens
        session.commit()
    return ids


@pytest.fixture
def api(app, w):
    return Api(app.test_client(), w.tokens)


@pytest.fixture
def body(w):
    """A valid referral body for w's school and provider."""
    def make(**overrides):
        orgs = {k: _Obj(w[k]) for k in ("school", "provider")}
        return referral(orgs, **overrides)
    return make


class _Obj:
    def __init__(self, id_):
        self.id = id_


@pytest.fixture
def case(api, body):
    """A started case (the mini model: first task `consult` for the school AP lead)."""
    response = api.post("/cases", json=body(), as_="lead")
    assert response.status_code == 201, response.json
    return response.json


def open_task(sessions, case_id, element_id=None):
    with sessions() as session:
        query = select(TaskRecord).where(TaskRecord.case_id == case_id, TaskRecord.state == "open")
        if element_id:
            query = query.where(TaskRecord.element_id == element_id)
        return session.scalars(query).first()


def link_parent(sessions, case_id, parent_id):
    with sessions() as session:
        pupil_id = session.get(Case, case_id).pupil_id
        session.add(PupilParent(pupil_id=pupil_id, user_id=parent_id))
        session.commit()


def deploy_bundle(sessions, name):
    with sessions() as session:
        version = processes.deploy(session, processes.read_bundle_path(BUNDLES / name), note="test")
        session.commit()
        return version.id
