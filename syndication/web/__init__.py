"""The web layer: the public site (:mod:`syndication.web.app`), the operator console
(:mod:`syndication.web.admin`) and the Prometheus endpoint (:mod:`syndication.web.metrics`).
"""

from __future__ import annotations

from syndication.web.app import create_app as create_app
