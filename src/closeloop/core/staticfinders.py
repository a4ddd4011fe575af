"""Expose only the front-end files the pages use from node_modules, not whole packages."""

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

# URL path under STATIC_URL → file inside node_modules (installed by `npm ci --ignore-scripts`).
VENDOR_FILES = {
    "vendor/pico/pico.min.css": "@picocss/pico/css/pico.min.css",
    "vendor/alpinejs/cdn.min.js": "@alpinejs/csp/dist/cdn.min.js",
    "vendor/echarts/echarts.min.js": "echarts/dist/echarts.min.js",
}


class NodeModulesFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.root = settings.PROJECT_DIR / "node_modules"

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        target = VENDOR_FILES.get(path)
        if target is None or not (self.root / target).is_file():
            return [] if find_all else None
        found = str(self.root / target)
        return [found] if find_all else found

    def list(self, ignore_patterns):
        # collectstatic copies each file to `storage.prefix/name`, so the prefix is the URL's folder.
        for url_path, target in VENDOR_FILES.items():
            file = self.root / target
            if file.is_file():
                storage = FileSystemStorage(location=str(file.parent))
                storage.prefix = url_path.rsplit("/", 1)[0]
                yield file.name, storage
