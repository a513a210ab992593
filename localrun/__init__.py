"""The one-tick runner: `python -m localrun FUNCTION` fires one timer tick now, as the Functions host would.

A developer tool, never deployed (.funcignore lists it): against the Azure of a local.settings.json, or with
`--emulator` against the fake Azure of `fakeazure/`.
"""
