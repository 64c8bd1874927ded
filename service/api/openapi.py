"""GET /openapi.json: the hand-maintained OpenAPI 3.1 document of this API.

The request schemas are the ones the endpoints validate with (referral.json, the provider and
attendance schemas), so the document cannot drift from the checks. tests/api checks that every
route of the blueprint is described here.
"""
from __future__ import annotations

import copy

from flask import jsonify

from ..models import CASE_STATUSES, REGISTRATION_STATUSES
from ..referrals import REFERRAL_SCHEMA
from . import bp
from .attendance import ATTENDANCE_SCHEMA, DECISION_SCHEMA
from .providers import PROVIDER_SCHEMA


def _schema(source: dict) -> dict:
    doc = copy.deepcopy(source)
    doc.pop("$schema", None)
    return doc


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}


def _object(properties: dict, required: list[str] | None = None, **extra) -> dict:
    return {"type": "object", "properties": properties, "required": required or list(properties), **extra}


SCHEMAS = {
    "Error": _object({"error": _object({
        "code": {"type": "string", "examples": ["invalid"]},
        "message": STRING,
        "details": {"type": "object", "description": "Each invalid field (dotted path, e.g. `pupil.upn`) "
                    "mapped to its message; for deploys also `problems`, a list of {element_id, message}",
                    "additionalProperties": True},
    })}),
    "Person": _nullable("object", properties={"id": INTEGER, "name": STRING}),
    "Organisation": _nullable("object", properties={"id": INTEGER, "name": STRING, "type": STRING,
                                                    "la_id": _nullable("integer")}),
    "TokenRequest": _object({"email": {"type": "string", "format": "email"}, "password": STRING}),
    "Token": _object({"token": STRING, "token_type": {"const": "Bearer"}, "user": ref("Me")}),
    "Me": _object({"id": INTEGER, "email": STRING, "name": STRING, "roles": {"type": "array", "items": STRING},
                   "organisation": ref("Organisation")}),
    "ProviderInput": _schema(PROVIDER_SCHEMA),
    "Provider": _object({
        "id": INTEGER, "name": STRING, "la_id": _nullable("integer"), "address": STRING, "urn": _nullable("string"),
        "ukprn": _nullable("string"), "registration_status": {"enum": list(REGISTRATION_STATUSES)},
        "ofsted_grade": _nullable("string"), "ofsted_date": _nullable("string", format="date"),
        "last_safeguarding_check": _nullable("string", format="date"), "la_training_attended": BOOLEAN,
        "listed": BOOLEAN, "services": {"type": "array", "items": STRING}, "age_min": _nullable("integer"),
        "age_max": _nullable("integer"), "capacity": _nullable("integer"),
        "contact": _object({"name": STRING, "email": STRING, "phone": STRING}), "description": STRING,
    }),
    "ProviderRef": _nullable("object", properties={"id": INTEGER, "name": STRING, "registration_status": STRING}),
    "Referral": _schema(REFERRAL_SCHEMA),
    "Pupil": _object({"id": INTEGER, "upn": STRING, "first_name": STRING, "last_name": STRING,
                      "date_of_birth": DATE, "year_group": _nullable("integer"),
                      "sen_status": {"enum": ["none", "sen_support", "ehcp"]}, "has_social_worker": BOOLEAN,
                      "looked_after": BOOLEAN, "fsm_eligible": BOOLEAN}),
    "OpenTask": _object({"id": STRING, "name": {"type": "string", "description": "The BPMN element id"},
                         "title": STRING, "role": STRING, "assignee": ref("Person"),
                         "due_at": _nullable("string", format="date-time"), "overdue": BOOLEAN},
                        required=["id", "name", "title"]),
    "CaseSummary": _object({
        "id": INTEGER, "reference": STRING, "status": {"enum": list(CASE_STATUSES)}, "stage": _nullable("string"),
        "pupil": ref("Pupil"), "school": ref("Organisation"), "provider": ref("ProviderRef"), "pattern": STRING,
        "start_date": _nullable("string", format="date"), "end_date": _nullable("string", format="date"),
        "created_at": DATETIME, "updated_at": DATETIME, "closed_at": _nullable("string", format="date-time"),
        "model": {"type": "string", "description": "The process model's key"},
        "model_version": {"type": "integer", "description": "The version number the case runs on"},
        "model_version_id": INTEGER,
    }, required=["id", "status", "stage", "pupil", "provider", "model_version"]),
    "Case": {"allOf": [ref("CaseSummary"), _object({
        "la_id": _nullable("integer"), "social_care_id": _nullable("integer"),
        "virtual_school_id": _nullable("integer"), "open_tasks": {"type": "array", "items": ref("OpenTask")},
        "data": {"type": "object", "description": "The case variables"},
        "lock_version": {"type": "integer", "description": "Send as `lock_version` when completing a task "
                         "to refuse the change (409) if someone changed the case meanwhile"},
    }, required=["open_tasks", "data"])]},
    "ParentCaseSummary": _object({
        "id": INTEGER, "reference": STRING, "status": STRING, "stage": _nullable("string"),
        "pupil": _object({"first_name": STRING, "last_name": STRING, "year_group": _nullable("integer")}),
        "provider": _nullable("object", properties={"id": INTEGER, "name": STRING}),
        "start_date": _nullable("string", format="date"), "end_date": _nullable("string", format="date"),
        "open_tasks": {"type": "array", "items": ref("OpenTask")}, "summary": {"const": True},
    }, description="What a parent or carer sees of their own child's placement"),
    "CaseOrSummary": {"oneOf": [ref("Case"), ref("ParentCaseSummary")]},
    "Event": _object({"id": INTEGER, "at": DATETIME, "actor": ref("Person"), "type": STRING,
                      "detail": {"type": "object"}}),
    "Task": _object({
        "id": STRING, "name": {"type": "string", "description": "The BPMN element id"}, "title": STRING,
        "case_id": INTEGER, "case_reference": STRING, "role": STRING, "stage": _nullable("string"),
        "assignee": ref("Person"), "assignee_id": _nullable("integer"),
        "due_at": _nullable("string", format="date-time"), "overdue": BOOLEAN,
        "state": {"enum": ["open", "completed", "cancelled"]}, "created_at": DATETIME,
        "completed_at": _nullable("string", format="date-time"),
    }, required=["id", "name", "title", "case_id", "role", "assignee", "due_at", "overdue"]),
    "TaskDetail": {"allOf": [ref("Task"), _object({
        "form": _nullable("object", properties={"schema": {"type": "object", "description": "JSON Schema 2020-12"},
                                                "ui": {"type": "object"}}),
        "data": {"type": "object", "description": "Prefill: the saved draft, or the task's data"},
        "instructions": _nullable("string"),
        "case": _object({"id": INTEGER, "reference": STRING, "status": STRING, "stage": _nullable("string"),
                         "lock_version": INTEGER}),
    })]},
    "CompleteTask": _object({"data": {"type": "object", "description": "The form's answers"},
                             "lock_version": {"type": "integer", "description": "Optional: the case's "
                                              "lock_version you read; 409 if it has changed"}},
                            required=["data"]),
    "AttendanceInput": _schema(ATTENDANCE_SCHEMA),
    "Attendance": _object({
        "id": INTEGER, "case_id": INTEGER, "date": DATE, "session": {"enum": ["AM", "PM"]}, "code": STRING,
        "category": {"enum": ["present", "attending_elsewhere", "authorised_absence", "unable_to_attend",
                              "unauthorised_absence", "administrative"]},
        "note": STRING, "recorded_by": ref("Person"), "recorded_at": DATETIME,
        "decision": {"oneOf": [{"type": "null"}, ref("AttendanceDecision")],
                     "description": "The school's latest decision on this absence, if any"},
    }),
    "AttendanceDecisionInput": _schema(DECISION_SCHEMA),
    "AttendanceDecision": _object({
        "decision": {"enum": ["authorised", "unauthorised"]}, "note": STRING,
        "decided_by": ref("Person"), "decided_at": DATETIME,
    }),
    "AttendanceRecorded": {"allOf": [ref("Attendance"), _object({"message_delivered": _nullable(
        "boolean", description="For N/O with a social worker: whether the case took `unexplained_absence`")})]},
    "ProcessVersion": _object({
        "id": INTEGER, "model": STRING, "name": STRING, "version": INTEGER, "number": INTEGER, "label": STRING,
        "note": STRING, "deployed_at": DATETIME, "deployed_by": ref("Person"), "running_cases": INTEGER,
    }),
    "ProcessModel": _object({"key": STRING, "name": STRING, "created_at": DATETIME,
                             "latest_version": _nullable("integer"), "running_cases": INTEGER,
                             "versions": {"type": "array", "items": ref("ProcessVersion")}}),
    "Problem": _object({"element_id": _nullable("string"), "message": STRING, "file": _nullable("string")},
                       required=["element_id", "message"]),
    "DeployProblems": _object({"error": _object({
        "code": {"const": "invalid"}, "message": STRING,
        "details": {"type": "object", "properties": {"problems": {"type": "array", "items": ref("Problem")}},
                    "required": ["problems"], "additionalProperties": True},
    })}),
}

