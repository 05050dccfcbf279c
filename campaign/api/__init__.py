"""The JSON API at /api/v1, described by an OpenAPI document generated from the code."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from campaign.api.errors import ErrorSchema

PREFIX = "/api/"


class JsonApi(Api):
    """flask-smorest's Api, documenting errors in our one shape.

    Its own handler would answer every HTTP error of the whole app in JSON;
    the app's handlers answer JSON under /api/ and HTML pages elsewhere."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass


def init_app(app: Flask) -> None:
    from campaign.api.routes import bp
    from campaign.extensions import csrf

    app.config.setdefault("API_TITLE", "Hiến máu tình nguyện")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    # A token is not sent by a browser on its own, so it needs no CSRF token; a request
    # that rides on the session cookie is checked in ``routes.authenticate``.
    csrf.exempt(bp)
    JsonApi(app).register_blueprint(bp)


def is_api_request(path: str) -> bool:
    return path.startswith(PREFIX)
