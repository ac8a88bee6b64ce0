"""The bridge's header parser gives what nats-py's own gives, for any bytes."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st
from nats.aio.client import Client

from session_log.jetstream._client import _Client

header_names = st.text(
    alphabet=st.sampled_from("AbZz09-_.:é \t\x0b\x1c\x85\u3000"), max_size=12
)
header_values = st.text(max_size=20)
header_lines = st.lists(
    st.one_of(
        st.tuples(header_names, header_values).map(
            lambda kv: f"{kv[0]}:{kv[1]}".encode("utf-8", "surrogatepass")
        ),
        st.binary(max_size=30),
    ),
    max_size=8,
)


@settings(max_examples=500, deadline=None)
@given(lines=header_lines)
def test_same_headers_as_nats_py(lines: list[bytes]) -> None:
    raw = b"\r\n".join(lines) + b"\r\n\r\n"
    assert _Client._parse_header_lines(raw) == Client._parse_header_lines(raw)


printable_lines = st.text(alphabet=st.sampled_from("AbZz09-_.: "), max_size=16).map(
    str.encode
)


@settings(max_examples=500, deadline=None)
@given(lines=st.lists(printable_lines, max_size=8))
def test_same_headers_as_nats_py_on_printable_ascii(lines: list[bytes]) -> None:
    # The fast path (printable ASCII lines): names with inner or outer spaces,
    # empty names, colons in values, repeated names, lines without a colon.
    raw = b"\r\n".join(lines) + b"\r\n\r\n"
    assert _Client._parse_header_lines(raw) == Client._parse_header_lines(raw)


def test_a_stored_event_s_headers() -> None:
    raw = (
        b"Nats-Msg-Id: 5f3a-0\r\nSL-Version: 12\r\nSL-Topic: a.b:C.D\r\n"
        b"Bad Name: dropped\r\nSL-Hash: 9f2c\r\n\r\n"
    )
    parsed = _Client._parse_header_lines(raw)
    assert parsed == Client._parse_header_lines(raw)
    assert parsed == {
        "Nats-Msg-Id": "5f3a-0",
        "SL-Version": "12",
        "SL-Topic": "a.b:C.D",
        "SL-Hash": "9f2c",
    }


@settings(max_examples=300, deadline=None)
@given(
    lines=header_lines,
    end=st.sampled_from([b"\r\n\r\n", b"\r\n", b""]),
)
def test_a_block_without_a_status_reads_as_nats_py_reads_it(
    lines: list[bytes], end: bytes
) -> None:
    """The bridge reads a header block without an inline status itself (no
    coroutine per message); nats-py's ``_process_headers`` reads it the same."""
    block = b"NATS/1.0\r\n" + b"\r\n".join(lines) + end

    async def nats_py() -> dict[str, str] | None:
        client = Client()
        return await client._process_headers(block)

    assert _Client()._plain_headers(block) == asyncio.run(nats_py())
