"""Type stubs of the native module (crates/joyfuljay-py). Use ``joyfuljay`` itself."""

import os
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

__version__: str

class CaptureError(ValueError):
    """A capture file cannot be read: unsupported format or bad header. The message is the CLI's."""

class RecordBatch:
    """One Arrow record batch, offered through the Arrow PyCapsule interface."""

    @property
    def num_rows(self) -> int:
        """Number of rows."""
    def __arrow_c_schema__(self) -> object:
        """The schema as an ``arrow_schema`` PyCapsule."""
    def __arrow_c_array__(self, requested_schema: Optional[object] = None) -> Tuple[object, object]:
        """(``arrow_schema``, ``arrow_array``) PyCapsules of the batch as a struct array."""

class BatchStream(Iterator[RecordBatch]):
    """Record batches of an extraction running in a background thread."""

    def __iter__(self) -> "BatchStream": ...
    def __next__(self) -> RecordBatch: ...
    def take_warnings(self) -> List[str]:
        """Warnings received so far (each returned once)."""
    def stats(self) -> Optional[Dict[str, Any]]:
        """Counters of the run, once it has ended."""

class Pipeline:
    """A validated configuration and its selected feature groups."""

    def __init__(self, config: Mapping[str, Any]) -> None: ...
    def columns(self) -> List[str]:
        """The output column names, in order."""
    def run(
        self, paths: Sequence[Union[str, os.PathLike[str]]], chunk_rows: int
    ) -> Tuple[List[RecordBatch], List[str], Dict[str, Any]]:
        """Extract every flow (GIL released): (batches, warnings, stats)."""
    def write_dataset(
        self, paths: Sequence[Union[str, os.PathLike[str]]], directory: Union[str, os.PathLike[str]], format: str
    ) -> Tuple[List[str], List[str], Dict[str, Any]]:
        """Write a partitioned dataset (the config's ``partition_by``); returns (parts, warnings, stats)."""
    def stream(self, paths: Sequence[Union[str, os.PathLike[str]]], chunk_rows: int) -> BatchStream:
        """Start extracting in a background thread."""
    def live_stream(
        self,
        ifaces: Sequence[str],
        duration: Optional[float] = None,
        count: Optional[int] = None,
        filter: Optional[str] = None,
        save_pcap: Optional[str] = None,
        chunk_rows: int = 65536,
    ) -> BatchStream:
        """Start capturing on ifaces (libpcap) in a background thread."""

def config_build(options: Mapping[str, Any], unknown_is_type_error: bool = True) -> Dict[str, Any]:
    """Defaults overridden by ``options``, validated; every key as a dict."""

def config_from_file(path: Union[str, os.PathLike[str]]) -> Dict[str, Any]:
    """A config file read as ``jj extract -c`` does."""

def config_keys() -> List[str]:
    """The configuration keys, in declaration order."""

def features_json() -> Dict[str, Any]:
    """The column registry (``jj features --json``)."""

def cli_main(argv: List[str]) -> int:
    """Run the ``jj`` command line; returns its exit status."""

def install_cli_signal_handler() -> None:
    """Handle SIGINT/SIGTERM as the ``jj`` binary does (console script only)."""
