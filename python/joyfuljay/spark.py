"""A PySpark data source (Spark >= 4.0, ``pyspark.sql.datasource``) reading
packet captures into a DataFrame of flows::

    from joyfuljay.spark import JoyfulJayDataSource

    spark.dataSource.register(JoyfulJayDataSource)
    df = (spark.read.format("joyfuljay")
          .option("features", "flow_meta,timing")
          .load("captures/"))

Options are the configuration keys of :class:`joyfuljay.Config` (values as
strings: ``"true"``, ``"30"``, ``"flow_meta,timing"``, ``"none"``), and:

- ``source_column``: add a string column of this name holding each row's
  capture file (its absolute path, or its URL for a remote file);
- ``ignoreCorruptFiles``: ``true`` skips a file that is not a readable
  capture with a warning instead of failing the job (as Spark's own
  ``spark.sql.files.ignoreCorruptFiles``, which is honoured too);
- ``recursiveFileLookup``: ``true`` also reads the captures in
  subdirectories of a directory given.

Each capture file is one input partition, read whole by one task: a file is
never split, because a flow may last the whole capture and splitting it
would make two rows with wrong counts. With ``continue_across_files`` (a
configuration key), each path given to ``load`` is one partition whose files
are read as one stream. ``num_workers`` defaults to 1 here (Spark runs one
task per core). Rows come from Rust as Arrow record batches, passed to Spark
without Python objects per row.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Optional

try:
    from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        DataType,
        DoubleType,
        LongType,
        StringType,
        StructField,
        StructType,
    )
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "joyfuljay.spark needs PySpark >= 4.0 (pip install 'joyfuljay[spark]')"
    ) from e

from . import Config, _engines

__all__ = ["JoyfulJayDataSource", "spark_schema"]

#: Options of the data source that are not configuration keys (lower case:
#: Spark's options are case-insensitive).
_READER_OPTIONS = ("path", "paths", "source_column", "ignorecorruptfiles", "recursivefilelookup")


def _spark_type(pa: Any, t: Any) -> DataType:
    if pa.types.is_int64(t):
        return LongType()
    if pa.types.is_float64(t):
        return DoubleType()
    if pa.types.is_string(t):
        return StringType()
    if pa.types.is_boolean(t):
        return BooleanType()
    if pa.types.is_list(t):
        return ArrayType(_spark_type(pa, t.value_type), containsNull=t.value_field.nullable)
    if pa.types.is_struct(t):
        return StructType([StructField(f.name, _spark_type(pa, f.type), f.nullable) for f in t])
    raise TypeError(f"no Spark type for Arrow type {t}")


def spark_schema(arrow_schema: Any) -> StructType:
    """The Spark schema of an Arrow schema (``int64`` → ``LongType``,
    ``float64`` → ``DoubleType``, ``string`` → ``StringType``, ``bool`` →
    ``BooleanType``, lists → ``ArrayType``, structs → ``StructType``), with
    nullability and the fields' unit and description as column metadata."""
    import pyarrow as pa

    fields = []
    for f in arrow_schema:
        meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
        fields.append(StructField(f.name, _spark_type(pa, f.type), f.nullable, meta))
    return StructType(fields)


def _flag(options: Any, key: str) -> bool:
    value = options.get(key)
    if value is None:
        return False
    return _engines._parse_bool(str(value))


class _Settings:
    """The data source's options, parsed and checked (on the driver)."""

    def __init__(self, options: Any) -> None:
        opts = {str(k).lower(): v for k, v in dict(options).items()}
        unknown = sorted(k for k in opts if k not in _READER_OPTIONS and k not in Config().to_dict())
        if unknown:
            raise ValueError(
                f"joyfuljay: unknown option(s) {', '.join(unknown)}; the options are the "
                f"configuration keys and {', '.join(_READER_OPTIONS[2:])}"
            )
        config = {k: v for k, v in opts.items() if k not in _READER_OPTIONS}
        # One task per core: one extraction thread per task.
        base = {} if "num_workers" in config else {"num_workers": 1}
        self.config: Config = _engines.config_from_strings(config, base)
        self.source_column: Optional[str] = opts.get("source_column") or None
        self.ignore_corrupt: Optional[bool] = (
            _flag(opts, "ignorecorruptfiles") if "ignorecorruptfiles" in opts else None
        )
        self.recursive = _flag(opts, "recursivefilelookup")
        if "paths" in opts:
            self.paths: List[str] = list(json.loads(opts["paths"]))
        else:
            self.paths = []
        if opts.get("path"):
            self.paths.insert(0, opts["path"])


class JoyfulJayDataSource(DataSource):
    """Packet captures as a DataFrame of flows, one row per flow: the
    ``joyfuljay`` format (see the module's documentation for the options)."""

    @classmethod
    def name(cls) -> str:
        return "joyfuljay"

    def schema(self) -> StructType:
        s = _Settings(self.options)
        return spark_schema(_engines.arrow_schema(s.config, s.source_column))

    def reader(self, schema: StructType) -> "DataSourceReader":
        return _Reader(_Settings(self.options), schema)


def _target_arrow_schema(schema: StructType) -> Any:
    """The Arrow schema Spark expects for `schema` (its own conversion, whose
    list elements are named ``element``)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    try:
        return to_arrow_schema(schema, timezone="UTC")
    except TypeError:  # pragma: no cover - older signatures
        return to_arrow_schema(schema)


class _Reader(DataSourceReader):
    def __init__(self, settings: _Settings, schema: StructType) -> None:
        ours = spark_schema(_engines.arrow_schema(settings.config, settings.source_column))
        names = [f.name for f in ours]
        wanted = [f.name for f in schema]
        if wanted != names:
            missing = [n for n in wanted if n not in names]
            if missing:
                raise ValueError(
                    f"joyfuljay: the schema given names columns this configuration does not make: "
                    f"{', '.join(missing)}"
                )
        self.columns: Optional[List[str]] = None if wanted == names else wanted
        self.config: Dict[str, Any] = settings.config.to_dict()
        self.source_column = settings.source_column
        self.ignore_corrupt = settings.ignore_corrupt
        self.recursive = settings.recursive
        self.paths = settings.paths
        self.target = _target_arrow_schema(schema)

    def partitions(self) -> List[InputPartition]:
        if not self.paths:
            raise ValueError("joyfuljay: no path given (spark.read.format('joyfuljay').load(path))")
        groups = _engines.plan(
            self.paths,
            continue_across_files=bool(self.config.get("continue_across_files")),
            recursive=self.recursive,
        )
        return [InputPartition(g) for g in groups]

    def read(self, partition: InputPartition) -> Iterator[Any]:
        import pyarrow as pa

        label, files = partition.value
        for batch in _engines.read_batches(
            label,
            files,
            Config.from_dict(self.config),
            source_column=self.source_column,
            ignore_corrupt_files=self._ignore_corrupt(),
        ):
            if self.columns is not None:
                batch = batch.select(self.columns)
            yield _engines._conform(pa, batch, self.target)

    def _ignore_corrupt(self) -> bool:
        if self.ignore_corrupt is not None:
            return self.ignore_corrupt
        # Spark passes its SQL settings to tasks as local properties.
        from pyspark import TaskContext

        ctx = TaskContext.get()
        value = ctx.getLocalProperty("spark.sql.files.ignoreCorruptFiles") if ctx else None
        return value is not None and _engines._parse_bool(value)
