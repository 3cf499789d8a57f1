"""The WSGI entry point for gunicorn: the only module that builds an app at import time."""

import logging

from services.api import create_app

# gunicorn sets up only its own loggers; without this the app's INFO lines (letter ids) went nowhere.
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app()