_DESCRIPTIONS = {401: "No or bad credentials", 403: "Not allowed", 404: "Not found",
                 409: "Conflict: task not ready, already completed, or changed by someone else",
                 422: "Invalid input: `details` maps each field to its message", 429: "Too many attempts"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    return {str(c): {"$ref": f"#/components/responses/E{c}"} for c in codes}


def _list(item: str, description: str) -> dict:
    response = _json({"type": "array", "items": ref(item)}, description)
    response["headers"] = {"X-Total-Count": {"$ref": "#/components/headers/X-Total-Count"},
                           "Link": {"$ref": "#/components/headers/Link"}}
    return response


def _param(name: str, where: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            "description": description}


CASE_ID = _param("id", "path", INTEGER, "The case id")
TASK_ID = _param("id", "path", STRING, "The task id")
PAGING = [_param("page", "query", {"type": "integer", "minimum": 1}, "Page number (from 1)"),
          _param("per_page", "query", {"type": "integer", "minimum": 1, "maximum": 200}, "Items per page")]
PUBLIC: list = []
PREFIX = "/api/v1"


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


PATHS = {
    "/tokens": {"post": {
        "operationId": "createToken", "summary": "Get an API token for an email and password",
        "security": PUBLIC, "requestBody": _body(ref("TokenRequest")),
        "responses": {"201": _json(ref("Token"), "The token, shown once"), **_errors(401, 422, 429)}}},
    "/me": {"get": {"operationId": "me", "summary": "The current user",
                    "responses": {"200": _json(ref("Me"), "The current user"), **_errors(401)}}},
    "/providers": {
        "get": {"operationId": "listProviders", "summary": "The provider directory (public, no auth)",
                "security": PUBLIC, "responses": {"200": _json({"type": "array", "items": ref("Provider")},
                                                                "The listed providers")}},
        "post": {"operationId": "createProvider", "summary": "Add a provider (la_officer, admin)",
                 "requestBody": _body(ref("ProviderInput")),
                 "responses": {"201": _json(ref("Provider"), "The new provider"), **_errors(401, 403, 422)}}},
    "/providers/{id}": {"get": {
        "operationId": "getProvider", "summary": "One provider", "security": PUBLIC,
        "parameters": [_param("id", "path", INTEGER, "The provider id")],
        "responses": {"200": _json(ref("Provider"), "The provider"), **_errors(404)}}},
    "/cases": {
        "post": {"operationId": "startCase", "summary": "Start a placement case from a referral",
                 "requestBody": _body(ref("Referral")),
                 "responses": {"201": _json(ref("Case"), "The new case"), **_errors(401, 403, 404, 422)}},
        "get": {"operationId": "listCases", "summary": "The cases the user may see, most recently changed first",
                "parameters": [_param("status", "query", {"enum": list(CASE_STATUSES)}, "Only this status"),
                               _param("school_id", "query", INTEGER, "Only this school's cases"),
                               _param("provider_id", "query", INTEGER, "Only this provider's cases"), *PAGING],
                "responses": {"200": _list("CaseSummary", "The cases (parents get summaries)"),
                              **_errors(401, 422)}}},
    "/cases/{id}": {"get": {
        "operationId": "getCase", "summary": "One case (parents get a summary)", "parameters": [CASE_ID],
        "responses": {"200": _json(ref("CaseOrSummary"), "The case"), **_errors(401, 403, 404)}}},
    "/cases/{id}/end-early": {"post": {
        "operationId": "endPlacementEarly",
        "summary": "A running placement has broken down: the case goes to closure (school AP lead, head "
                   "teacher or LA officer)",
        "parameters": [CASE_ID],
        "requestBody": _body(_object({"reason": {"type": "string", "minLength": 1, "maxLength": 2000}},
                                     required=["reason"])),
        "responses": {"200": _json(ref("CaseOrSummary"), "The case, now at closure"),
                      **_errors(401, 403, 404, 409, 422)}}},
    "/cases/{id}/events": {"get": {
        "operationId": "caseEvents", "summary": "The case's audit trail, oldest first",
        "parameters": [CASE_ID, *PAGING],
        "responses": {"200": _list("Event", "The events"), **_errors(401, 403, 404)}}},
    "/cases/{id}/attendance": {
        "post": {"operationId": "registerAttendance",
                 "summary": "Register one AM/PM session (staff of the case's provider only)",
                 "parameters": [CASE_ID], "requestBody": _body(ref("AttendanceInput")),
                 "responses": {"201": _json(ref("AttendanceRecorded"), "The mark"),
                               **_errors(401, 403, 404, 409, 422)}},
        "get": {"operationId": "listAttendance", "summary": "The placement's register, oldest first",
                "parameters": [CASE_ID],
                "responses": {"200": _json({"type": "array", "items": ref("Attendance")}, "The marks"),
                              **_errors(401, 403, 404)}}},
    "/cases/{id}/attendance/{record_id}/decision": {"post": {
        "operationId": "decideAbsence",
        "summary": "The school authorises a reported absence, or not (head teacher or school AP lead)",
        "parameters": [CASE_ID, _param("record_id", "path", INTEGER, "The mark's id", required=True)],
        "requestBody": _body(ref("AttendanceDecisionInput")),
        "responses": {"200": _json(ref("Attendance"), "The mark with the decision"),
                      **_errors(401, 403, 404, 422)}}},
    "/tasks": {"get": {
        "operationId": "listTasks", "summary": "The inbox: open tasks the user may work on",
        "parameters": [_param("scope", "query", {"enum": ["mine", "team"], "default": "team"},
                              "mine: assigned to me; team: every open task of my roles on my cases"), *PAGING],
        "responses": {"200": _list("Task", "The open tasks, soonest due first"), **_errors(401, 422)}}},
    "/tasks/{id}": {"get": {
        "operationId": "getTask", "summary": "One task with its form and prefill", "parameters": [TASK_ID],
        "responses": {"200": _json(ref("TaskDetail"), "The task"), **_errors(401, 403, 404)}}},
    "/tasks/{id}/claim": {"post": {
        "operationId": "claimTask", "summary": "Take a task", "parameters": [TASK_ID],
        "responses": {"200": _json(ref("Task"), "The task"), **_errors(401, 403, 404, 409)}}},
    "/tasks/{id}/unclaim": {"post": {
        "operationId": "unclaimTask", "summary": "Release a task", "parameters": [TASK_ID],
        "responses": {"200": _json(ref("Task"), "The task"), **_errors(401, 403, 404, 409)}}},
    "/tasks/{id}/complete": {"post": {
        "operationId": "completeTask", "summary": "Complete a task with its form data", "parameters": [TASK_ID],
        "requestBody": _body(ref("CompleteTask")),
        "responses": {"200": _json(ref("CaseOrSummary"), "The case after the task"),
                      **_errors(401, 403, 404, 409, 422)}}},
    "/process-models": {
        "get": {"operationId": "listProcessModels", "summary": "Deployed models, versions and running cases",
                "responses": {"200": _json({"type": "array", "items": ref("ProcessModel")}, "The models"),
                              **_errors(401)}},
        "post": {"operationId": "deployProcessModel", "summary": "Deploy a new version (process_owner only)",
                 "parameters": [_param("note", "query", STRING, "What changed"),
                                _param("filename", "query", STRING, "Name of a single uploaded .bpmn file")],
                 "requestBody": {"required": True, "content": {
                     "application/xml": {"schema": {"type": "string"}},
                     "text/xml": {"schema": {"type": "string"}},
                     "application/zip": {"schema": {"type": "string", "contentMediaType": "application/zip"}},
                     "multipart/form-data": {"schema": {"type": "object", "properties": {
                         "files": {"type": "array", "items": {"type": "string",
                                                              "contentMediaType": "application/octet-stream"}},
                         "note": STRING}}}}},
                 "responses": {"201": _json(ref("ProcessVersion"), "The new version"),
                               "422": _json(ref("DeployProblems"), "The bundle's problems"),
                               **_errors(401, 403)}}},
    "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "security": PUBLIC,
                              "responses": {"200": {"description": "The OpenAPI document",
                                                    "content": {"application/json": {"schema": {"type": "object"}}}}}}},
}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Placements API", "version": "1.0.0",
                 "description": "Alternative provision placements: referrals, cases, tasks, attendance and "
                                "process models. Errors are `{\"error\": {\"code\", \"message\", \"details\"}}`."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {PREFIX + path: copy.deepcopy(item) for path, item in PATHS.items()},
        "components": {
            "schemas": copy.deepcopy(SCHEMAS),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token from POST /tokens or `placements create-token`; "
                                                          "browser pages' session cookie is accepted for GET"}},
            "responses": {f"E{c}": _json(ref("Error"), d) for c, d in _DESCRIPTIONS.items()},
            "headers": {"X-Total-Count": {"description": "How many items match", "schema": INTEGER},
                        "Link": {"description": "RFC 8288 links to the next/prev pages", "schema": STRING}},
        },
    }


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(document())
