"""Pins the h2 behaviour aiokinesis._http2 works around after a GOAWAY (h2 4.4.1; python-hyper/h2#1181).

RFC 9113 6.8 lets the streams at or below a GOAWAY's last_stream_id finish, but h2 moves its whole
connection state machine to CLOSED on any GOAWAY and then refuses their DATA as a protocol error.
h2 offers no setting for it, so Http2Connection puts the state machine back to CLIENT_OPEN (and
starts nothing new there). If an h2 release changes either half of this, these tests fail: then
look again at `Http2Connection._goaway` (the workaround may be wrong or no longer needed).
Sans-IO: two h2 state machines, bytes handed across by hand.
"""

from __future__ import annotations

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import pytest
from h2.errors import ErrorCodes
from hyperframe.frame import DataFrame, GoAwayFrame

HEADERS = [(":method", "POST"), (":scheme", "http"), (":authority", "k"), (":path", "/")]


def open_stream() -> tuple[h2.connection.H2Connection, int]:
    """A client whose stream 1 has its answer's headers: a subscription being read."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    client.initiate_connection()
    server.initiate_connection()
    stream_id = client.get_next_available_stream_id()
    client.send_headers(stream_id, HEADERS, end_stream=True)
    server.receive_data(client.data_to_send())
    server.send_headers(stream_id, [(":status", "200")])
    client.receive_data(server.data_to_send())
    client.data_to_send()
    return client, stream_id


def goaway(last_stream_id: int) -> bytes:
    frame = GoAwayFrame(0)
    frame.last_stream_id = last_stream_id
    frame.error_code = ErrorCodes.NO_ERROR
    return frame.serialize()


def data(stream_id: int, payload: bytes) -> bytes:
    frame = DataFrame(stream_id)
    frame.data = payload
    return frame.serialize()


def test_h2_closes_the_whole_connection_on_a_graceful_goaway_and_refuses_the_kept_streams_data() -> None:
    client, stream_id = open_stream()
    (terminated,) = client.receive_data(goaway(last_stream_id=stream_id))
    assert isinstance(terminated, h2.events.ConnectionTerminated)
    assert terminated.last_stream_id == stream_id
    assert client.state_machine.state is h2.connection.ConnectionState.CLOSED
    with pytest.raises(h2.exceptions.ProtocolError, match=r"RECV_DATA in state ConnectionState\.CLOSED"):
        client.receive_data(data(stream_id, b"event"))


def test_reopening_the_state_machine_lets_the_kept_stream_finish_with_its_flow_control() -> None:
    """What Http2Connection._goaway does, on h2's own objects."""
    client, stream_id = open_stream()
    client.receive_data(goaway(last_stream_id=stream_id))
    client.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
    (received,) = client.receive_data(data(stream_id, b"event"))
    assert isinstance(received, h2.events.DataReceived)
    assert received.data == b"event"
    client.acknowledge_received_data(len(b"event"), stream_id)  # a WINDOW_UPDATE may still go out
    client.data_to_send()
    client.ping(b"12345678")  # and the liveness PING
    assert client.data_to_send()
