"""joyfuljay: fast, exact network flow features from packet captures.

Reads pcap and pcapng files, assembles packets into bidirectional flows and
returns one row of features per flow, as a pandas DataFrame (default), a
list of dicts or a pyarrow Table::

    import joyfuljay as jj

    df = jj.extract("capture.pcap", features=["flow_meta"])

    config = jj.Config(features=["flow_meta"], anonymize_ips=True,
                       anonymization_salt="my-project", include_flow_id=True)
    df = jj.Pipeline(config).process_pcap("capture.pcap")

All the work happens in the Rust library that the ``jj`` command line uses
too (same configuration keys, same validation messages, same values);
results reach pandas through Apache Arrow, column by column.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Union

from . import _joyfuljay as _native
from ._joyfuljay import CaptureError

__version__: str = _native.__version__

__all__ = [
    "CaptureError",
    "CaptureWarning",
    "Config",
    "OUTPUT_FORMATS",
    "Pipeline",
    "__version__",
    "extract",
    "extract_live",
    "features",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Values accepted by ``output_format``.
OUTPUT_FORMATS = ("dataframe", "dict", "arrow")

#: Rows per Arrow record batch.
_CHUNK_ROWS = 65536


class CaptureWarning(UserWarning):
    """A capture was read only in part (cut short, or a corrupt record):
    every complete packet before the problem was used. The message is the
    CLI's warning."""


_KEYS = tuple(_native.config_keys())
_DEFAULTS: Dict[str, Any] = dict(_native.config_build({}))


