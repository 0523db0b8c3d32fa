"""Type stubs of the joyfuljay package (see the module docstring)."""

import os
from typing import Any, Dict, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union, overload

import pandas
import pyarrow

from ._joyfuljay import CaptureError as CaptureError

__version__: str
__all__: List[str]

PathLike = Union[str, os.PathLike[str]]
Paths = Union[PathLike, Sequence[PathLike]]
Features = Union[str, Sequence[str]]

#: Values accepted by ``output_format``.
OUTPUT_FORMATS: Tuple[str, ...]

class CaptureWarning(UserWarning):
    """A capture was read only in part; every complete packet before the problem was used."""

class Config:
    """Everything that controls an extraction: the CLI config file's keys,
    validated by the same code (bad value: ``ValueError``; unknown keyword:
    ``TypeError``)."""

    features: List[str]
    profile: Optional[str]
    specific_features: Optional[List[str]]
    flow_timeout: float
    active_timeout: Optional[float]
    terminate_on_fin_rst: bool
    max_concurrent_flows: int
    flow_eviction_strategy: str
    max_memory: Optional[int]
    sampling_rate: Optional[float]
    num_workers: Optional[int]
    include_ip_addresses: bool
    include_ports: bool
    anonymize_ips: bool
    anonymization_salt: str
    include_flow_id: bool
    burst_threshold_ms: float
    max_sequence_length: int
    include_raw_sequences: bool
    include_splt: bool
    bidirectional_split: bool
    entropy_sample_bytes: int
    connection_include_temporal: bool
    connection_include_graph_metrics: bool
    connection_community_algorithm: str
    continue_across_files: bool
    partition_by: List[str]

    def __init__(
        self,
        features: Optional[Features] = None,
        *,
        profile: Optional[str] = None,
        specific_features: Optional[Features] = None,
        flow_timeout: float = 60.0,
        active_timeout: Optional[float] = None,
        terminate_on_fin_rst: bool = True,
        max_concurrent_flows: int = 0,
        flow_eviction_strategy: str = "lru",
        max_memory: Union[int, str, None] = None,
        sampling_rate: Optional[float] = None,
        num_workers: Optional[int] = None,
        include_ip_addresses: bool = True,
        include_ports: bool = True,
        anonymize_ips: bool = False,
        anonymization_salt: str = "",
        include_flow_id: bool = False,
        burst_threshold_ms: float = 50.0,
        max_sequence_length: int = 50,
        include_raw_sequences: bool = False,
        include_splt: bool = False,
        bidirectional_split: bool = False,
        entropy_sample_bytes: int = 256,
        connection_include_temporal: bool = False,
        connection_include_graph_metrics: bool = False,
        connection_community_algorithm: str = "louvain",
        continue_across_files: bool = False,
        partition_by: Union[str, Sequence[str]] = ...,
    ) -> None: ...
    def to_dict(self) -> Dict[str, Any]:
        """Every key and its value (a new dict, in declaration order)."""
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Config":
        """A configuration from a dict; unknown keys or bad values raise ``ValueError``."""
    @classmethod
    def from_file(cls, path: PathLike) -> "Config":
        """Read a JSON, TOML or YAML config file as ``jj extract -c FILE`` does."""
    def __eq__(self, other: object) -> bool: ...

class Pipeline:
    """An extraction configured once and run on any number of captures."""

    #: Counters of the last run, or ``None`` before the first.
    stats: Optional[Dict[str, Any]]

    def __init__(self, config: Union[Config, Mapping[str, Any], None] = None, **options: Any) -> None: ...
    @property
    def config(self) -> Config:
        """The configuration (a copy)."""
    @property
    def columns(self) -> List[str]:
        """The output column names, in order."""
    @overload
    def process_pcap(self, path: Paths, output_format: Literal["dataframe"] = ...) -> pandas.DataFrame: ...
    @overload
    def process_pcap(self, path: Paths, output_format: Literal["dict"]) -> List[Dict[str, Any]]: ...
    @overload
    def process_pcap(self, path: Paths, output_format: Literal["arrow"]) -> pyarrow.Table: ...
    def write_dataset(
        self, path: Paths, directory: PathLike, output_format: Literal["parquet", "csv", "jsonl", "json"] = ...
    ) -> List[str]:
        """Write a partitioned dataset (``partition_by``) into a new or empty directory; returns the parts."""
    @overload
    def iter_features(
        self, path: Paths, output_format: Literal["dict"] = ..., batch_size: int = ...
    ) -> Iterator[Dict[str, Any]]: ...
    @overload
    def iter_features(
        self, path: Paths, output_format: Literal["arrow"], batch_size: int = ...
    ) -> Iterator[pyarrow.RecordBatch]: ...
    @overload
    def iter_features(
        self, path: Paths, output_format: Literal["dataframe"], batch_size: int = ...
    ) -> Iterator[pandas.DataFrame]: ...
    def iter_live(
        self,
        iface: Union[str, Sequence[str]],
        duration: Optional[float] = None,
        count: Optional[int] = None,
        filter: Optional[str] = None,
        save_pcap: Optional[PathLike] = None,
        output_format: str = ...,
        pid: Optional[int] = None,
        process: Optional[str] = None,
    ) -> Iterator[Any]:
        """Capture on interface(s) and yield flows as they end (needs libpcap, root or CAP_NET_RAW)."""
    def process_live(
        self,
        iface: Union[str, Sequence[str]],
        duration: Optional[float] = None,
        count: Optional[int] = None,
        filter: Optional[str] = None,
        save_pcap: Optional[PathLike] = None,
        output_format: str = ...,
        pid: Optional[int] = None,
        process: Optional[str] = None,
    ) -> Any:
        """Capture until duration/count and return every flow."""

@overload
def extract(
    path: Paths, features: Optional[Features] = None, output_format: Literal["dataframe"] = ..., **config: Any
) -> pandas.DataFrame:
    """Extract flow features from a capture (or a list of captures)."""

@overload
def extract(
    path: Paths, features: Optional[Features] = None, *, output_format: Literal["dict"], **config: Any
) -> List[Dict[str, Any]]: ...
@overload
def extract(
    path: Paths, features: Optional[Features] = None, *, output_format: Literal["arrow"], **config: Any
) -> pyarrow.Table: ...
@overload
def extract(
    path: Paths,
    features: Optional[Features] = None,
    output_format: Literal["dataframe", "parquet", "csv", "jsonl", "json"] = ...,
    *,
    output: PathLike,
    **config: Any,
) -> List[str]: ...
def extract_live(
    iface: Union[str, Sequence[str]],
    duration: Optional[float] = None,
    filter: Optional[str] = None,
    features: Optional[Features] = None,
    output_format: str = ...,
    count: Optional[int] = None,
    save_pcap: Optional[PathLike] = None,
    pid: Optional[int] = None,
    process: Optional[str] = None,
    **config: Any,
) -> Any:
    """Capture on interface(s) for duration seconds (or count packets) and return the flows."""

def features() -> List[Dict[str, Any]]:
    """The schema: one dict per column (group, name, type, unit, description, option, identifies_flow)."""
