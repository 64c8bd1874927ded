"""Process models: list the deployed models and versions; deploy a new version (process owners).

A deploy takes a BPMN XML body, a zip bundle as the body, or a multipart upload of several files
and/or zips. Problems come back as 422 with `details.problems` = [{element_id, message, file}] and
each element id (or file) mapped to its message.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from flask import jsonify, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from workflows import BundleInvalid

from .. import access, database, processes
from ..errors import InvalidInput, NotAllowed
from ..models import Case, ProcessModel
from . import bp, serializers
from .auth import authenticated

MAX_FILES = 500
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
SUFFIXES = (".bpmn", ".dmn", ".json")


def running_counts(session) -> dict[int, int]:
    rows = session.execute(select(Case.model_version_id, func.count(Case.id))
                           .where(Case.status == "open").group_by(Case.model_version_id))
    return {version_id: count for version_id, count in rows}


@bp.get("/process-models")
@authenticated
def list_models(_user):
    session = database.session()
    models = session.scalars(select(ProcessModel).options(selectinload(ProcessModel.versions))
                             .order_by(ProcessModel.key))
    running = running_counts(session)
    return jsonify([serializers.process_model(m, running) for m in models])


@bp.post("/process-models")
@authenticated
def deploy_model(user):
    if not access.can_deploy(user):
        raise NotAllowed("Only process owners can deploy process models")
    if request.content_length and request.content_length > MAX_TOTAL_BYTES:
        raise InvalidInput("The upload is too large", {"_": f"Send at most {MAX_TOTAL_BYTES // (1024 * 1024)} MB"})
    files = _uploaded_files()
    multipart = request.mimetype == "multipart/form-data"
    note = ((request.form.get("note") if multipart else None) or request.args.get("note") or "").strip()[:2000]
    session = database.session()
    try:
        version = processes.deploy(session, files, actor_id=user.id, note=note)
    except BundleInvalid as error:
        raise _problems(error.problems) from None
    session.commit()
    response = jsonify(serializers.version(version, 0))
    response.status_code = 201
    return response


def _problems(problems) -> InvalidInput:
    listed = [{"element_id": p.element_id, "message": p.message, "file": p.file} for p in problems]
    details: dict = {"problems": listed}
    for p in problems:
        key = p.element_id or p.file or "_"
        details[key] = f"{details[key]}; {p.message}" if key in details else p.message
    count = len(listed)
    return InvalidInput(f"The process model has {count} problem{'s' if count != 1 else ''}: "
                        + "; ".join((f"{p['element_id']}: " if p["element_id"] else "") + p["message"]
                                    for p in listed[:5]), details)


def _uploaded_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    if request.mimetype == "multipart/form-data":
        for field, storage in request.files.items(multi=True):
            name = storage.filename or field
            data = storage.read(MAX_TOTAL_BYTES + 1)
            _add(files, name, data)
    else:
        data = request.get_data(cache=False, parse_form_data=False)
        if not data.strip():
            raise InvalidInput("Send the BPMN XML as the body, a zip bundle, or a multipart upload of the files",
                               {"_": "The request body is empty",
                                "problems": [{"element_id": None, "message": "The request body is empty",
                                              "file": None}]})
        _add(files, request.args.get("filename") or "model.bpmn", data)
    if not files:
        raise InvalidInput("No .bpmn, .dmn or form files were uploaded",
                           {"_": "Upload .bpmn, .dmn and forms/*.json files, or a zip of them",
                            "problems": [{"element_id": None, "message": "No .bpmn, .dmn or form files were uploaded",
                                          "file": None}]})
    if sum(len(v) for v in files.values()) > MAX_TOTAL_BYTES:
        raise InvalidInput("The upload is too large", {"_": "The bundle is too large"})
    for name, data in files.items():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{name} is not UTF-8 text", {
                name: "Save the file as UTF-8 text",
                "problems": [{"element_id": None, "message": "The file is not UTF-8 text", "file": name}]}) from None
    return files


def _add(files: dict[str, bytes], name: str, data: bytes) -> None:
    if data[:4] == b"PK\x03\x04" or name.lower().endswith(".zip"):
        _add_zip(files, name, data)
        return
    clean = _clean_name(name)
    if clean is None:
        raise InvalidInput(f"'{name}' is not a bundle file", {
            name: "Upload .bpmn, .dmn or .json files only",
            "problems": [{"element_id": None, "message": "Not a .bpmn, .dmn or .json file", "file": name}]})
    _put(files, clean, data)


def _add_zip(files: dict[str, bytes], name: str, data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidInput(f"'{name}' is not a readable zip file", {
            name: "Not a readable zip file",
            "problems": [{"element_id": None, "message": "Not a readable zip file", "file": name}]}) from None
    entries = [i for i in archive.infolist() if not i.is_dir() and "__MACOSX" not in i.filename]
    if len(entries) > MAX_FILES:
        raise InvalidInput("The zip holds too many files", {name: f"At most {MAX_FILES} files"})
    # a zip of a folder: drop the folder, so "placement/forms/x.json" becomes "forms/x.json"
    tops = {PurePosixPath(i.filename).parts[0] for i in entries}
    strip = len(tops) == 1 and all(len(PurePosixPath(i.filename).parts) > 1 for i in entries)
    total = 0
    for info in entries:
        parts = PurePosixPath(info.filename).parts[1 if strip else 0:]
        if "tools" in parts[:-1]:
            continue
        clean = _clean_name("/".join(parts))
        if clean is None:
            continue
        total += info.file_size
        if info.file_size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
            raise InvalidInput("The zip is too large once unpacked", {name: "The bundle is too large"})
        with archive.open(info) as handle:
            _put(files, clean, handle.read(MAX_FILE_BYTES + 1))


def _clean_name(name: str) -> str | None:
    """A safe relative name inside the bundle; form .json files go under forms/."""
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", "/", ".")]
    if not parts or ".." in parts or not parts[-1].lower().endswith(SUFFIXES):
        return None
    if parts[-1].lower().endswith(".json") and parts[-1] != "bundle.json" and "forms" not in parts[:-1]:
        parts = ["forms", parts[-1]]
    return "/".join(parts)


def _put(files: dict[str, bytes], name: str, data: bytes) -> None:
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"{name} is too large", {name: "The file is too large"})
    if len(files) >= MAX_FILES:
        raise InvalidInput("Too many files", {"_": f"At most {MAX_FILES} files"})
    files[name] = data
