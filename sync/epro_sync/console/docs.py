"""``/docs``: the API's reference as a server-rendered page of the OpenAPI routes.

FastAPI's own ``/docs`` (Swagger UI) loads its scripts and styles from a CDN and starts them
with an inline script: neither passes the server's Content-Security-Policy, and a CDN is code
from elsewhere running next to the console's session cookie. The page below is rendered from
the same schema as ``/openapi.json`` (which stays, for tools such as schemathesis), with no
script at all: every operation, its parameters, request body and answers, readable without
JavaScript and by a screen reader.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from epro_sync.console.templates import render

router = APIRouter()

_METHODS = ("get", "post", "put", "patch", "delete")


def _ref_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return f"list of {_ref_name(schema['items'])}"
    return str(schema.get("type", "object"))


def operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Each operation of ``schema`` as plain rows for the template."""
    found: list[dict[str, Any]] = []
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            body = operation.get("requestBody", {}).get("content", {})
            body_schema = body.get("application/json", {}).get("schema")
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "anchor": f"{method}-{path}".replace("/", "-").replace(":", "-"),
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "tags": ", ".join(operation.get("tags", [])),
                    "parameters": [
                        {
                            "name": p.get("name", ""),
                            "where": p.get("in", ""),
                            "required": bool(p.get("required")),
                            "type": _ref_name(p.get("schema", {})),
                            "description": p.get("description", ""),
                        }
                        for p in operation.get("parameters", [])
                    ],
                    "body": None if body_schema is None else _ref_name(body_schema),
                    "responses": [
                        {
                            "status": status,
                            "description": answer.get("description", ""),
                            "type": _ref_name(
                                answer.get("content", {})
                                .get("application/json", {})
                                .get("schema", {})
                            )
                            if answer.get("content")
                            else "",
                        }
                        for status, answer in sorted(operation.get("responses", {}).items())
                    ],
                }
            )
    return found


def models(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema's models with their fields (name, type, required, description)."""
    rows = []
    for name, model in sorted(schema.get("components", {}).get("schemas", {}).items()):
        required = set(model.get("required", []))
        rows.append(
            {
                "name": name,
                "description": model.get("description", ""),
                "fields": [
                    {
                        "name": field,
                        "type": _ref_name(spec)
                        if "anyOf" not in spec
                        else " or ".join(_ref_name(option) for option in spec["anyOf"]),
                        "required": field in required,
                        "description": spec.get("description", ""),
                    }
                    for field, spec in model.get("properties", {}).items()
                ],
            }
        )
    return rows


@router.get("/docs", include_in_schema=False)
def api_docs(request: Request) -> Response:
    schema = request.app.openapi()
    return render(
        request,
        "docs.html",
        title="API reference",
        api_title=schema.get("info", {}).get("title", ""),
        api_summary=schema.get("info", {}).get("summary", ""),
        operations=operations(schema),
        models=models(schema),
    )
