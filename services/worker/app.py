"""The worker entry point (`celery -A services.worker.app worker`): builds the app at import time."""

from services.worker.celery_app import create_celery

app = create_celery()
