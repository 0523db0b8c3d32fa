"""What the Spark data source and the Dask reader share: finding the capture
files behind the paths given, grouping them into partitions, the Arrow schema
of a configuration (from the column registry), options given as strings, and
reading one partition as a stream of Arrow record batches from Rust.

One partition is one capture file (or, with ``continue_across_files``, one
group of files read as one stream). A file is never split: a flow may span
the whole capture, and a flow cut at a split point would become two rows with
wrong counts, so exact flows need every packet of a file in one reader.
"""

from __future__ import annotations

import contextlib
import glob as _glob
import os
import shutil
import tempfile
import warnings
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from . import CaptureError, CaptureWarning, Config, _native, _record_batch

#: Rows per Arrow record batch handed to an engine.
BATCH_ROWS = 65536

#: The first four bytes of the capture formats the reader takes (pcap in
#: both byte orders, micro- and nanosecond, and pcapng): a directory is
#: expanded to its files that start with one, as ``jj extract DIR`` does.
_MAGICS = {
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
}

_GLOB_CHARS = set("*?[")


# ---------------------------------------------------------------- paths


def _scheme(path: str) -> str:
    """The URL scheme of `path`, "" for a plain local path."""
    if "://" not in path:
        return ""
    return urlparse(path).scheme.lower()


def _local(path: str) -> Optional[str]:
    """`path` as an absolute local path, or None when it is a remote URL."""
    scheme = _scheme(path)
    if scheme == "":
        return os.path.abspath(os.path.expanduser(path))
    if scheme in ("file", "local"):
        u = urlparse(path)
        if u.netloc not in ("", "localhost"):
            raise ValueError(f"{path}: a file:// URL must name a local path (file:///...)")
        return os.path.abspath(url2pathname(unquote(u.path)))
    return None


def _fsspec(url: str) -> Tuple[Any, str]:
    try:
        import fsspec
    except ImportError:
        raise ImportError(
            f"{url}: remote paths need fsspec (pip install fsspec, and its plugin for "
            "the scheme: s3fs, gcsfs, adlfs, ...)"
        ) from None
    fs, path = fsspec.core.url_to_fs(url)
    return fs, path


def _is_capture_head(head: bytes) -> bool:
    return head[:4] in _MAGICS


def _local_is_capture(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return _is_capture_head(f.read(4))
    except OSError:
        return False


def _hidden(name: str) -> bool:
    # As Spark's and Hadoop's file sources: `_SUCCESS`, `.crc`, ... are not data.
    return name.startswith((".", "_"))


def _expand_local(path: str, recursive: bool) -> List[str]:
    if any(c in _GLOB_CHARS for c in path):
        found = sorted(p for p in _glob.glob(path) if os.path.isfile(p) and not _hidden(os.path.basename(p)))
        if not found:
            raise FileNotFoundError(2, "No such file or directory (no match)", path)
        return [os.path.abspath(p) for p in found]
    if os.path.isdir(path):
        out = []
        if recursive:
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not _hidden(d))
                out += [os.path.join(root, f) for f in files if not _hidden(f)]
        else:
            out = [os.path.join(path, f) for f in os.listdir(path) if not _hidden(f)]
        out = sorted(p for p in out if os.path.isfile(p) and _local_is_capture(p))
        if not out:
            raise FileNotFoundError(2, "directory holds no pcap or pcapng files", path)
        return out
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such file or directory", path)
    return [path]


def _expand_remote(url: str, recursive: bool) -> List[str]:
    fs, path = _fsspec(url)
    protocol = url.split("://", 1)[0]

    def unstrip(p: str) -> str:
        return fs.unstrip_protocol(p) if hasattr(fs, "unstrip_protocol") else f"{protocol}://{p}"

    if any(c in _GLOB_CHARS for c in path):
        found = sorted(p for p in fs.glob(path) if fs.isfile(p) and not _hidden(p.rsplit("/", 1)[-1]))
        if not found:
            raise FileNotFoundError(2, "No such file or directory (no match)", url)
        return [unstrip(p) for p in found]
    if fs.isdir(path):
        if recursive:
            entries = [p for p in fs.find(path) if not any(_hidden(s) for s in p[len(path):].split("/") if s)]
        else:
            entries = [e["name"] for e in fs.ls(path, detail=True) if e.get("type") == "file"]
            entries = [p for p in entries if not _hidden(p.rstrip("/").rsplit("/", 1)[-1])]
        out = []
        for p in sorted(entries):
            with fs.open(p, "rb") as f:
                if _is_capture_head(f.read(4)):
                    out.append(unstrip(p))
        if not out:
            raise FileNotFoundError(2, "directory holds no pcap or pcapng files", url)
        return out
    if not fs.exists(path):
        raise FileNotFoundError(2, "No such file or directory", url)
    return [url]


