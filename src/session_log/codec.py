"""An eventsourcing transcoder built on msgspec, wire-compatible with JSONTranscoder.

Select it with ``TRANSCODER_TOPIC=session_log.codec:MsgspecTranscoder``.

Wire format: compact UTF-8 JSON (no ASCII escaping), exactly the tagged format of
eventsourcing's ``JSONTranscoder``. Strings, numbers, booleans, null, lists and
dicts are plain JSON. Any other value ``v`` is written as a two-key object
``{"_type_": <name>, "_data_": <encoded data>}`` where ``<name>`` is the name of
the ``Transcoding`` registered for ``type(v)``; ``_data_`` is what that
transcoding's ``encode()`` returns, itself encoded by these same rules.
Pre-registered (the same transcodings ``Application.register_transcodings()``
registers on a ``JSONTranscoder``):

- ``uuid_hex``: ``_data_`` is the 32 lowercase hex digits of the UUID;
- ``decimal_str``: ``_data_`` is ``str(decimal)``;
- ``datetime_iso``: ``_data_`` is ``datetime.isoformat()``.

Tuples are JSON arrays (and decode as lists) unless :class:`TupleAsList` is
registered, in which case they are tagged ``tuple_as_list``. A value whose exact
type has no transcoding is encoded as its nearest base class (in MRO order) that
has one, or that is dict, list, tuple, str, int or float (written as plain JSON,
as ``JSONTranscoder`` does): so freezegun's ``FakeDatetime`` is written as
``datetime_iso``. Anything else raises ``TranscodingNotRegisteredError``.

msgspec Structs are built in, with the tag ``msgspec_struct``::

    {"_type_": "msgspec_struct",
     "_data_": {"topic": "<module>:<qualname>", "fields": <msgspec JSON of the Struct>}}

``fields`` is the Struct as msgspec encodes it natively: no tags inside; UUIDs in
canonical hyphenated form, datetimes as RFC 3339 (UTC as ``Z``), Decimals as
strings, tuples/sets as arrays, enums by value, nested Structs as objects (with
their ``tag_field`` if tagged). On decoding, the topic is resolved with
``eventsourcing.utils.resolve_topic`` (so renamed topics registered with
``register_topic`` work) and the fields are converted back by the Struct's
annotations with ``msgspec.convert``. :class:`StructAsDict` lets a plain
``JSONTranscoder`` read and write the same form. See docs/encoding.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Final

import msgspec
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    Transcoder,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from eventsourcing.utils import get_topic, resolve_topic

__all__ = ["STRUCT_TAG", "MsgspecTranscoder", "StructAsDict", "TupleAsList"]

STRUCT_TAG: Final = "msgspec_struct"

_Encode = Callable[[Any], Any]
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
_CONTAINERS: Final = frozenset({dict, list})
# Kept in a tuple: freezegun rebinds module attributes that *are* datetime or date.
_REAL_DATETIME_AND_DATE: Final = (datetime, date)


def _not_registered(cls: type) -> TranscodingNotRegisteredError:
    return TranscodingNotRegisteredError(
        f"Object of type {cls} is not serializable. Please define and "
        "register a custom transcoding for this type."
    )


def _enc_hook(obj: Any) -> Any:
    """Called by msgspec, inside Structs, for values it can't encode natively."""
    real_datetime, real_date = _REAL_DATETIME_AND_DATE
    if isinstance(obj, real_datetime):  # e.g. freezegun's FakeDatetime
        return real_datetime(
            obj.year, obj.month, obj.day, obj.hour, obj.minute, obj.second,
            obj.microsecond, obj.tzinfo, fold=obj.fold,
        )  # fmt: skip
    if isinstance(obj, real_date):
        return real_date(obj.year, obj.month, obj.day)
    if isinstance(obj, str):
        return str.__str__(obj)
    if isinstance(obj, int):
        return int.__int__(obj)
    if isinstance(obj, float):
        return float.__float__(obj)
    raise _not_registered(type(obj))


def _struct_class(topic: str) -> type[msgspec.Struct]:
    cls = resolve_topic(topic)
    if not (isinstance(cls, type) and issubclass(cls, msgspec.Struct)):
        msg = f"Topic {topic!r} does not resolve to a msgspec Struct class"
        raise TypeError(msg)
    return cls


def _decode_struct(data: dict[str, Any]) -> msgspec.Struct:
    cls = _struct_class(data["topic"])
    return msgspec.convert(data["fields"], cls, str_keys=True)


class TupleAsList(Transcoding):
    """Opt-in: keeps tuples as tuples (tag ``tuple_as_list``, data a JSON array)."""

    type = tuple
    name = "tuple_as_list"

    def encode(self, obj: tuple[Any, ...]) -> list[Any]:
        return list(obj)

    def decode(self, data: list[Any]) -> tuple[Any, ...]:
        return tuple(data)


