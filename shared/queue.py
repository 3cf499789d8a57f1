"""The Celery configuration both sides share, and how a workflow step becomes a task message."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import redis.exceptions
from celery import Celery
from kombu.exceptions import OperationalError as BrokerOperationalError
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis
from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport

from shared.config import Settings
from shared.db import DATABASE_UNAVAILABLE
from shared.letters.workflow.states import Step

log = logging.getLogger(__name__)

RENDER_DRAFT = "suratdesa.render_draft"
ISSUE_LETTER = "suratdesa.issue_letter"
TASKS = {Step.DRAFT: RENDER_DRAFT, Step.ISSUE: ISSUE_LETTER}
DELIVER_WEBHOOK = "suratdesa.deliver_webhook"

# Errors that say the database or the broker is away for a while: a task raising one is retried with
# exponential backoff and full jitter. Any other error is the letter's own and counts as an attempt on it
# (shared.letters.workflow.attempts).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    *DATABASE_UNAVAILABLE, BrokerOperationalError, redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError, ConnectionError, TimeoutError,
)
TASK_MAX_RETRIES = 6
WORKER_MAX_TASKS_PER_CHILD = 1000
RETRY_BACKOFF_MAX = 60  # seconds; also bounds how long a retried message waits unacked for its countdown


class EmbeddedBrokerTransport(SQLAlchemyTransport):
    """kombu's SQLAlchemy transport, polling five times a second instead of once.

    It cannot take `polling_interval` as a transport option: it hands every option to create_engine.
    At one poll a second the embedded broker issues about one letter a second; at five, several.
    """

    polling_interval = 0.2


TRANSPORT_ALIASES["suratdesa-sqla"] = f"{__name__}:EmbeddedBrokerTransport"


class RedisBrokerChannel(kombu_redis.Channel):
    """kombu's Redis channel, with one client for its pool and a close after a lost connection that fails as a
    connection error.

    kombu makes a new redis-py client for every command it sends outside the consumer's own (a publish, an ack),
    and a client builds its tables of some 160 response callbacks when it is made: a quarter of the CPU of a
    publish. A client is only a view on the pool, which hands each command a connection, so one serves
    them all; it is made again for a new pool (after a fork).

    When Redis goes away in the middle of a read, Celery 5.7 collects the connection (which detaches the
    transport from its connection info even when closing the channel timed out) and then closes it again. That
    second close returns the unacked messages to their queue, which needs the connection info: kombu then raised
    AttributeError, which the close does not ignore, and the worker stopped for good. Without the info the broker
    cannot be reached, so it is a connection error: ignored, and the messages come back after the visibility
    timeout as any unacked message does.
    """

    _pool_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:  # the consumer's own client (BRPOP), made once per channel already
            return super()._create_client(asynchronous=True)
        pool = self.pool
        if self._pool_client is None or self._pool_client.connection_pool is not pool:
            self._pool_client = super()._create_client()
        return self._pool_client

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection is already closed")
        params: dict[str, Any] = super()._connparams(asynchronous)
        return params


class RedisBrokerTransport(kombu_redis.Transport):
    """kombu's Redis transport with RedisBrokerChannel."""

    Channel = RedisBrokerChannel


TRANSPORT_ALIASES["suratdesa-redis"] = f"{__name__}:RedisBrokerTransport"


def broker_url(settings: Settings) -> str:
    """The broker URL Celery gets: sqla+ URLs use the faster-polling embedded transport, redis:// ones the Redis
    transport that survives a connection lost mid-read.

    rediss:// keeps kombu's own transport: kombu turns TLS on by that scheme's name.
    """
    url = settings.broker
    if url.startswith("sqla+"):
        return "suratdesa-sqla+" + url.removeprefix("sqla+")
    if url.startswith("redis://"):
        return "suratdesa-redis://" + url.removeprefix("redis://")
    return url


def visibility_timeout(settings: Settings) -> int:
    """Seconds Redis waits for an ack before it hands a message out again.

    A message stays unacked through its retry countdown (at most RETRY_BACKOFF_MAX) and its run (at most the
    hard time limit); the timeout must outlast both, or a task would run again while it is still running.
    """
    return 2 * (settings.task_time_limit + RETRY_BACKOFF_MAX)


