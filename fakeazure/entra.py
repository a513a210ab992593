"""Microsoft Entra ID as the fake answers it: msal's discovery, the client-credentials token endpoint, and the
Functions host's managed identity endpoint (the 2019-08-01 protocol).

A token is an unsigned JWT whose `aud` is the audience asked for (`scope` minus `/.default`, or the identity
endpoint's `resource`): the services check it, so a token for the wrong audience answers 401 as Azure does.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, urlparse

from fakeazure.state import CLIENT_ID, TENANT
from fakeazure.wire import LOGIN, Route, json_answer, jwt, query

IDENTITY_PORT = 41741
IDENTITY_ENDPOINT = f"http://127.0.0.1:{IDENTITY_PORT}/msi/token"
IDENTITY_HEADER = "fake-identity-header"
TOKEN_SECONDS = 3600


class Entra:
    """Sign-in: tokens for the service principal of `fake.secret` and for the host's managed identity."""

    def __init__(self, fake):
        self.fake = fake

    def routes(self) -> list[Route]:
        return [
            Route("GET", rf"{LOGIN}/[^/]+/v2\.0/\.well-known/openid-configuration", self._openid, None),
            Route("GET", rf"{LOGIN}/common/discovery/instance", self._instance_discovery, None),
            Route("POST", rf"{LOGIN}/[^/]+/oauth2/v2\.0/token", self._token, None),
            Route("GET", rf"{IDENTITY_ENDPOINT}(\?|$)", self._identity_token, None),
        ]

    def token_for(self, audience: str, client_id: str) -> dict:
        expires = int(time.time()) + self.fake.token_seconds
        token = jwt({"aud": audience, "tid": TENANT, "appid": client_id, "oid": "55555555", "exp": expires,
                     "iss": f"https://sts.windows.net/{TENANT}/", "jti": str(uuid.uuid4())})
        self.fake.tokens_issued += 1
        self.fake.token_expiry[token] = self.fake.clock() + self.fake.token_seconds
        seconds = self.fake.token_seconds
        return {"token_type": "Bearer", "expires_in": seconds, "ext_expires_in": seconds, "access_token": token,
                "expires_on": str(expires)}

    def _openid(self, request, match):
        tenant = urlparse(request.url).path.split("/")[1]
        base = f"{LOGIN}/{tenant}"
        return json_answer(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "issuer": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            "tenant_region_scope": "EU",
        })

    def _instance_discovery(self, request, match):
        return json_answer(200, {"tenant_discovery_endpoint": f"{LOGIN}/common/v2.0/.well-known/openid-configuration",
                                 "api-version": "1.1", "metadata": []})

    def _token(self, request, match):
        """The client-credentials grant (Microsoft identity platform, "OAuth 2.0 client credentials flow")."""
        form = {k: v[0] for k, v in parse_qs(request.body if isinstance(request.body, str)
                                               else request.body.decode()).items()}
        tenant = urlparse(request.url).path.split("/")[1]
        if tenant != TENANT:
            return json_answer(400, {"error": "invalid_request", "error_codes": [90002],
                                     "error_description": f"AADSTS90002: Tenant '{tenant}' not found."})
        if form.get("client_id") != CLIENT_ID:
            return json_answer(400, {"error": "unauthorized_client", "error_codes": [700016],
                                     "error_description": f"AADSTS700016: Application with identifier "
                                     f"'{form.get('client_id')}' was not found in the directory."})
        if form.get("client_secret") != self.fake.secret:
            return json_answer(401, {"error": "invalid_client", "error_codes": [7000215],
                                     "error_description": "AADSTS7000215: Invalid client secret provided. "
                                     "Ensure the secret being sent in the request is the client secret value, "
                                     "not the client secret ID."})
        if form.get("grant_type") != "client_credentials" or not form.get("scope", "").endswith("/.default"):
            return json_answer(400, {"error": "invalid_request", "error_codes": [900144],
                                     "error_description": "AADSTS900144: The request body must contain the "
                                     "following parameter: 'grant_type' and a 'scope' ending in '/.default'."})
        return json_answer(200, self.token_for(form["scope"].split("/.default")[0], CLIENT_ID))

    def _identity_token(self, request, match):
        params = query(request)
        if params.get("api-version") != "2019-08-01" or "resource" not in params:
            return json_answer(400, {"error": "invalid_request", "error_description": "api-version and resource "
                                     "are required", "statusCode": 400})
        if request.headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER:
            return json_answer(401, {"error": "unauthorized", "message": "missing X-IDENTITY-HEADER"})
        client_id = params.get("client_id", "system-assigned")
        if client_id not in ("system-assigned", CLIENT_ID):
            return json_answer(400, {"error": "invalid_request", "error_description": "Identity not found",
                                     "statusCode": 400})
        return json_answer(200, {**self.token_for(params["resource"], client_id), "resource": params["resource"]})