class Config:
    """Everything that controls an extraction.

    The keys and defaults are those of the CLI's config file
    (``jj extract -c config.toml``) and are validated by the same code, with
    the same messages: a bad value raises ``ValueError``, an unknown keyword
    ``TypeError``.

    Args:
        features: feature groups (``"all"``, the default, or any of
            ``flow_meta``, ``timing``, ``size``, ``tcp``, ``tcp_sequence``,
            ``tcp_window``, ``tcp_options``, ``tcp_rtt``,
            ``tcp_fingerprint``, ``tcp_mptcp``, ``ip_extended``,
            ``ipv6_options``, ``mac``, ``icmp``, ``entropy``, ``tls``,
            ``ssh``, ``quic``, ``dns``, ``http2``, ``padding``, ``fingerprint``:
            see ``jj features``), a list or a comma-separated string.
        profile: a named set of groups added to ``features``:
            ``"JJ-CORE"``, ``"JJ-EXTENDED"`` or ``"JJ-EXPERIMENTAL"``
            (``None``). With a profile, ``features`` left at ``"all"`` adds
            nothing.
        specific_features: keep only these columns (a list or a
            comma-separated string; ``None`` keeps all). Alone, only the
            groups owning them run.
        flow_timeout: idle timeout in seconds (60): a later packet starts a
            new flow.
        active_timeout: a flow lasting longer than this many seconds ends
            (``None``/0: off, the default).
        terminate_on_fin_rst: end TCP flows at FIN from both sides or RST
            (``True``).
        max_concurrent_flows: most flows tracked at once; one ends early
            (evicted, see ``flow_eviction_strategy``) to make room (0:
            unlimited, the default).
        flow_eviction_strategy: which flow an eviction ends: ``"lru"`` (the
            least recently active, the default) or ``"oldest"`` (the one
            that started first).
        max_memory: memory budget in bytes for the flow table and per-flow
            state, an int or a string such as ``"512M"`` or ``"2G"``
            (``None``: half the available memory); flows are evicted (as
            ``flow_eviction_strategy`` says) rather than outgrow it.
        sampling_rate: keep this fraction of the packets, in (0, 1]: a
            deterministic choice by packet index (``None``: every packet,
            the default); flows are built from the kept packets only.
        num_workers: threads, as ``jj extract -j`` (``None``/0: every core,
            the default); the rows do not depend on it.
        include_ip_addresses: include ``src_ip``/``dst_ip`` (``True``).
        include_ports: include ``src_port``, ``dst_port`` and the port class
            columns (``True``).
        anonymize_ips: replace addresses by 16 hex characters of
            SHA-256(salt + address) (``False``).
        anonymization_salt: salt for anonymized addresses and ``flow_id``
            (``""``).
        include_flow_id: add ``flow_id``, a 32-hex hash of the 5-tuple
            (``False``).
        burst_threshold_ms: ``timing``: a gap of at least this many
            milliseconds starts a new burst (50).
        max_sequence_length: ``timing``/``size``: most values kept in
            sequence columns (50).
        include_raw_sequences: ``timing``/``size``: add the raw sequence
            columns (``False``).
        include_splt: ``timing``: add the SPLT column (``False``).
        bidirectional_split: ``timing``/``size``: add per-direction
            statistics (``False``).
        entropy_sample_bytes: ``entropy``: payload bytes of each packet
            whose entropy is measured (256).
        connection_include_temporal: ``connection``: add the temporal
            columns (flow rate, temporal spread, burst connections)
            (``False``).
        connection_include_graph_metrics: ``connection``: add the graph
            columns (degrees, betweenness, communities, clustering of the
            host graph) (``False``).
        connection_community_algorithm: ``connection``: community
            algorithm for the graph metrics: ``louvain``, ``greedy`` or
            ``label_propagation`` (``"louvain"``).
        continue_across_files: read the given files, in order, as one
            stream (the parts of a rotated capture, ``tcpdump -G/-C``): a
            flow spanning two files is one row (``False``: each file is its
            own flow space).
        partition_by: write a partitioned dataset: Hive-style directories
            by ``"date"``, ``"hour"`` (UTC, of the flow's start) and/or
            ``"file"`` (the capture's name), a list or a comma-separated
            string; used by :meth:`Pipeline.write_dataset` and
            ``extract(..., output=DIR)`` (``[]``).

    Attributes read and set like the keywords; setting one validates again.
    """

    __slots__ = ("_values",)

    def __init__(self, features: Union[str, Sequence[str], None] = None, **options: Any) -> None:
        if features is not None:
            options = {"features": features, **options}
        object.__setattr__(self, "_values", dict(_native.config_build(options)))

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        try:
            value = values[name]
        except KeyError:
            raise AttributeError(f"'Config' object has no attribute '{name}'") from None
        return list(value) if isinstance(value, list) else value

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _KEYS:
            raise AttributeError(
                f"'Config' object has no attribute '{name}'; valid options: {', '.join(_KEYS)}"
            )
        values = dict(self._values)
        values[name] = value
        object.__setattr__(self, "_values", dict(_native.config_build(values)))

    def __dir__(self) -> List[str]:
        return sorted(set(super().__dir__()) | set(_KEYS))

    def to_dict(self) -> Dict[str, Any]:
        """Every key and its value (a new dict, in declaration order)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._values.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Config":
        """A configuration from a dict such as :meth:`to_dict` returns, or a
        JSON config file's object; keys left out keep their defaults. An
        unknown key or bad value raises ``ValueError``."""
        if not isinstance(data, Mapping):
            raise TypeError(f"from_dict() needs a mapping, not {type(data).__name__}")
        self = cls.__new__(cls)
        object.__setattr__(self, "_values", dict(_native.config_build(dict(data), False)))
        return self

    @classmethod
    def from_file(cls, path: PathLike) -> "Config":
        """Read a config file (JSON, TOML or YAML, by extension) exactly as
        ``jj extract -c FILE`` does."""
        self = cls.__new__(cls)
        object.__setattr__(self, "_values", dict(_native.config_from_file(os.fspath(path))))
        return self

    def __repr__(self) -> str:
        parts = [f"features={self._values['features']!r}"]
        parts += [
            f"{k}={v!r}"
            for k, v in self._values.items()
            if k != "features" and v != _DEFAULTS[k]
        ]
        return f"Config({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return self._values == other._values

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        return (Config.from_dict, (self.to_dict(),))


def _paths(path: Union[PathLike, Sequence[PathLike]]) -> List[str]:
    if isinstance(path, (str, os.PathLike)):
        return [os.fspath(path)]
    paths = [os.fspath(p) for p in path]
    if not paths:
        raise ValueError("no capture file given")
    return paths


def _check_format(output_format: str) -> None:
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(
            f"output_format: unknown format {output_format!r}; valid formats: {', '.join(OUTPUT_FORMATS)}"
        )


def _warn(messages: Sequence[str], stacklevel: int) -> None:
    for m in messages:
        warnings.warn(m, CaptureWarning, stacklevel=stacklevel + 1)


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError as e:  # pragma: no cover - pyarrow is a dependency
        raise ImportError("joyfuljay needs pyarrow: pip install pyarrow") from e
    return pyarrow


def _record_batch(pa: Any, batch: Any) -> Any:
    # The Arrow PyCapsule interface (`__arrow_c_array__`): zero-copy.
    return pa.record_batch(batch)


def _to_pandas(data: Any) -> Any:
    """A pyarrow Table or RecordBatch as a DataFrame, with the registry's
    types: nullable integer columns (``int|None``) become pandas' nullable
    ``Int64`` and nullable booleans ``boolean`` (a null stays ``<NA>``
    instead of turning the column into floats or objects); booleans are
    ``bool``, the rest as pyarrow converts them."""
    import pandas as pd

    df = data.to_pandas()
    pa = _pyarrow()
    nullable = [
        f.name
        for f in data.schema
        if f.nullable and (pa.types.is_integer(f.type) or pa.types.is_boolean(f.type))
    ]
    if nullable:
        mapping = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
        part = data.select(nullable).to_pandas(types_mapper=mapping.get)
        for name in nullable:
            df[name] = part[name]
    return df


def _convert(table: Any, output_format: str) -> Any:
    if output_format == "arrow":
        return table
    if output_format == "dict":
        return table.to_pylist()
    try:
        import pandas  # noqa: F401
    except ImportError as e:  # pragma: no cover - pandas is a dependency
        raise ImportError(
            "output_format='dataframe' needs pandas (pip install pandas); "
            "or use output_format='arrow' or 'dict'"
        ) from e
    return _to_pandas(table)


class Pipeline:
    """An extraction configured once and run on any number of captures.

    Args:
        config: a :class:`Config`, a dict of configuration keys, or ``None``
            for the defaults. Keyword options override it.

    Each capture file is its own flow space; several files given at once are
    read one after the other into one result, as ``jj extract a.pcap b.pcap``
    does.
    """

    __slots__ = ("_config", "_native", "stats")

    def __init__(self, config: Union[Config, Mapping[str, Any], None] = None, **options: Any) -> None:
        if config is None:
            config = Config(**options)
        elif isinstance(config, Config):
            # A copy: changing the caller's Config later does not change this pipeline.
            config = Config(**{**config.to_dict(), **options})
        elif isinstance(config, Mapping):
            config = Config(**{**config, **options})
        else:
            raise TypeError(f"config must be a Config, a dict or None, not {type(config).__name__}")
        self._config: Config = config
        self._native = _native.Pipeline(config.to_dict())
        #: Counters of the last run (files, packets, decoded, skipped by
        #: reason, flows, ...), or ``None`` before the first.
        self.stats: Optional[Dict[str, Any]] = None
        if config.anonymize_ips and not config.anonymization_salt:
            warnings.warn(
                "anonymizing with an empty salt is trivially reversible (hash every address); "
                "set anonymization_salt",
                UserWarning,
                stacklevel=2,
            )

    @property
    def config(self) -> Config:
        """The configuration (a copy)."""
        return Config.from_dict(self._config.to_dict())

    @property
    def columns(self) -> List[str]:
        """The output column names, in order."""
        return list(self._native.columns())

    def __repr__(self) -> str:
        return f"Pipeline({self._config!r})"

    def process_pcap(
        self,
        path: Union[PathLike, Sequence[PathLike]],
        output_format: str = "dataframe",
    ) -> Any:
        """Extract the flows of a capture (pcap or pcapng) or a list of captures.

        Args:
            path: a capture file, or a list of them.
            output_format: ``"dataframe"`` (pandas, the default), ``"dict"``
                (a list of one dict per flow) or ``"arrow"`` (a
                ``pyarrow.Table``).

        Raises:
            FileNotFoundError: a file does not exist.
            CaptureError: a file is not a readable capture (``ValueError``).

        Extraction releases the GIL. A capture cut short gives a
        :class:`CaptureWarning` and every complete packet before the cut.
        """
        _check_format(output_format)
        self._no_dataset()
        pa = _pyarrow()
        batches, messages, stats = self._native.run(_paths(path), _CHUNK_ROWS)
        self.stats = stats
        _warn(messages, 2)
        table = pa.Table.from_batches([_record_batch(pa, b) for b in batches])
        return _convert(table, output_format)

    def process_pcaps_batch(
        self,
        paths: Sequence[PathLike],
        output_format: str = "dataframe",
    ) -> Any:
        """Extract the flows of several captures into one result, the files'
        rows in the order given (each file its own flow space).

        The files are read in parallel by threads of this process (the
        configuration's ``num_workers``, else every core), not by worker
        processes: nothing is pickled and the rows are the same for any
        number of workers. The same as ``process_pcap(paths, output_format)``.
        """
        if isinstance(paths, (str, bytes, os.PathLike)):
            raise TypeError("process_pcaps_batch: give a list of paths (process_pcap reads one)")
        return self.process_pcap(list(paths), output_format)

    def iter_features(
        self,
        path: Union[PathLike, Sequence[PathLike]],
        output_format: str = "dict",
        batch_size: int = _CHUNK_ROWS,
    ) -> Iterator[Any]:
        """Yield the flows of a capture as they are extracted, in constant
        memory, for captures too big to hold.

        Args:
            path: a capture file, or a list of them.
            output_format: ``"dict"`` (the default) yields one dict per
                flow; ``"arrow"`` yields ``pyarrow.RecordBatch``es and
                ``"dataframe"`` pandas DataFrames of up to ``batch_size``
                rows.
            batch_size: rows per batch.

        Missing and unreadable files raise before the first item. Extraction
        runs in a background thread, at most two batches ahead.
        """
        _check_format(output_format)
        self._no_dataset()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: must be a positive whole number (got {batch_size!r})")
        pa = _pyarrow()
        stream = self._native.stream(_paths(path), batch_size)
        self.stats = None
        return self._iterate(pa, stream, output_format)

    def write_dataset(
        self,
        path: Union[PathLike, Sequence[PathLike]],
        directory: PathLike,
        output_format: str = "parquet",
    ) -> List[str]:
        """Extract the flows of a capture (or a list of captures) into a
        partitioned dataset, as ``jj extract -o DIR --partition-by …``.

        The configuration's ``partition_by`` names the directories' keys
        (``"date"``, ``"hour"``, ``"file"``): e.g. ``DIR/date=2024-01-15/
        hour=09/part-00000.parquet``. ``directory`` must be new or empty.
        Each part is written to a temporary file and renamed when the whole
        run has succeeded; on an error or ``KeyboardInterrupt`` no part is
        left. The partition values are in the directory names only (the
        Hive convention), so ``pyarrow.dataset.dataset(DIR,
        partitioning="hive")`` gives the rows of :meth:`process_pcap` plus
        the partition columns.

        Args:
            path: a capture file, or a list of them.
            directory: the dataset's directory.
            output_format: ``"parquet"`` (the default), ``"csv"``,
                ``"jsonl"`` or ``"json"``.

        Returns:
            The paths of the parts written, in order of creation.
        """
        parts, messages, stats = self._native.write_dataset(
            _paths(path), os.fspath(directory), output_format
        )
        self.stats = stats
        _warn(messages, 2)
        return [os.fspath(p) for p in parts]

    def _no_dataset(self) -> None:
        if self._config.partition_by:
            raise ValueError(
                "partition_by: a partitioned dataset is written to a directory: "
                "use Pipeline.write_dataset(path, directory) or extract(path, output=directory)"
            )

    def iter_live(
        self,
        iface: Union[str, Sequence[str]],
        duration: Optional[float] = None,
        count: Optional[int] = None,
        filter: Optional[str] = None,
        save_pcap: Optional[PathLike] = None,
        output_format: str = "dict",
        pid: Optional[int] = None,
        process: Optional[str] = None,
    ) -> Iterator[Any]:
        """Capture on a network interface (or a list of them) and yield the
        flows as they end: by idle timeout (``flow_timeout``) on the wall
        clock, by active timeout or TCP close, and every open flow when the
        capture stops (after ``duration`` seconds or ``count`` packets).

        Args:
            iface: interface name(s), e.g. ``"eth0"`` (``"any"`` on Linux).
            duration: stop after this many seconds (default: never).
            count: stop after this many packets (default: never).
            filter: a BPF expression (tcpdump syntax), e.g. ``"tcp port 443"``.
            save_pcap: also write the captured packets to this pcapng file.
            output_format: ``"dict"`` (one dict per flow), ``"arrow"``
                (``pyarrow.RecordBatch``es) or ``"dataframe"``.
            pid: only the TCP/UDP traffic of this process's sockets (Linux;
                as ``jj live --pid``).
            process: only that of the processes of this name (Linux; as
                ``jj live --process``); with ``pid``, either one's.

        Raises:
            OSError: no such interface, no permission (root or the
                CAP_NET_RAW capability is needed), a filter that does not
                compile, no such process (``pid``, ``process``) or its
                sockets unreadable, or the interface went down (after the
                rows seen so far).

        Ctrl-C raises KeyboardInterrupt within 0.1 s; the capture stops and
        the flows still open are discarded (stop with ``duration`` or
        ``count`` to have them). Needs libpcap at run time.
        """
        _check_format(output_format)
        ifaces = [iface] if isinstance(iface, str) else list(iface)
        pa = _pyarrow()
        stream = self._native.live_stream(
            ifaces,
            duration,
            count,
            filter,
            None if save_pcap is None else os.fspath(save_pcap),
            pid=pid,
            process=process,
        )
        self.stats = None
        return self._iterate(pa, stream, output_format)

    def process_live(
        self,
        iface: Union[str, Sequence[str]],
        duration: Optional[float] = None,
        count: Optional[int] = None,
        filter: Optional[str] = None,
        save_pcap: Optional[PathLike] = None,
        output_format: str = "dataframe",
        pid: Optional[int] = None,
        process: Optional[str] = None,
    ) -> Any:
        """Capture until ``duration`` seconds or ``count`` packets (one of
        them is required) and return every flow, as :meth:`process_pcap`
        returns a file's. Arguments and errors as :meth:`iter_live`."""
        _check_format(output_format)
        if duration is None and count is None:
            raise ValueError("process_live: give duration= or count= (iter_live captures until stopped)")
        pa = _pyarrow()
        batches = list(self.iter_live(iface, duration, count, filter, save_pcap, "arrow", pid, process))
        pipeline_schema = batches[0].schema if batches else None
        if pipeline_schema is None:
            table = pa.Table.from_batches([], schema=self._empty_schema(pa))
        else:
            table = pa.Table.from_batches(batches)
        return _convert(table, output_format)

    def _empty_schema(self, pa: Any) -> Any:
        # No flow at all: the columns, typed, with no rows (the schema of
        # an empty extraction).
        batches, _, _ = self._native.run([], _CHUNK_ROWS)
        if batches:
            return _record_batch(pa, batches[0]).schema
        return pa.schema([(c, pa.null()) for c in self.columns])

    def _iterate(self, pa: Any, stream: Any, output_format: str) -> Iterator[Any]:
        for b in stream:
            _warn(stream.take_warnings(), 3)
            batch = _record_batch(pa, b)
            if output_format == "dict":
                yield from batch.to_pylist()
            elif output_format == "arrow":
                yield batch
            else:
                yield _to_pandas(batch)
        _warn(stream.take_warnings(), 3)
        self.stats = stream.stats()