def celery_config(settings: Settings, *, producer: bool = False) -> dict[str, Any]:
    """Celery settings: JSON only, late acks, one message at a time, bounded task time."""
    options = _transport_options(settings, producer=producer)
    return {
        "broker_url": broker_url(settings),
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        # a failed or timed-out task is acked: the letter's attempts (counted in the database) decide what next
        "task_acks_on_failure_or_timeout": True,
        "broker_connection_retry_on_startup": True,
        # a worker keeps trying to reach the broker for as long as it is down, then consumes again
        "broker_connection_max_retries": None,
        # a task still running when the connection drops finishes its (idempotent) work; the unacked message
        # comes back after the visibility timeout and then finds nothing to do
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "broker_connection_timeout": settings.enqueue_timeout,
        "broker_transport_options": options,
        # Celery's Redis caveats: the same visibility timeout in all three places, in every process
        "result_backend_transport_options": {"visibility_timeout": options["visibility_timeout"]} if options else {},
        "visibility_timeout": options.get("visibility_timeout"),
        "worker_hijack_root_logger": False,
        # a pool process is replaced after this many tasks: rendering makes its resident memory creep up by about
        # 1 MB a hundred letters, of which live Python objects are some 16 kB (tracemalloc); the rest is native
        # memory whose cause we have not found, and this bounds it
        "worker_max_tasks_per_child": WORKER_MAX_TASKS_PER_CHILD,
        "broker_pool_limit": 4,
    }


def _transport_options(settings: Settings, *, producer: bool) -> dict[str, Any]:
    if not settings.broker.startswith(("redis://", "rediss://")):
        return {}  # kombu's SQLAlchemy transport hands these to create_engine, which knows none of them
    options: dict[str, Any] = {"visibility_timeout": visibility_timeout(settings),
                               "socket_connect_timeout": max(settings.enqueue_timeout, 3.0),
                               "socket_timeout": max(settings.enqueue_timeout, 5.0)}
    if producer:
        # The API and the sweeper must not wait on a dead broker: no reconnect attempt after the first
        # (kombu sleeps 2 s before each), and short socket timeouts for a broker that hangs.
        options.update(max_retries=0, socket_connect_timeout=settings.enqueue_timeout,
                       socket_timeout=settings.enqueue_timeout)
    return options


def make_celery(settings: Settings, *, name: str = "suratdesa", producer: bool = False) -> Celery:
    """A Celery app configured from settings (a producer gives up on a dead broker at once)."""
    app = Celery(name)
    app.conf.update(celery_config(settings, producer=producer))
    return app


class TaskQueue:
    """Turns the workflow's step requests and the webhook outbox's deliveries into task messages (ids only,
    never personal data).

    A failure to send is reported, not raised: the letter is stored, and the sweeper asks again.
    """

    def __init__(self, settings: Settings) -> None:
        self.app = make_celery(settings, name="suratdesa-producer", producer=True)

    def request(self, step: Step, letter_id: uuid.UUID) -> bool:
        """Send the task that runs step on the letter; False when the broker could not be reached."""
        return self.enqueue(TASKS[step], letter_id)

    def deliver(self, delivery_id: uuid.UUID) -> bool:
        """Send the task that makes an attempt at a webhook delivery; False when the broker could not be reached."""
        return self.enqueue(DELIVER_WEBHOOK, delivery_id)

    def enqueue(self, task_name: str, row_id: uuid.UUID) -> bool:
        """Send a task message by name (for a letter or a delivery); False when the broker could not be reached.

        The message is the one send_task makes (Celery's create_task_message), and goes where send_task puts it: the
        worker's queue, by kombu's anonymous exchange. send_task's routing, options and signals, none of which we
        use, are left out: they were a third of a publish's CPU, and a publish a sixth of a submission's."""
        headers, properties, body, _event = self.app.amqp.create_task_message(
            str(uuid.uuid4()), task_name, [str(row_id)])
        try:
            with self.app.producer_or_acquire() as producer:
                producer.publish(body, exchange="", routing_key=self.app.conf.task_default_queue, headers=headers,
                                 serializer="json", delivery_mode="persistent", retry=False, **properties)
        except Exception as exc:  # the broker is down or unreachable; the sweeper sends it later
            log.warning("enqueue %s for %s failed: %s", task_name, row_id, exc)
            return False
        return True
