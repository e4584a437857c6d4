"""Serve plotly.js from the plotly package itself, so the page needs no CDN and no build step."""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PLOTLY_STATIC_NAME = "vendor/plotly.min.js"


class PlotlyFinder(BaseFinder):
    """Exposes the bundled ``plotly.min.js`` as the static file ``vendor/plotly.min.js``."""

    storage = FileSystemStorage(location=str(PLOTLY_JS.parent), base_url="/static/vendor/")

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path != PLOTLY_STATIC_NAME:
            return [] if find_all else None
        return [str(PLOTLY_JS)] if find_all else str(PLOTLY_JS)

    def list(self, ignore_patterns):
        # The storage is rooted at plotly's package_data; the prefix puts it under vendor/.
        self.storage.prefix = "vendor"
        yield "plotly.min.js", self.storage
