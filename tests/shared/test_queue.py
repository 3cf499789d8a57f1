"""The broker transports suratdesa chooses, against a real Redis."""

from __future__ import annotations

import time
from pathlib import Path

from kombu import Connection

from shared.config import Settings
from shared.queue import RedisBrokerTransport, broker_url
from tests.conftest import REDIS_HOST


def test_a_redis_broker_url_gets_the_transport_that_survives_a_lost_connection(tmp_path: Path) -> None:
    url = broker_url(Settings(suratdesa_home=tmp_path, broker_url="redis://127.0.0.1:6379/3"))
    with Connection(url) as connection:
        assert isinstance(connection.transport, RedisBrokerTransport)
        assert (connection.hostname, connection.port, connection.virtual_host) == ("127.0.0.1", 6379, "3")


def test_closing_a_connection_whose_transport_was_already_detached_keeps_its_unacked_message(
        tmp_path: Path, redis_db: int) -> None:
    """Celery 5.7 collects a connection that failed, then closes it again (consumer.py,
    on_connection_error_after_connected). The collect detaches the transport from its connection even when the
    channel's close did not finish (a read that timed out); the second close then raised AttributeError, and the
    worker stopped for good.
    """
    url = broker_url(Settings(suratdesa_home=tmp_path, broker_url=f"redis://{REDIS_HOST[0]}:{REDIS_HOST[1]}/{redis_db}"))
    options = {"visibility_timeout": 1}
    connection = Connection(url, transport_options=options)
    connection.SimpleQueue("letters").put({"letter": "one"})
    delivered = connection.SimpleQueue("letters").get(timeout=5)  # handed out, not acked
    assert delivered.payload == {"letter": "one"}

    connection.transport.client = None  # what collect() leaves behind when the channel's close did not finish
    connection.close()  # raised AttributeError: 'NoneType' object has no attribute 'hostname'

    time.sleep(1.2)  # past the visibility timeout: the message is handed out again, not lost
    with Connection(url, transport_options=options) as again:
        again.default_channel.qos.restore_visible()
        queue = again.SimpleQueue("letters")
        message = queue.get(timeout=5)
        assert message.payload == {"letter": "one"}
        message.ack()
        queue.close()


def test_a_channel_sends_through_one_client_made_again_for_a_new_pool(tmp_path: Path, redis_db: int) -> None:
    url = broker_url(Settings(suratdesa_home=tmp_path, broker_url=f"redis://{REDIS_HOST[0]}:{REDIS_HOST[1]}/{redis_db}"))
    with Connection(url) as connection:
        channel, queue = connection.default_channel, connection.SimpleQueue("letters")
        queue.put({"letter": "one"})
        with channel.conn_or_acquire() as client, channel.conn_or_acquire() as again:
            assert again is client
        queue.put({"letter": "two"})

        channel._after_fork()  # kombu's own step in a forked child: the parent's connections are not shared
        queue.put({"letter": "three"})
        with channel.conn_or_acquire() as after_fork:
            assert after_fork.connection_pool is not client.connection_pool
        assert [queue.get(timeout=5).payload["letter"] for _ in range(3)] == ["one", "two", "three"]
        queue.close()
