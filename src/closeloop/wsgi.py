import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
application = get_wsgi_application()

# The PDF renderer's first import costs seconds (its font and layout libraries: ~3 s idle, over 10 s on a
# busy machine). Paid here, while the worker starts and before it takes requests, rather than by the first
# person to open a quote's PDF, or in a background thread that would slow every request while it runs.
import weasyprint  # noqa: E402, F401
