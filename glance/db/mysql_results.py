"""PyMySQL's reading of results, for less per column and per value.

PyMySQL reads results in pure Python, and on MySQL and MariaDB that was
most of a worker's time for the hot reads: a page of 25 images has 20
columns and about 500 values, its children 8 columns and about 600.

* Descriptions. Before the rows of each result the server describes
  every column (name, table, type, character set, flags), the same each
  time a statement runs. PyMySQL parses each into a
  ``FieldDescriptorPacket`` and picks its decoder, about 4 microseconds
  a column. :func:`get_descriptions` reads the same packets, with the
  same checks (PyMySQL's ``_read_packet``: sequence numbers, error
  packets), and looks the whole description up by its bytes: one seen
  before is not parsed again. A result gets what PyMySQL would give it:
  ``fields`` (the parsed packets, shared by the results of one shape;
  PyMySQL never changes them), ``description`` and ``converters``,
  those of the connection's decoders, checked per result.
* Rows. PyMySQL reads each value through three method calls (the
  length's first byte, the length, the bytes). :func:`read_row` walks
  the packet's bytes in one loop, then decodes and converts each value
  as PyMySQL does. A row it cannot read to the end plainly (a length
  past the packet, a first byte PyMySQL has no length for) goes to
  PyMySQL's own reader, which answers as it always has.

:func:`install` puts both in PyMySQL's ``MySQLResult``. This module
relies on PyMySQL's private parts; :func:`missing_internals` (run by the
unit tests) names any a PyMySQL upgrade removed, and with any missing
:func:`install` leaves PyMySQL as it is.
"""
import logging

LOG = logging.getLogger(__name__)

# distinct descriptions kept (a service runs a few dozen statements);
# past it the cache starts again, so an unusual workload costs only time
MAX_SHAPES = 1024
_NULL = 251
# a length's first byte -> how many bytes of length follow it
_LENGTH_BYTES = {252: 2, 253: 3, 254: 8}
_shapes = {}
_original = {}   # PyMySQL's methods, once replaced


class _Shape:
    """One result description, parsed, with the converters it was
    given for one set of decoders."""

    __slots__ = ("fields", "description", "converters", "decoders")

    def __init__(self, conn, fields, decoders):
        self.fields = tuple(fields)
        self.description = tuple(field.description() for field in fields)
        self.decoders = decoders
        self.converters = tuple(_converters(conn, fields, decoders))


def _converters(conn, fields, decoders):
    """(encoding, converter) per field, as PyMySQL chooses them."""
    from pymysql import converters
    from pymysql.connections import TEXT_TYPES
    from pymysql.constants import FIELD_TYPE
    for field in fields:
        field_type = field.type_code
        if not conn.use_unicode:
            encoding = None
        elif field_type == FIELD_TYPE.JSON:
            encoding = conn.encoding
        elif field_type in TEXT_TYPES:
            encoding = None if field.charsetnr == 63 else conn.encoding
        else:
            encoding = "ascii"
        converter = decoders.get(field_type)
        if converter is converters.through:
            converter = None
        yield encoding, converter


def get_descriptions(result):
    """``MySQLResult._get_descriptions``, each shape parsed once."""
    from pymysql.protocol import FieldDescriptorPacket
    conn = result.connection
    raw = [conn._read_packet().get_all_data()
           for _ in range(result.field_count)]
    eof_packet = conn._read_packet()
    assert eof_packet.is_eof_packet(), "Protocol error, expecting EOF"
    key = (conn.use_unicode, conn.encoding, *raw)
    shape = _shapes.get(key)
    decoders = conn.decoders
    if shape is None or (shape.decoders is not decoders and
                         shape.decoders != decoders):
        fields = [FieldDescriptorPacket(data, conn.encoding)
                  for data in raw]
        shape = _Shape(conn, fields, decoders)
        if len(_shapes) >= MAX_SHAPES:
            _shapes.clear()
        _shapes[key] = shape
    result.fields = list(shape.fields)
    result.converters = list(shape.converters)
    result.description = shape.description


def read_row(result, packet):
    """``MySQLResult._read_row_from_packet`` in one loop: the row's
    values, decoded and converted, as a tuple."""
    data = packet.get_all_data()
    start = pos = packet._position
    end = len(data)
    row = []
    for encoding, converter in result.converters:
        if pos >= end:
            break    # PyMySQL: a row may end before its last columns
        length = data[pos]
        pos += 1
        if length >= _NULL:
            if length == _NULL:
                row.append(None)
                continue
            size = _LENGTH_BYTES.get(length)
            if size is None or pos + size > end:
                return _pymysql_row(result, packet, start)
            length = int.from_bytes(data[pos:pos + size], "little")
            pos += size
        if pos + length > end:
            return _pymysql_row(result, packet, start)
        value = data[pos:pos + length]
        pos += length
        if encoding is not None:
            value = value.decode(encoding)
        if converter is not None:
            value = converter(value)
        row.append(value)
    packet._position = pos
    return tuple(row)


def _pymysql_row(result, packet, start):
    packet._position = start
    method = _original.get("_read_row_from_packet")
    if method is None:   # not installed: PyMySQL's is in place
        from pymysql import connections
        method = connections.MySQLResult._read_row_from_packet
    return method(result, packet)


def missing_internals():
    """The private parts of PyMySQL this module needs that are gone."""
    from pymysql import connections, protocol
    needed = ((connections.MySQLResult, "_get_descriptions"),
              (connections.MySQLResult, "_read_row_from_packet"),
              (connections.Connection, "_read_packet"),
              (protocol.MysqlPacket, "get_all_data"),
              (protocol.MysqlPacket, "_position"),
              (protocol.FieldDescriptorPacket, "description"),
              (connections, "TEXT_TYPES"))
    return ["%s.%s" % (getattr(owner, "__name__", owner), name)
            for owner, name in needed if not hasattr(owner, name)]


def install():
    """Read results this way from now on, in this process (idempotent).
    False when PyMySQL lacks what it needs."""
    if _original:
        return True
    missing = missing_internals()
    if missing:
        LOG.warning("PyMySQL reads results its own way: this PyMySQL "
                    "has no %s", ", ".join(missing))
        return False
    from pymysql import connections
    result = connections.MySQLResult
    _original["_get_descriptions"] = result._get_descriptions
    _original["_read_row_from_packet"] = result._read_row_from_packet
    result._get_descriptions = get_descriptions
    result._read_row_from_packet = read_row
    return True


def uninstall():
    """PyMySQL's own reading again (for tests and benchmarks)."""
    if not _original:
        return
    from pymysql import connections
    for name, method in _original.items():
        setattr(connections.MySQLResult, name, method)
    _original.clear()
    _shapes.clear()
