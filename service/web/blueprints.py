"""The blueprints the app serves, in one list so the factory stays short."""
ALL = []
from ..api import bp as api; ALL.append(api)  # noqa: E402 - the JSON API at /api/v1
from .process_models import bp as process_models; ALL.append(process_models)  # noqa: E402 - /models
# The HTML pages (one module each); home also installs the shared filters and navigation.
from . import auth, cases, directory, emails, home, inbox, notifications, referrals, tasks  # noqa: E402
ALL.extend([home.bp, auth.bp, inbox.bp, tasks.bp, cases.bp, referrals.bp, directory.bp, notifications.bp, emails.bp])
from . import records as placement_records; ALL.append(placement_records.bp)  # noqa: E402 - attendance, register, dashboard, exports
from . import directory_admin; ALL.append(directory_admin.bp)  # noqa: E402 - /manage/providers (LA officers)
from . import incidents; ALL.append(incidents.bp)  # noqa: E402 - /incidents: parked timers (admins)
