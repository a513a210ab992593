"""The SDK v1's view of the tick's identity: its auth object, fed by the app's own tokens (shared.tokens).

`TokenAuthentication` asks for a token per audience (ARM's, Azure ML's) and the app's token source answers from its
cache, so a service principal and a managed identity sign in the same way for the SDK as for the REST calls, with
the same errors and the same retries. Imported only where a v1 pipeline is resolved.
"""

from __future__ import annotations

from azureml.core.authentication import AbstractAuthentication, TokenAuthentication

from shared.tokens import TokenSource


def sdk_auth(tokens: TokenSource, cloud: str) -> AbstractAuthentication:
    """The SDK auth object for the identity: no network call until the SDK asks for a token."""
    return TokenAuthentication(tokens.token, cloud=cloud)
