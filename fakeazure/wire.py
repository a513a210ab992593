"""What every fake service shares: its routes' shape, the answers it writes, and the URLs Azure serves.

A route is (method, URL pattern, handler, audiences): the handler answers `(status, headers, body)`; `audiences` are
the token audiences the service accepts (None: it needs no bearer token, as Entra ID itself and AML discovery).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import parse_qs, urlparse

from fakeazure.state import CLIENT_ID, REGION

LOGIN = "https://login.microsoftonline.com"
ARM = "https://management.azure.com"
API = f"https://{REGION}.api.azureml.ms"  # the workspace's regional AML services (discovery, pipelines, history)
# ARM takes tokens for either of its two documented audiences (the SDK v1 asks for the older one).
ARM_AUDIENCES = frozenset({"https://management.azure.com", "https://management.core.windows.net"})
# `.../workspaces/{ws}` and the list calls of a subscription or resource group, as ARM and the AML hosts write them.
WS = (r"/+subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
      r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/?]+)")
WS_LIST = (r"/+subscriptions/(?P<sub>[^/]+)(/resourceGroups/(?P<rg>[^/]+))?"
           r"/providers/Microsoft\.MachineLearningServices/workspaces")

Answer = tuple  # (status, headers, body)


class Route(NamedTuple):
    method: str
    pattern: str
    handler: Callable[..., Answer]
    audiences: frozenset[str] | None = ARM_AUDIENCES


def json_answer(status: int, body, headers: dict | None = None) -> Answer:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body)


def arm_error(status: int, code: str, message: str) -> Answer:
    return json_answer(status, {"error": {"code": code, "message": message}})


def forbidden(action: str, scope: str) -> Answer:
    """ARM's AuthorizationFailed, which names the client id (the app scrubs it)."""
    return arm_error(403, "AuthorizationFailed", f"The client '{CLIENT_ID}' with object id '55555555' does not have "
                     f"authorization to perform action '{action}' over scope '{scope}' or the scope is invalid.")


def query(request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(request.url).query).items()}


def page(request, items: list, size: int) -> dict:
    """One page of an ARM list (`value`, and `nextLink` while more remain), as `$skipToken` pages it."""
    params = query(request)
    start = int(params.get("$skipToken", "0"))
    body: dict = {"value": items[start:start + size]}
    if start + size < len(items):
        body["nextLink"] = f"{request.url.split('?')[0]}?api-version={params['api-version']}&$skipToken={start + size}"
    return body


def jwt(claims: dict) -> str:
    """An unsigned JWT: the SDK decodes tokens (tenant, expiry) without checking the signature."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def audience(request) -> str | None:
    """The `aud` claim of the request's bearer token (trailing `/` dropped), or None without a readable one."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or header.count(".") != 2:
        return None
    claims = header.removeprefix("Bearer ").split(".")[1]
    try:
        return str(json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["aud"]).rstrip("/")
    except (ValueError, KeyError, TypeError):
        return None


def json_or_text(body) -> object:
    if body is None:
        return None
    text = body.decode() if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text
