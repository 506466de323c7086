"""The web console at /console: server-rendered pages over the facade's own REST API."""
from __future__ import annotations

from fastapi import APIRouter

from tokenyard_http.console import apps, keys, signin, usage, videos

router = APIRouter()
for _r in (signin.router, apps.router, keys.router, usage.router, videos.router):
    router.include_router(_r)
