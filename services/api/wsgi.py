"""The WSGI entry point for gunicorn: the only module that builds an app at import time."""

from services.api import create_app
from shared.logs import configure_logging
from shared.startup import freeze_loaded_objects

# gunicorn sets up only its own loggers; without this the app's INFO lines (letter ids) went nowhere.
configure_logging()
app = create_app()
freeze_loaded_objects()  # after the app: what each gunicorn worker loaded stays out of the collector's walks
