"""The app's WSGI application plus one bare endpoint, for the intake baseline. Loaded only by the bench.

`POST /api/bench/ping` parses the same request schema as lead intake on the same stack (granian,
Django middleware, django-ninja) and answers without touching the database: the ceiling that
intake's throughput is compared with.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")

import django  # noqa: E402

django.setup()

from ninja import Router  # noqa: E402

from closeloop.api import api  # noqa: E402
from closeloop.leads.api import LeadIn  # noqa: E402

router = Router()


@router.post("/ping", auth=None, include_in_schema=False)
def ping(request, payload: LeadIn):
    return {"ok": True, "company_name": payload.company_name}


# Added before the URLconf is first read (on the first request), so the route is served.
api.add_router("/bench", router)

from closeloop.wsgi import application  # noqa: E402, F401
