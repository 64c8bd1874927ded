"""Where browser tests save screenshots: docs/screenshots/ when asked (`make screenshots`),
otherwise a temporary folder, so an ordinary test run never changes tracked files."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def screenshot_folder() -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        return REPO / "docs" / "screenshots"
    return Path(tempfile.gettempdir()) / "placements-screenshots"
