"""The command line of CONTRACT.md, with clear messages for bad arguments."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from service.models import ApiToken, Organisation, ProcessVersion, Provider, User
from service.security import token_hash

REPO = Path(__file__).resolve().parents[2]


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_init_db_is_repeatable(app):
    first, second = run(app, "init-db"), run(app, "init-db")
    assert first.exit_code == 0 and second.exit_code == 0
    assert "up to date" in second.output


def test_create_org_user_token(app, sessions):
    result = run(app, "create-org", "Shire County Council", "--type", "la")
    assert result.exit_code == 0
    la_id = int(result.output.strip())
    provider = run(app, "create-org", "Bridge Centre", "--type", "provider", "--la", str(la_id))
    assert provider.exit_code == 0
    provider_id = int(provider.output.strip())
    user = run(app, "create-user", "Lee@Example.org", "--role", "la_officer", "--org", str(la_id),
               "--password", "long-enough-1")
    assert user.exit_code == 0, user.output
    token = run(app, "create-token", "lee@example.org")
    assert token.exit_code == 0
    with sessions() as session:
        assert session.get(Organisation, la_id).type == "la"
        assert session.get(Provider, provider_id).organisation.la_id == la_id
        person = session.scalar(select(User).where(User.email == "lee@example.org"))
        assert person.roles == {"la_officer"} and person.password_hash.startswith("$argon2")
        assert session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token.output.strip())))


def test_bad_arguments_have_clear_messages(app):
    bad_type = run(app, "create-org", "X", "--type", "castle")
    assert bad_type.exit_code != 0 and "castle" in bad_type.output
    no_org = run(app, "create-user", "a@b.org", "--role", "school_ap_lead", "--org", "999", "--password", "long-enough")
    assert no_org.exit_code == 1 and "no such organisation" in no_org.output
    short = run(app, "create-user", "a@b.org", "--role", "admin", "--password", "short")
    assert short.exit_code == 1 and "at least 8" in short.output
    bad_role = run(app, "create-user", "a@b.org", "--role", "wizard", "--password", "long-enough")
    assert bad_role.exit_code != 0 and "wizard" in bad_role.output
    token = run(app, "create-token", "nobody@example.org")
    assert token.exit_code == 1 and "no user" in token.output


def test_deploy_prints_version_or_element_problems(app, sessions, tmp_path):
    ok = run(app, "deploy", str(REPO / "bpmn" / "placement"), "--note", "first")
    assert ok.exit_code == 0 and "placement version 1" in ok.output
    again = run(app, "deploy", str(REPO / "bpmn" / "placement"), "--if-changed")
    assert again.exit_code == 0 and "already deployed" in again.output
    broken = tmp_path / "broken.bpmn"
    broken.write_text((REPO / "tests" / "service" / "bundles" / "mini" / "mini.bpmn").read_text()
                      .replace('<bpmn:timeDuration>"P1D"</bpmn:timeDuration>',
                               "<bpmn:timeDuration>P1D</bpmn:timeDuration>"))
    refused = run(app, "deploy", str(broken))
    assert refused.exit_code == 1
    assert "wait_a_day" in refused.output or "wait_timer" in refused.output
    garbage = tmp_path / "garbage.bpmn"
    garbage.write_text("<definitions><unclosed>")
    assert run(app, "deploy", str(garbage)).exit_code == 1
    missing = run(app, "deploy", str(tmp_path / "nope"))
    assert missing.exit_code == 1 and "does not exist" in missing.output
    with sessions() as session:
        assert [v.number for v in session.scalars(select(ProcessVersion))] == [1]


def test_run_timers_reports_count(app):
    result = run(app, "run-timers")
    assert result.exit_code == 0 and "0 timer(s) fired" in result.output
