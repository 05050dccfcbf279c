"""Reading request bodies: a body Python cannot read at all is a 400 in the one error shape."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import flask
import flask_smorest
from flask_babel import gettext as _
from webargs.flaskparser import FlaskParser, abort


class JsonParser(FlaskParser):
    """webargs' parser, also refusing what ``json.loads`` raises besides invalid JSON:
    nesting deeper than Python's recursion limit (``RecursionError``) and an integer of
    more than 4.300 digits (``ValueError``), which would otherwise end in a 500."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise  # webargs tells an empty body from invalid JSON
        except (RecursionError, ValueError) as error:
            self._handle_invalid_json_error(error, req)

    def _handle_invalid_json_error(
        self, error: Exception, req: flask.Request, *args: Any, **kwargs: Any
    ) -> NoReturn:
        abort(400, exc=error, messages={"json": [_("Nội dung JSON không đọc được.")]})


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonParser()
