"""Flask extensions, created once and bound in the app factory."""
from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


# Sign-in limits (pages and API tokens): LOGIN_RATE_LIMIT per address, loose because a school may
# share one; LOGIN_ACCOUNT_RATE_LIMIT per address and email tried, against guessing a password.
def sign_in_address_limit() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT") or "60 per minute"


def sign_in_account_limit() -> str:
    return current_app.config.get("LOGIN_ACCOUNT_RATE_LIMIT") or "10 per minute"


def address_and_email() -> str:
    """The key for one account from one address: the IP plus the email being tried."""
    email = request.form.get("email")
    if email is None and request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    email = email.strip().lower()[:320] if isinstance(email, str) else ""
    return f"{get_remote_address()}|{email}"