def extract(
    path: Union[PathLike, Sequence[PathLike]],
    features: Union[str, Sequence[str], None] = None,
    output_format: str = "dataframe",
    *,
    output: Optional[PathLike] = None,
    **config: Any,
) -> Any:
    """Extract flow features from a capture (pcap or pcapng) or a list of captures.

    Args:
        path: a capture file, or a list of them.
        features: feature groups (``["flow_meta"]``, ...; default: all).
        output_format: ``"dataframe"`` (pandas, the default), ``"dict"`` (a
            list of dicts) or ``"arrow"`` (a ``pyarrow.Table``); with
            ``output``, the parts' format: ``"parquet"`` (the default),
            ``"csv"``, ``"jsonl"`` or ``"json"``.
        output: a directory to write a partitioned dataset to (with the
            ``partition_by`` key; see :meth:`Pipeline.write_dataset`, whose
            list of parts is returned).
        **config: any :class:`Config` keyword (``anonymize_ips=True``, ...).

    Equivalent to ``Pipeline(Config(features=features, **config)).process_pcap(path, output_format)``.
    """
    if output is not None:
        fmt = "parquet" if output_format == "dataframe" else output_format
        return Pipeline(Config(features, **config)).write_dataset(path, output, fmt)
    _check_format(output_format)
    return Pipeline(Config(features, **config)).process_pcap(path, output_format)


