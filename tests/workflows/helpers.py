"""Shared helpers: fixture bundles from tests/workflows/bpmn."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from workflows import load_bundle

BPMN = Path(__file__).resolve().parent / "bpmn"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)  # a Monday


def files_for(name: str, forms: bool = False) -> dict[str, bytes]:
    files = {name: (BPMN / name).read_bytes()}
    if forms:
        for f in (BPMN / "forms").glob("*.json"):
            files[f"forms/{f.name}"] = f.read_bytes()
    return files


def bundle_for(name: str, forms: bool = False):
    return load_bundle(files_for(name, forms))
