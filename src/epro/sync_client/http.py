"""Small helpers for reading the study server's HTTP replies."""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx


def error_detail(response: httpx.Response) -> str:
    """The server's plain ``{"detail": ...}`` message, or a short fallback (never the body)."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return ""
    detail = data.get("detail") if isinstance(data, dict) else None
    if isinstance(detail, str):
        return detail[:300]
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        msg = detail[0].get("msg")
        return str(msg)[:300] if msg else ""
    return ""


def server_time(response: httpx.Response) -> datetime | None:
    """The server clock from the ``Date`` header (1 s resolution), if it is there and valid."""
    header = response.headers.get("date")
    if not header:
        return None
    try:
        return parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
