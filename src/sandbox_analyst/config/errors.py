"""The configuration's one error."""

from __future__ import annotations


class ConfigError(ValueError):
    """The configuration file or environment holds something unusable. Met while serving a
    request, the server is misconfigured: answered 503."""

    code = "config"
    http_status = 503
