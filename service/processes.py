"""Deploying bundles as immutable versions, and the in-process cache of parsed bundles."""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows import Bundle, BundleInvalid, Problem, clock, load_bundle

from . import audit
from .models import ProcessModel, ProcessVersion

BUNDLE_SUFFIXES = (".bpmn", ".dmn", ".json")


def read_bundle_path(path: str | Path) -> dict[str, bytes]:
    """A .bpmn file or a folder of .bpmn/.dmn/forms files, as {relative name: bytes}."""
    path = Path(path)
    if not path.exists():
        raise BundleInvalid([Problem(None, f"{path} does not exist", None)])
    if path.is_file():
        return {path.name: path.read_bytes()}
    files = {
        str(p.relative_to(path)): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.suffix in BUNDLE_SUFFIXES and "tools" not in p.relative_to(path).parts
    }
    if not files:
        raise BundleInvalid([Problem(None, f"{path} holds no .bpmn, .dmn or form files", None)])
    return files


def deploy(session: Session, files: dict[str, bytes], *, actor_id: int | None = None,
           note: str = "") -> ProcessVersion:
    """Validate and store a new version; running cases stay on the version they started on."""
    bundle = load_bundle(files)  # raises BundleInvalid with element-level problems
    model = session.scalar(select(ProcessModel).where(ProcessModel.key == bundle.main_process_id))
    now = clock.now()
    if model is None:
        model = ProcessModel(key=bundle.main_process_id, name=getattr(bundle, "main_process_name", None)
                             or bundle.main_process_id, created_at=now)
        session.add(model)
        session.flush()
    number = (session.scalar(select(func.max(ProcessVersion.number))
                             .where(ProcessVersion.model_id == model.id)) or 0) + 1
    version = ProcessVersion(
        model_id=model.id, number=number, note=note, deployed_by_id=actor_id, deployed_at=now,
        files={name: data.decode("utf-8") for name, data in files.items()},
        spec_state=bundle.spec_state(),
    )
    session.add(version)
    session.flush()
    _cache.put((str(session.get_bind().url), version.id), bundle)
    audit.record(session, "model_deployed", actor_id=actor_id, model=model.key, version=number, note=note)
    return version


def identical_version(session: Session, files: dict[str, bytes]) -> ProcessVersion | None:
    """The newest version whose files are exactly these, if any (so set-up can re-run safely)."""
    texts = {name: data.decode("utf-8") for name, data in files.items()}
    for version in session.scalars(select(ProcessVersion).order_by(ProcessVersion.id.desc()).limit(20)):
        if version.files == texts:
            return version
    return None


def latest_version(session: Session, key: str) -> ProcessVersion | None:
    return session.scalar(
        select(ProcessVersion).join(ProcessModel).where(ProcessModel.key == key)
        .order_by(ProcessVersion.number.desc()).limit(1)
    )


def bundle_for(session: Session, version_id: int) -> Bundle:
    """The parsed bundle of a version, from the cache or rebuilt from its stored spec."""
    key = (str(session.get_bind().url), version_id)
    bundle = _cache.get(key)
    if bundle is None:
        version = session.get(ProcessVersion, version_id)
        files = {name: text.encode("utf-8") for name, text in version.files.items()}
        bundle = Bundle.from_spec_state(version.spec_state, files=files)
        _cache.put(key, bundle)
    return bundle


class _BundleCache:
    """Versions are immutable, so a parsed bundle can be shared by every request and thread."""

    def __init__(self, size: int = 32):
        self._items: OrderedDict[int, Bundle] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: tuple) -> Bundle | None:
        with self._lock:
            bundle = self._items.get(key)
            if bundle is not None:
                self._items.move_to_end(key)
            return bundle

    def put(self, key: tuple, bundle: Bundle) -> None:
        with self._lock:
            self._items[key] = bundle
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _BundleCache()
