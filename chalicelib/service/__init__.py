"""The use cases of Rebill: what the API and the state machine's tasks both ask for.

A use case reads and writes through :mod:`chalicelib.store`, decides with the pure
:mod:`chalicelib.billing` core and announces on SNS; it knows nothing of HTTP or of Step
Functions payloads. ``api/`` views and ``workflow/`` tasks translate in and out and call it.
"""