def extract_live(
    iface: Union[str, Sequence[str]],
    duration: Optional[float] = None,
    filter: Optional[str] = None,
    features: Union[str, Sequence[str], None] = None,
    output_format: str = "dataframe",
    count: Optional[int] = None,
    save_pcap: Optional[PathLike] = None,
    pid: Optional[int] = None,
    process: Optional[str] = None,
    **config: Any,
) -> Any:
    """Capture on a network interface for ``duration`` seconds (or
    ``count`` packets) and return its flows, as :func:`extract` returns a
    file's. ``filter`` is a BPF expression (tcpdump syntax); ``pid`` /
    ``process`` keep only a process's traffic (Linux, as ``jj live
    --pid/--process``); ``**config`` any :class:`Config` keyword. Needs
    root or the CAP_NET_RAW capability.

    Equivalent to ``Pipeline(Config(features=features, **config)).process_live(iface, duration, count, filter, save_pcap, output_format, pid, process)``.
    """
    _check_format(output_format)
    return Pipeline(Config(features, **config)).process_live(
        iface, duration, count, filter, save_pcap, output_format, pid, process
    )


def features() -> List[Dict[str, Any]]:
    """The schema: one dict per column that any configuration can produce,
    in output order, with its ``group``, ``profile``, ``name``, ``type``
    (``int``, ``float``, ``str``, ``bool``, ``list[int]``, ...),
    ``nullable`` (whether a flow may have nothing to report: a null),
    ``unit``, ``description``, ``option`` (the option that adds it, or
    ``None``) and ``identifies_flow``. ``pandas.DataFrame(jj.features())``
    makes a table.
    """
    out = []
    for g in _native.features_json()["groups"]:
        for c in g["columns"]:
            out.append({"group": g["group"], "profile": g["profile"], **c})
    return out
