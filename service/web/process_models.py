"""Process owners' pages: models and versions, the editor, validate, deploy, compare, migrate.

Every route needs the ``process_owner`` role (``access.can_deploy``).  Deploying stores a new
immutable version and never changes a running case; moving cases is the explicit, previewed and
audited migration (``service.model_migration``).
"""
from __future__ import annotations

import io
import json
import zipfile
from functools import wraps
from pathlib import PurePosixPath

from flask import (Blueprint, Response, abort, jsonify, redirect, render_template, request,
                   url_for)
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import BuildError

from workflows import ROLES, BundleInvalid, validate_bundle
from workflows.migration import changed_forms, compare_files

from .. import access, database, model_migration, processes
from . import MAX_ID
from ..errors import InvalidInput
from ..models import Case, ProcessModel, ProcessVersion

bp = Blueprint("process_models", __name__, url_prefix="/models")

MAX_FILES = 200
LANE_ROLES = sorted(ROLES - {"process_owner", "admin"})


def owner_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            try:
                return redirect(url_for("auth.sign_in", next=request.full_path))
            except BuildError:
                abort(401)
        if not access.can_deploy(current_user):
            abort(403, "Only process owners can manage the process models.")
        return view(*args, **kwargs)
    return wrapped


def _wants_json() -> bool:
    return request.is_json or "application/json" in request.headers.get("Accept", "")


def _problems(problems) -> list[dict]:
    return [{"element_id": p.element_id, "message": p.message, "file": p.file} for p in problems]


def _version(version_id: int) -> ProcessVersion:
    if not 0 < version_id <= MAX_ID:  # a database id is never larger (PostgreSQL INTEGER)
        abort(404)
    version = database.session().get(ProcessVersion, version_id)
    if version is None:
        abort(404)
    return version


def _files_from_json() -> dict[str, bytes]:
    body = request.get_json(silent=True) or {}
    files = body.get("files")
    if not isinstance(files, dict) or not files or len(files) > MAX_FILES:
        raise InvalidInput("Send the bundle's files as {name: text}", {"files": "No files"})
    out = {}
    for name, text in files.items():
        if not isinstance(name, str) or not isinstance(text, str):
            raise InvalidInput("Every file must be text", {"files": f"{name} is not text"})
        out[_safe_name(name)] = text.encode("utf-8")
    return out


def _safe_name(name: str) -> str:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidInput(f"The file name {name} is not allowed", {"files": name})
    return str(path)


def _read_upload() -> dict[str, bytes]:
    """The uploaded bundle: a .zip, or one or more .bpmn/.dmn/.json files."""
    files: dict[str, bytes] = {}
    for upload in request.files.getlist("bundle"):
        if not upload or not upload.filename:
            continue
        data = upload.read()
        if upload.filename.lower().endswith(".zip"):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    names = [n for n in archive.namelist() if not n.endswith("/")
                             and n.lower().endswith(processes.BUNDLE_SUFFIXES)
                             and "__MACOSX" not in n]
                    if len(names) > MAX_FILES:
                        raise InvalidInput("The zip holds too many files", {"bundle": "Too many files"})
                    prefix = _common_folder(names)
                    for n in names:
                        files[_safe_name(n[len(prefix):])] = archive.read(n)
            except zipfile.BadZipFile:
                raise InvalidInput("The file is not a valid zip", {"bundle": "Upload a valid .zip file"})
        else:
            name = upload.filename.replace("\\", "/").split("/")[-1]
            if not name.lower().endswith(processes.BUNDLE_SUFFIXES):
                raise InvalidInput("Upload .bpmn, .dmn or .json files, or a .zip of them",
                                   {"bundle": f"{name} is not a .bpmn, .dmn, .json or .zip file"})
            if name.lower().endswith(".json") and name != "bundle.json":
                name = "forms/" + name
            files[name] = data
    if not files:
        raise InvalidInput("Choose a bundle to upload", {"bundle": "Choose a .zip, .bpmn, .dmn or form file"})
    return files


