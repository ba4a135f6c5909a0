"""Piccolo's configuration module; ``tillbook.db.configure`` sets ``DB``.

``PICCOLO_CONF`` points here so that piccolo's migration runner and the
``piccolo`` command find the same engine as the application.
"""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

from tillbook.db.engine import engine_from_url

DB: Engine = engine_from_url()

APP_REGISTRY = AppRegistry(apps=["tillbook.db.piccolo_app"])
