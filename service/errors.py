"""Errors the service raises; the web and API layers turn each into a page or a JSON error."""


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(ServiceError):
    status, code = 404, "not_found"


class NotAllowed(ServiceError):
    status, code = 403, "forbidden"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class InvalidInput(ServiceError):
    status, code = 422, "invalid"
