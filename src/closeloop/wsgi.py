import os
import threading
from importlib import import_module

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
application = get_wsgi_application()

# The PDF renderer's first import costs seconds (its font and layout libraries: ~3 s idle, over 10 s on a
# busy machine), which would fall on the first person to open a quote's PDF after a worker starts. Each
# server process imports it in the background as it starts instead; a request that needs it sooner waits
# on the same import.
threading.Thread(target=import_module, args=("weasyprint",), name="warm-up-pdf", daemon=True).start()