def _common_folder(names: list[str]) -> str:
    """A zip of a folder ('placement/x.bpmn'): strip the one top folder every name shares."""
    tops = {n.split("/")[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names) and tops != {"forms"}:
        return tops.pop() + "/"
    return ""


def _deploy(files: dict[str, bytes], note: str):
    session = database.session()
    version = processes.deploy(session, files, actor_id=current_user.id, note=note.strip())
    session.commit()
    return version


# ------------------------------------------------------------------------------ the list
@bp.get("/")
@owner_required
def index():
    session = database.session()
    models = list(session.scalars(select(ProcessModel).order_by(ProcessModel.key)))
    counts = model_migration.running_counts(session)
    return render_template("models/index.html", title="Process models", models=models, counts=counts)


@bp.post("/upload")
@owner_required
def upload():
    note = request.form.get("note", "")
    try:
        files = _read_upload()
        version = _deploy(files, note)
    except BundleInvalid as invalid:
        database.session().rollback()
        session = database.session()
        models = list(session.scalars(select(ProcessModel).order_by(ProcessModel.key)))
        return render_template("models/index.html", title="Process models", models=models,
                               counts=model_migration.running_counts(session),
                               problems=_problems(invalid.problems), note=note), 422
    except InvalidInput as error:
        session = database.session()
        models = list(session.scalars(select(ProcessModel).order_by(ProcessModel.key)))
        return render_template("models/index.html", title="Process models", models=models,
                               counts=model_migration.running_counts(session),
                               upload_error=error.message, note=note), 422
    return redirect(url_for(".version", version_id=version.id, deployed=1))


# ----------------------------------------------------------------------------- a version
@bp.get("/versions/<int:version_id>")
@owner_required
def version(version_id: int):
    version = _version(version_id)
    session = database.session()
    others = list(session.scalars(select(ProcessVersion).where(ProcessVersion.model_id == version.model_id)
                                  .order_by(ProcessVersion.number)))
    counts = model_migration.running_counts(session)
    return render_template("models/version.html", title=f"{version.model.name} version {version.number}",
                           version=version, files=sorted(version.files), others=others, counts=counts,
                           deployed=request.args.get("deployed"))


@bp.get("/versions/<int:version_id>/bundle.zip")
@owner_required
def download_bundle(version_id: int):
    version = _version(version_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(version.files.items()):
            archive.writestr(name, text)
    filename = f"{version.model.key}-v{version.number}.zip"
    return Response(buffer.getvalue(), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/versions/<int:version_id>/files/<path:name>")
@owner_required
def download_file(version_id: int, name: str):
    version = _version(version_id)
    if name not in version.files:
        abort(404)
    mimetype = "application/json" if name.endswith(".json") else "application/xml"
    return Response(version.files[name], mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name.split("/")[-1]}"'})


@bp.get("/versions/<int:version_id>/files.json")
@owner_required
def files_json(version_id: int):
    version = _version(version_id)
    return jsonify({"version_id": version.id, "number": version.number, "model": version.model.key,
                    "files": version.files})


# ------------------------------------------------------------------------------- editor
@bp.get("/versions/<int:version_id>/edit")
@owner_required
def edit(version_id: int):
    version = _version(version_id)
    page = render_template("models/editor.html", title=f"Edit {version.model.name} (from version {version.number})",
                           version=version, file=request.args.get("file", ""), roles=LANE_ROLES)
    from . import EDITOR_CSP
    return Response(page, headers={"Content-Security-Policy": EDITOR_CSP})


@bp.post("/validate")
@owner_required
def validate():
    files = _files_from_json()
    return jsonify({"problems": _problems(validate_bundle(files))})


@bp.post("/deploy")
@owner_required
def deploy_json():
    files = _files_from_json()
    note = str((request.get_json(silent=True) or {}).get("note") or "")
    try:
        version = _deploy(files, note)
    except BundleInvalid as invalid:
        database.session().rollback()
        response = jsonify({"error": {"code": "invalid", "message": "The bundle has problems: it was not deployed",
                                      "details": {}}, "problems": _problems(invalid.problems)})
        return response, 422
    return jsonify({"version_id": version.id, "number": version.number, "model": version.model.key,
                    "url": url_for(".version", version_id=version.id)}), 201


@bp.post("/forms/preview")
@owner_required
def form_preview():
    body = request.get_json(silent=True) or {}
    text = body.get("form") if isinstance(body.get("form"), str) else json.dumps(body.get("form"))
    try:
        form = json.loads(text or "")
        if not isinstance(form, dict) or not isinstance(form.get("schema"), dict):
            raise ValueError('a form needs a "schema" object (and optionally "ui")')
    except ValueError as error:
        return render_template("models/form_preview.html", error=str(error), fields=[])
    return render_template("models/form_preview.html", error=None, fields=_preview_fields(form))


def _preview_fields(form: dict) -> list[dict]:
    schema, ui = form["schema"], form.get("ui") or {}
    props = schema.get("properties") or {}
    order = [k for k in ui.get("order", []) if k in props] + [k for k in props if k not in ui.get("order", [])]
    required = set(schema.get("required") or [])
    fields = []
    for name in order:
        prop = props[name] if isinstance(props[name], dict) else {}
        hints = ui.get(name) if isinstance(ui.get(name), dict) else {}
        widget = hints.get("widget")
        options = prop.get("enum") or ((prop.get("items") or {}).get("enum") if isinstance(prop.get("items"), dict) else None)
        if prop.get("type") == "boolean":
            widget, options = widget or "radios", [True, False]
        if not widget:
            if prop.get("format") == "date":
                widget = "date"
            elif prop.get("type") == "array":
                widget = "checkboxes"
            elif options:
                widget = "radios"
            elif prop.get("type") in ("integer", "number"):
                widget = "number"
            else:
                widget = "text"
        labels = hints.get("labels") or {}
        fields.append({
            "name": name, "label": prop.get("title") or name.replace("_", " ").capitalize(),
            "hint": hints.get("hint") or prop.get("description"), "widget": widget,
            "required": name in required,
            "options": [{"value": o, "label": labels.get(str(o)) or ("Yes" if o is True else "No" if o is False else str(o).replace("_", " ").capitalize())}
                        for o in (options or [])],
        })
    return fields


# ------------------------------------------------------------------------------ compare
@bp.get("/compare")
@owner_required
def compare():
    a, b = _version(request.args.get("a", type=int) or 0), _version(request.args.get("b", type=int) or 0)
    changes = compare_files(a.files, b.files)
    return render_template("models/compare.html", title=f"Compare version {a.number} with version {b.number}",
                           a=a, b=b, changes=changes, other_files=changed_forms(a.files, b.files))


@bp.get("/compare.json")
@owner_required
def compare_json():
    a, b = _version(request.args.get("a", type=int) or 0), _version(request.args.get("b", type=int) or 0)
    return jsonify({"changes": [c.as_dict() for c in compare_files(a.files, b.files)],
                    "other_files": changed_forms(a.files, b.files),
                    "old_files": {n: t for n, t in a.files.items() if n.endswith(".bpmn")},
                    "new_files": {n: t for n, t in b.files.items() if n.endswith(".bpmn")}})


# ------------------------------------------------------------------------------ migrate
@bp.get("/versions/<int:version_id>/migrate")
@owner_required
def migrate_page(version_id: int):
    version = _version(version_id)
    session = database.session()
    targets = [v for v in session.scalars(select(ProcessVersion).where(ProcessVersion.model_id == version.model_id)
                                          .order_by(ProcessVersion.number)) if v.id != version.id]
    target_id = request.args.get("to", type=int) or (targets[-1].id if targets else None)
    if target_id is not None and not 0 < target_id <= MAX_ID:
        target_id = None
    target = session.get(ProcessVersion, target_id) if target_id else None
    if target is not None and target.model_id != version.model_id:
        abort(404)
    previews = []
    if target is not None:
        for case in model_migration.running_cases(session, version.id):
            previews.append((case, model_migration.preview_case(session, case.id, target.id)))
    return render_template("models/migrate.html", title=f"Move running cases from version {version.number}",
                           version=version, targets=targets, target=target, previews=previews,
                           results=None)


@bp.post("/versions/<int:version_id>/migrate")
@owner_required
def migrate_apply(version_id: int):
    version = _version(version_id)
    target = _version(request.form.get("to", type=int) or 0)
    if target.model_id != version.model_id:
        abort(404)
    case_ids = [int(v) for v in request.form.getlist("case_id") if v.isdigit()]
    session = database.session()
    on_version = {c.id for c in model_migration.running_cases(session, version.id)}
    case_ids = [c for c in case_ids if c in on_version]
    if not case_ids:
        return redirect(url_for(".migrate_page", version_id=version.id, to=target.id))
    actor_id = current_user.id
    session.commit()  # end this request's read transaction: each case moves in its own
    results = model_migration.migrate_many(database.sessions(), actor_id, case_ids, target.id)
    return render_template("models/migrate.html", title=f"Move running cases from version {version.number}",
                           version=session.get(ProcessVersion, version.id), targets=[],
                           target=session.get(ProcessVersion, target.id), previews=[], results=results)
