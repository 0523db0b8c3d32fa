"""Packet captures as a Dask DataFrame of flows, one partition per capture
file::

    import joyfuljay.dask

    ddf = joyfuljay.dask.read_captures("captures/", features=["flow_meta"])
    ddf.groupby("dst_port").total_bytes.sum().compute()

Runs on any Dask scheduler, ``dask.distributed`` clusters included (each
worker needs the ``joyfuljay`` package). ``pip install 'joyfuljay[dask]'``.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

try:
    import dask
    import dask.dataframe as dd
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "joyfuljay.dask needs dask.dataframe (pip install 'joyfuljay[dask]')"
    ) from e

from . import Config, _engines, _to_pandas

__all__ = ["read_captures"]


def _meta(config: Config, source_column: Optional[str]) -> Any:
    """An empty DataFrame with the columns and dtypes of ``jj.extract`` for
    `config` (the same conversion, applied to the registry's schema)."""
    return _to_pandas(_engines.arrow_schema(config, source_column).empty_table())


def _read_partition(
    part: _engines.PathGroup,
    config: dict,
    source_column: Optional[str],
    ignore_corrupt_files: bool,
) -> Any:
    """One partition: the rows of one file (or group of files) as a pandas
    DataFrame, as ``jj.extract`` returns them."""
    import pyarrow as pa

    label, files = part
    cfg = Config.from_dict(config)
    schema = _engines.arrow_schema(cfg, source_column)
    batches = list(
        _engines.read_batches(
            label,
            files,
            cfg,
            source_column=source_column,
            schema=schema,
            ignore_corrupt_files=ignore_corrupt_files,
        )
    )
    return _to_pandas(pa.Table.from_batches(batches, schema=schema))


def read_captures(
    paths: Union[str, "os.PathLike[str]", Sequence[Any]],
    features: Union[str, Sequence[str], None] = None,
    *,
    source_column: Optional[str] = None,
    ignore_corrupt_files: bool = False,
    recursive: bool = False,
    **config: Any,
) -> "dd.DataFrame":
    """The flows of capture files as a ``dask.dataframe.DataFrame`` (built
    with ``dd.from_map``), one partition per capture file.

    Args:
        paths: a capture file, a directory (its pcap/pcapng files, in name
            order, as ``jj extract DIR``), a glob pattern, a remote URL
            (``s3://…``, any scheme fsspec knows: the file is copied to a
            local temporary file by the worker that reads it), or a list of
            these. A list or tuple inside the list is one partition (its
            files read by one task, as one stream with
            ``continue_across_files``).
        features: feature groups, as :func:`joyfuljay.extract`.
        source_column: add a string column of this name with each row's
            capture file (its absolute path, or its URL).
        ignore_corrupt_files: skip a file that is not a readable capture,
            with a :class:`joyfuljay.CaptureWarning`, instead of failing.
        recursive: also read the captures in subdirectories.
        **config: any :class:`joyfuljay.Config` keyword. ``num_workers``
            defaults to 1 (Dask runs one task per core). With
            ``continue_across_files``, each path given is one partition
            whose files are read as one stream.

    Strings, lists and nullable columns have the dtypes ``jj.extract``
    gives them (Dask's ``dataframe.convert-string`` is off for this
    DataFrame).

    A partition is never a part of a file: a flow may last the whole
    capture, and only one reader over every packet of a file makes it one
    row. The DataFrame's ``meta`` comes from the column registry: the same
    columns and dtypes as ``jj.extract`` returns for the same features.
    Missing files raise here; a file that is not a readable capture raises
    :class:`joyfuljay.CaptureError` (naming it) when its partition is
    computed.
    """
    config.setdefault("num_workers", 1)
    cfg = Config(features, **config)
    groups = _engines.plan(
        paths,
        continue_across_files=bool(cfg.to_dict().get("continue_across_files")),
        recursive=recursive,
    )
    meta = _meta(cfg, source_column)
    # Dask would turn object columns (lists, and strings under pandas < 3)
    # into pyarrow strings; the dtypes stay those of jj.extract instead.
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_map(
            _read_partition,
            groups,
            config=cfg.to_dict(),
            source_column=source_column,
            ignore_corrupt_files=ignore_corrupt_files,
            meta=meta,
            label="read-captures",
        )