def expand(path: str, recursive: bool = False) -> List[str]:
    """The capture files behind one path: a file (as given), a directory (its
    regular files that start with a pcap/pcapng magic number, in name order;
    with `recursive`, those of its subdirectories too; names starting with
    ``.`` or ``_`` left out) or a glob pattern (every matching file, the
    same names left out). Local
    paths come back absolute; remote URLs (any scheme fsspec knows) as URLs.
    """
    path = os.fspath(path)
    local = _local(path)
    if local is not None:
        return _expand_local(local, recursive)
    return _expand_remote(path, recursive)


PathGroup = Tuple[str, List[str]]


def plan(
    paths: Union[str, "os.PathLike[str]", Sequence[Any]],
    continue_across_files: bool = False,
    recursive: bool = False,
) -> List[PathGroup]:
    """The partitions of a read: (label, files) pairs.

    Each capture file is its own partition, labelled by its path. With
    `continue_across_files`, each path given (a directory, a glob or a file)
    is one partition holding all of its files, read as one stream, labelled
    by the path as given. A list or tuple inside `paths` is always one
    partition (its files in the order given), labelled by its first file.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise ValueError("no capture file given")
    out: List[PathGroup] = []
    for p in paths:
        if isinstance(p, (list, tuple)):
            files = [f for q in p for f in expand(os.fspath(q), recursive)]
            if not files:
                raise ValueError("an empty group of capture files")
            out.append((files[0], files))
            continue
        files = expand(os.fspath(p), recursive)
        if continue_across_files:
            out.append((os.fspath(p), files))
        else:
            out += [(f, [f]) for f in files]
    return out


# ---------------------------------------------------------------- schema


def _arrow_type(pa: Any, ty: str) -> Any:
    scalars = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_()}
    if ty in scalars:
        return scalars[ty]
    # As crates/joyfuljay/src/output/arrow.rs: list elements are never null,
    # except floats (a non-finite value is null).
    if ty == "list[int]":
        return pa.list_(pa.field("item", pa.int64(), nullable=False))
    if ty == "list[float]":
        return pa.list_(pa.field("item", pa.float64(), nullable=True))
    if ty == "list[str]":
        return pa.list_(pa.field("item", pa.string(), nullable=False))
    if ty == "list[(int, float)]":
        pair = pa.struct(
            [pa.field("length", pa.int64(), nullable=False), pa.field("iat", pa.float64(), nullable=True)]
        )
        return pa.list_(pa.field("item", pair, nullable=False))
    raise ValueError(f"unknown column type {ty!r} in the registry")


def registry() -> Dict[str, Dict[str, Any]]:
    """Column name -> its registry entry (``jj.features()``)."""
    from . import features

    return {c["name"]: c for c in features()}


def arrow_schema(config: Config, source_column: Optional[str] = None) -> Any:
    """The Arrow schema of the rows `config` makes, from the column registry:
    the columns of ``Pipeline(config).columns``, with their types,
    nullability (a column marked nullable, and every float: non-finite
    values are null) and, as field metadata, unit and description. With
    `source_column`, a non-null string column of that name is added last."""
    import pyarrow as pa

    reg = registry()
    names = list(_native.Pipeline(config.to_dict()).columns())
    fields = []
    for name in names:
        c = reg[name]
        meta = {"description": c["description"]}
        if c.get("unit"):
            meta = {"unit": c["unit"], **meta}
        fields.append(
            pa.field(name, _arrow_type(pa, c["type"]), nullable=c["nullable"] or c["type"] == "float", metadata=meta)
        )
    if source_column:
        if source_column in names:
            raise ValueError(f"source_column: {source_column!r} is already a feature column; choose another name")
        fields.append(pa.field(source_column, pa.string(), nullable=False))
    return pa.schema(fields)


# ---------------------------------------------------------------- options


def _parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "1", "yes", "on"):
        return True
    if t in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r} (true or false)")


def _candidates(text: str) -> List[Any]:
    """The values a string may stand for, most specific first."""
    out: List[Any] = []
    t = text.strip()
    if t.lower() in ("none", "null", ""):
        out.append(None)
    with contextlib.suppress(ValueError):
        out.append(_parse_bool(t))
    with contextlib.suppress(ValueError):
        out.append(int(t))
    with contextlib.suppress(ValueError):
        out.append(float(t))
    out.append(text)
    return out


def config_from_strings(options: Mapping[str, str], base: Optional[Mapping[str, Any]] = None) -> Config:
    """A :class:`Config` from options given as strings (Spark's
    ``.option(key, value)``): each value is parsed as the type of the key's
    default (``true``/``false`` for booleans, numbers, comma-separated lists
    for ``features`` and ``specific_features``, ``none`` for unset); a key
    whose default is unset takes the first reading the configuration accepts
    (null, boolean, whole number, number, text). Bad values raise the
    configuration's own ``ValueError``."""
    from . import _DEFAULTS

    values: Dict[str, Any] = dict(base or {})
    for key, text in options.items():
        if not isinstance(text, str):
            values[key] = text
            continue
        default = _DEFAULTS.get(key)
        if isinstance(default, bool):
            try:
                values[key] = _parse_bool(text)
            except ValueError as e:
                raise ValueError(f"{key}: {e}") from None
        elif isinstance(default, (int, float)) or default is None:
            last: Optional[Exception] = None
            for v in _candidates(text):
                try:
                    Config.from_dict({**values, key: v})
                except (ValueError, TypeError) as e:
                    last = last or e
                    continue
                values[key] = v
                break
            else:
                raise ValueError(str(last)) from None
        else:
            values[key] = text
    return Config.from_dict(values)