class StructAsDict(Transcoding):
    """The ``msgspec_struct`` form as a Transcoding of one Struct class.

    Only needed to let a plain ``JSONTranscoder`` (which looks transcodings up by
    exact type) read and write Structs; register one per Struct class.
    ``MsgspecTranscoder`` handles every Struct without it.
    """

    name = STRUCT_TAG

    def __init__(self, cls: type[msgspec.Struct]) -> None:
        self.type = cls

    def encode(self, obj: msgspec.Struct) -> dict[str, Any]:
        fields = msgspec.to_builtins(obj, str_keys=True, enc_hook=_enc_hook)
        return {"topic": get_topic(type(obj)), "fields": fields}

    def decode(self, data: dict[str, Any]) -> msgspec.Struct:
        return _decode_struct(data)


class MsgspecTranscoder(Transcoder):
    """Drop-in, faster replacement for ``JSONTranscoder`` that also encodes Structs.

    ``UUIDAsHex``, ``DecimalAsStr`` and ``DatetimeAsISO`` are registered on
    construction, because ``Application.construct_transcoder()`` only calls
    ``register_transcodings()`` on ``JSONTranscoder`` instances. Registering them
    again (or any other ``Transcoding``) with :meth:`register` is fine.
    """

    def __init__(self) -> None:
        self.types: dict[type, Transcoding] = {}
        self.names: dict[str, Transcoding] = {}
        self._encoders: dict[type, _Encode] = {}
        self._encoder = msgspec.json.Encoder(enc_hook=_enc_hook)
        self._decoder = msgspec.json.Decoder()
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            self.register(transcoding)

    def register(self, transcoding: Transcoding) -> None:
        """Registers given transcoding (replacing any with the same type or name)."""
        self.types[transcoding.type] = transcoding
        self.names[transcoding.name] = transcoding
        self._encoders.clear()

    def encode(self, obj: Any) -> bytes:
        """Encodes given object as UTF-8 JSON."""
        return self._encoder.encode(self._tag(obj))

    def decode(self, data: bytes) -> Any:
        """Decodes UTF-8 JSON written by this transcoder or by ``JSONTranscoder``."""
        return self._untag(self._decoder.decode(data))

    # Encoding: turn the object into something msgspec encodes natively.

    def _tag(self, obj: Any) -> Any:
        cls = type(obj)
        if cls in _SCALARS:
            return obj
        if cls is dict:
            return self._tag_dict(obj)
        if cls is list:
            return self._tag_list(obj)
        try:
            encode = self._encoders[cls]
        except KeyError:
            encode = self._encoders[cls] = self._find_encoder(cls)
        return encode(obj)

    def _tag_dict(self, obj: dict[Any, Any]) -> dict[Any, Any]:
        tag = self._tag
        return {k: v if type(v) in _SCALARS else tag(v) for k, v in obj.items()}

    def _tag_list(self, obj: list[Any] | tuple[Any, ...]) -> list[Any]:
        tag = self._tag
        return [v if type(v) in _SCALARS else tag(v) for v in obj]

    def _find_encoder(self, cls: type) -> _Encode:
        plain: dict[type, _Encode] = {
            dict: self._tag_dict,
            list: self._tag_list,
            tuple: self._tag_list,
            str: str.__str__,
            int: int.__int__,
            float: float.__float__,
        }
        for base in cls.__mro__:  # The nearest match wins.
            if base in self.types:
                return self._transcoding_encoder(self.types[base])
            if base is msgspec.Struct:
                return _struct_encoder(get_topic(cls))
            if base in plain:
                return plain[base]
        raise _not_registered(cls)

    def _transcoding_encoder(self, transcoding: Transcoding) -> _Encode:
        name, encode, tag = transcoding.name, transcoding.encode, self._tag

        def encoder(obj: Any) -> dict[str, Any]:
            data = encode(obj)
            if type(data) not in _SCALARS:
                data = tag(data)
            return {"_type_": name, "_data_": data}

        return encoder

    # Decoding: msgspec gives plain dicts and lists; replace the tagged ones.

    def _untag(self, obj: Any) -> Any:
        if type(obj) is dict:
            if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
                return self._decode_tagged(obj["_type_"], obj["_data_"])
            for key, value in obj.items():
                if type(value) in _CONTAINERS:
                    obj[key] = self._untag(value)
        elif type(obj) is list:
            for i, value in enumerate(obj):
                if type(value) in _CONTAINERS:
                    obj[i] = self._untag(value)
        return obj

    def _decode_tagged(self, name: Any, data: Any) -> Any:
        if name == STRUCT_TAG:
            return _decode_struct(data)
        try:
            transcoding = self.names[name]
        except KeyError:
            msg = (
                f"Data serialized with name '{name}' is not deserializable. "
                "Please register a custom transcoding for this type."
            )
            raise TranscodingNotRegisteredError(msg) from None
        if type(data) in _CONTAINERS:
            data = self._untag(data)
        return transcoding.decode(data)


def _struct_encoder(topic: str) -> _Encode:
    def encoder(obj: msgspec.Struct) -> dict[str, Any]:
        return {"_type_": STRUCT_TAG, "_data_": {"topic": topic, "fields": obj}}

    return encoder
