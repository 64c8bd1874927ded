"""Configuration read from the environment; `create_app(config)` overrides any key."""
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT / "instance"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """A stable secret for local use: kept in instance/ so sessions survive restarts."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE_DIR.mkdir(exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def from_environment() -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'placements.sqlite'}"
        ),
        "SECRET_KEY": None,  # filled lazily so tests never touch instance/
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # The process model new referrals start (its main process id).
        "DEFAULT_PROCESS_MODEL": os.environ.get("PLACEMENTS_PROCESS_MODEL", "placement"),
        "SCHEDULER_ENABLED": _bool("SCHEDULER_ENABLED", True),
        "SCHEDULER_SAFETY_POLL_SECONDS": int(os.environ.get("SCHEDULER_SAFETY_POLL_SECONDS", "60")),
        "SCHEDULER_SQLITE_WATCH_SECONDS": float(os.environ.get("SCHEDULER_SQLITE_WATCH_SECONDS", "1")),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", False),
        "SMTP_SSL": _bool("SMTP_SSL", False),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "placements@localhost"),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Sign-in and token attempts: LOGIN_RATE_LIMIT per address (a school may share one),
        # LOGIN_ACCOUNT_RATE_LIMIT per address and email (password guessing).
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "60 per minute"),
        "LOGIN_ACCOUNT_RATE_LIMIT": os.environ.get("LOGIN_ACCOUNT_RATE_LIMIT", "10 per minute"),
        # Request bodies: MAX_CONTENT_LENGTH bytes, or MAX_UPLOAD_CONTENT_LENGTH for process models.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(5 * 1024 * 1024))),
        "MAX_UPLOAD_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_CONTENT_LENGTH", str(25 * 1024 * 1024))),
        "WTF_CSRF_TIME_LIMIT": None,
        "TESTING": False,
    }
