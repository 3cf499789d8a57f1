"""The worker entry point (`celery -A services.worker.app worker`): builds the app at import time."""

import os

from services.worker.celery_app import create_celery

# Celery's command line reads our BROKER_URL variable as its own --broker option and copies it to CELERY_BROKER_URL,
# which outranks the app's broker_url: the worker then ran kombu's stock Redis transport, not the one
# shared.queue.broker_url chooses. The app's settings read BROKER_URL themselves.
os.environ.pop("CELERY_BROKER_URL", None)
app = create_celery()