# ---------------------------------------------------------------- reading


@contextlib.contextmanager
def _local_copies(files: Sequence[str]) -> Iterator[List[str]]:
    """Local paths of `files`: local ones as they are, remote ones copied to
    a temporary directory (removed afterwards), since the reader needs a
    local file."""
    out: List[str] = []
    tmp: Optional[str] = None
    try:
        for f in files:
            local = _local(f)
            if local is not None:
                out.append(local)
                continue
            if tmp is None:
                tmp = tempfile.mkdtemp(prefix="joyfuljay-")
            fs, path = _fsspec(f)
            dest = os.path.join(tmp, f"{len(out)}-{os.path.basename(path.rstrip('/')) or 'capture'}")
            with fs.open(path, "rb") as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            out.append(dest)
        yield out
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _conform(pa: Any, batch: Any, schema: Any) -> Any:
    """`batch` with `schema`'s field names, nullability and metadata (its
    types are those of the schema up to names of list elements)."""
    if batch.schema.equals(schema, check_metadata=False):
        return batch
    columns = [
        col if col.type == f.type else col.cast(f.type) for col, f in zip(batch.columns, schema)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _named(msg: str, label: str, files: Sequence[str], local: Sequence[str]) -> str:
    """`msg` naming the files as the user gave them (not their temporary
    copies), and starting with the partition's label when it names none."""
    for orig, loc in zip(files, local):
        if orig != loc:
            msg = msg.replace(loc, orig)
    if not any(f in msg for f in files) and label not in msg:
        msg = f"{label}: {msg}"
    return msg


def read_batches(
    label: str,
    files: Sequence[str],
    config: Config,
    source_column: Optional[str] = None,
    schema: Any = None,
    ignore_corrupt_files: bool = False,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[Any]:
    """The rows of one partition as pyarrow RecordBatches, straight from
    the Rust extraction (one stream over `files`).

    A file that is not a readable capture raises :class:`CaptureError` with
    its name and the CLI's one-line message, or, with
    `ignore_corrupt_files`, gives a :class:`CaptureWarning` and no (more)
    rows. A capture cut short gives a :class:`CaptureWarning` and the rows of
    its complete packets. With `schema` (an Arrow schema of the same
    columns), batches are given its names, nullability and metadata.
    """
    import pyarrow as pa

    with _local_copies(files) as local:
        try:
            stream = _native.Pipeline(config.to_dict()).stream(local, batch_rows)
            for b in stream:
                for w in stream.take_warnings():
                    warnings.warn(_named(w, label, files, local), CaptureWarning, stacklevel=2)
                batch = _record_batch(pa, b)
                if source_column:
                    batch = batch.append_column(
                        pa.field(source_column, pa.string(), nullable=False),
                        pa.array([label] * batch.num_rows, pa.string()),
                    )
                if schema is not None:
                    batch = _conform(pa, batch, schema)
                yield batch
            for w in stream.take_warnings():
                warnings.warn(_named(w, label, files, local), CaptureWarning, stacklevel=2)
        except CaptureError as e:
            msg = _named(str(e), label, files, local)
            if ignore_corrupt_files:
                warnings.warn(f"skipped (ignoreCorruptFiles): {msg}", CaptureWarning, stacklevel=2)
                return
            raise CaptureError(msg) from None
