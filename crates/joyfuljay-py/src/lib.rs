//! `joyfuljay._joyfuljay`: the native half of the `joyfuljay` Python
//! package. It converts arguments and results and nothing more: the
//! configuration is [`joyfuljay::Config`] (same keys, same validation
//! messages as the CLI), extraction is [`joyfuljay::Pipeline`] writing into
//! an [`ArrowSink`], and the `jj` console script is [`jj::main_with_args`].
//!
//! Record batches reach pyarrow through the Arrow C Data Interface
//! (`__arrow_c_array__` PyCapsules): zero-copy, and independent of which
//! pyo3 version the `arrow` crates would otherwise want. Extraction runs with
//! the interpreter detached (the GIL released).

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{Array, RecordBatch, StructArray};
use joyfuljay::capture::CaptureReader;
use joyfuljay::config::KEYS;
use joyfuljay::features::{Column, Value};
use joyfuljay::output::arrow::ArrowSink;
use joyfuljay::output::Sink;
use joyfuljay::pipeline::Observer;
use joyfuljay::{Config, Error, Pipeline, Stats};
use pyo3::create_exception;
use pyo3::exceptions::{
    PyFileNotFoundError, PyIsADirectoryError, PyKeyboardInterrupt, PyOSError, PyPermissionError,
    PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyCapsule, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::Value as Json;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How often a thread waiting for an extraction looks for Ctrl-C
/// (KeyboardInterrupt and other signal handlers run within this).
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// Run `work` on a thread of its own with the GIL released, while this
/// thread looks for signals every [`SIGNAL_POLL`]. On a signal (Ctrl-C)
/// the cancel flag given to `work` is set, `work` is waited for (it ends
/// within a few thousand packets, so nothing outlives the call) and the
/// signal's Python exception is returned.
fn run_interruptibly<T, F>(py: Python<'_>, work: F) -> PyResult<Result<T, Error>>
where
    T: Send,
    F: FnOnce(Arc<AtomicBool>) -> Result<T, Error> + Send,
{
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = channel();
    std::thread::scope(|scope| {
        let flag = Arc::clone(&cancel);
        std::thread::Builder::new()
            .name("joyfuljay-extract".to_string())
            .spawn_scoped(scope, move || {
                let _ = tx.send(work(flag));
            })
            .map_err(|e| {
                PyRuntimeError::new_err(format!("cannot start the extraction thread: {e}"))
            })?;
        let mut rx = rx;
        loop {
            let (got, back) = py.detach(move || (rx.recv_timeout(SIGNAL_POLL), rx));
            rx = back;
            match got {
                Ok(r) => return Ok(r),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(e) = py.check_signals() {
                        cancel.store(true, Ordering::SeqCst);
                        let _ = py.detach(move || rx.recv());
                        return Err(e);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(PyRuntimeError::new_err("the extraction thread failed"))
                }
            }
        }
    })
}

create_exception!(
    joyfuljay,
    CaptureError,
    PyValueError,
    "A capture file cannot be read: unsupported format or bad header. The message is the CLI's."
);

/// Errors are one line, as the CLI prints them after `jj: error: `.
fn one_line(s: &str) -> String {
    s.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

/// A library error as the matching Python exception: I/O errors as
/// `OSError` subclasses by kind (Python's own form, with `errno` and
/// `filename`), configuration errors as `ValueError`, anything wrong with a
/// capture as `CaptureError` (the CLI's one-line message).
fn to_py_err(py: Python<'_>, e: Error) -> PyErr {
    let msg = one_line(&e.to_string());
    match &e {
        Error::Io { path, source } => {
            // As Python's own: `[Errno 2] No such file or directory: 'x.pcap'`,
            // with `errno`, `strerror` and `filename` set.
            let filename = path.to_string_lossy().into_owned();
            let args = match source.raw_os_error() {
                Some(n) => {
                    let text = source.to_string();
                    let strerror = text
                        .strip_suffix(&format!(" (os error {n})"))
                        .unwrap_or(&text)
                        .to_string();
                    (n, strerror, filename)
                        .into_pyobject(py)
                        .map(|t| t.unbind())
                }
                None => (msg.clone(),).into_pyobject(py).map(|t| t.unbind()),
            };
            let args = match args {
                Ok(a) => a,
                Err(e) => return e,
            };
            match source.kind() {
                ErrorKind::NotFound => PyFileNotFoundError::new_err(args),
                ErrorKind::PermissionDenied => PyPermissionError::new_err(args),
                ErrorKind::IsADirectory => PyIsADirectoryError::new_err(args),
                _ => PyOSError::new_err(args),
            }
        }
        Error::Config(_) => PyValueError::new_err(msg),
        Error::Output { .. } => PyOSError::new_err(msg),
        Error::Interrupted => PyKeyboardInterrupt::new_err(msg),
        _ => CaptureError::new_err(msg),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------- values

/// A Python value as JSON, for [`Config::set`]; `key` names the option in
/// errors.
fn py_to_json(key: &str, v: &Bound<'_, PyAny>) -> PyResult<Json> {
    if v.is_none() {
        return Ok(Json::Null);
    }
    if v.is_instance_of::<PyBool>() {
        return Ok(Json::Bool(v.extract()?));
    }
    if v.is_instance_of::<PyString>() {
        return Ok(Json::String(v.extract()?));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for item in v.try_iter()? {
            out.push(py_to_json(key, &item?)?);
        }
        return Ok(Json::Array(out));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut out = serde_json::Map::new();
        for (k, item) in d.iter() {
            out.insert(k.str()?.to_string(), py_to_json(key, &item)?);
        }
        return Ok(Json::Object(out));
    }
    // Integers, including numpy's (through `__index__`).
    if v.is_instance_of::<PyInt>() || v.hasattr("__index__")? {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Json::from(i));
        }
        if let Ok(u) = v.extract::<u64>() {
            return Ok(Json::from(u));
        }
        return Err(PyValueError::new_err(format!(
            "{key}: integer out of range (got {})",
            v.str()?
        )));
    }
    if v.is_instance_of::<PyFloat>() || v.hasattr("__float__")? {
        let f: f64 = v.extract()?;
        return serde_json::Number::from_f64(f)
            .map(Json::Number)
            .ok_or_else(|| {
                PyValueError::new_err(format!("{key}: must be a finite number (got {f})"))
            });
    }
    Err(PyValueError::new_err(format!(
        "{key}: unsupported value type '{}'",
        v.get_type().name()?
    )))
}

/// JSON as Python objects.
fn json_to_py<'py>(py: Python<'py>, v: &Json) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Json::String(s) => PyString::new(py, s).into_any(),
        Json::Array(a) => {
            let items = a
                .iter()
                .map(|x| json_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Json::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// A configuration as a dict in declaration order ([`KEYS`]).
fn config_to_py<'py>(py: Python<'py>, cfg: &Config) -> PyResult<Bound<'py, PyDict>> {
    let v = serde_json::to_value(cfg).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let d = PyDict::new(py);
    for k in KEYS {
        d.set_item(*k, json_to_py(py, &v[*k])?)?;
    }
    Ok(d)
}

/// Defaults overridden by `options`, each through [`Config::set`], then
/// [`Config::validate`]d.
fn config_from_options(
    options: &Bound<'_, PyDict>,
    unknown_is_type_error: bool,
) -> PyResult<Config> {
    let mut cfg = Config::default();
    for (k, v) in options.iter() {
        let key: String = k
            .extract()
            .map_err(|_| PyTypeError::new_err("option names must be strings"))?;
        let value = py_to_json(&key, &v)?;
        if let Err(msg) = cfg.set(&key, value) {
            return Err(if !KEYS.contains(&key.as_str()) && unknown_is_type_error {
                PyTypeError::new_err(msg)
            } else {
                PyValueError::new_err(msg)
            });
        }
    }
    joyfuljay::features::validate(&cfg)
        .map_err(|e| PyValueError::new_err(one_line(&e.to_string())))?;
    Ok(cfg)
}

/// Build and validate a configuration from keyword options; returns it as a
/// dict of every key. Unknown keys raise `TypeError` (or `ValueError` when
/// `unknown_is_type_error` is false), bad values `ValueError`, with the
/// CLI's messages.
#[pyfunction]
#[pyo3(signature = (options, unknown_is_type_error = true))]
fn config_build<'py>(
    py: Python<'py>,
    options: &Bound<'py, PyDict>,
    unknown_is_type_error: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let cfg = config_from_options(options, unknown_is_type_error)?;
    config_to_py(py, &cfg)
}

/// Read a config file (JSON, TOML or YAML, by extension) as the CLI's `-c`
/// does; returns it as a dict of every key.
#[pyfunction]
fn config_from_file<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let cfg = joyfuljay::features::load_config(&path).map_err(|e| to_py_err(py, e))?;
    config_to_py(py, &cfg)
}

/// The configuration keys, in declaration order.
#[pyfunction]
fn config_keys() -> Vec<&'static str> {
    KEYS.to_vec()
}

/// The column registry as JSON-like data (`jj features --json`).
#[pyfunction]
fn features_json(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    json_to_py(py, &joyfuljay::schema::features_json())
}

/// Run the `jj` command line with `argv` (program name first); returns the
/// exit status. The same code as the `jj` binary.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<OsString>) -> i32 {
    py.detach(|| jj::main_with_args(argv))
}

/// Handle SIGINT/SIGTERM/SIGHUP as the `jj` binary does (the first stops
/// the run cleanly, exit status 130; a second leaves at once), in place of
/// Python's handlers: for the `jj` console script only.
#[pyfunction]
fn install_cli_signal_handler() {
    jj::install_interrupt_handler();
}

// ---------------------------------------------------------------- batches

/// One Arrow record batch, handed to pyarrow through the Arrow PyCapsule
/// interface (`pyarrow.record_batch(batch)`).
#[pyclass(frozen, module = "joyfuljay._joyfuljay", name = "RecordBatch")]
struct PyBatch {
    batch: RecordBatch,
}

fn arrow_err(e: arrow_schema::ArrowError) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

#[pymethods]
impl PyBatch {
    /// Number of rows.
    #[getter]
    fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// The batch's schema as an `arrow_schema` PyCapsule.
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let schema = FFI_ArrowSchema::try_from(self.batch.schema().as_ref()).map_err(arrow_err)?;
        PyCapsule::new_with_value(py, schema, c"arrow_schema")
    }

    /// The batch as (`arrow_schema`, `arrow_array`) PyCapsules of a struct
    /// array. `requested_schema` is ignored: the batch is offered as built.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyCapsule>, Bound<'py, PyCapsule>)> {
        let _ = requested_schema;
        let schema = self.__arrow_c_schema__(py)?;
        let data = StructArray::from(self.batch.clone()).into_data();
        let array = FFI_ArrowArray::new(&data);
        Ok((
            schema,
            PyCapsule::new_with_value(py, array, c"arrow_array")?,
        ))
    }

    fn __repr__(&self) -> String {
        format!(
            "<joyfuljay RecordBatch: {} rows, {} columns>",
            self.batch.num_rows(),
            self.batch.num_columns()
        )
    }
}

fn stats_to_py<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("files", s.files)?;
    d.set_item("bytes_read", s.bytes_read)?;
    d.set_item("packets", s.packets)?;
    d.set_item("decoded", s.decoded)?;
    let skipped = PyDict::new(py);
    for (r, n) in s.skipped_by_reason() {
        skipped.set_item(r.as_str(), n)?;
    }
    d.set_item("skipped", skipped)?;
    d.set_item("flows", s.flows)?;
    d.set_item("peak_active_flows", s.peak_active_flows)?;
    d.set_item("incomplete_files", s.incomplete_files)?;
    d.set_item("evicted_for_memory", s.evicted_for_memory)?;
    // Left out by a BPF filter, or by a live capture's pid/process.
    d.set_item("filtered", s.filtered)?;
    Ok(d)
}

/// Collects warnings (cut-short captures, corrupt records).
#[derive(Default)]
struct Collect {
    warnings: Vec<String>,
}

impl Observer for Collect {
    fn warning(&mut self, msg: &str) {
        self.warnings.push(msg.to_string());
    }
}

/// Open every input first, as the CLI does: a bad file fails the run before
/// any row.
fn open_all(paths: &[PathBuf]) -> Result<Vec<CaptureReader>, Error> {
    paths.iter().map(|p| CaptureReader::open(p)).collect()
}

/// The files into one sink (each its own flow space), on `num_workers`
/// threads (unset or 0: every core); the rows are the same as on one thread.
fn process_all(
    pipeline: &Pipeline,
    readers: Vec<CaptureReader>,
    sink: &mut dyn Sink,
    obs: &mut dyn Observer,
) -> Result<Stats, Error> {
    let threads = match pipeline.config().num_workers {
        Some(n) if n > 0 => n,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    pipeline.run_readers(readers, sink, obs, threads)
}

/// What the extraction thread of a [`BatchStream`] sends.
enum Msg {
    Batch(RecordBatch),
    Warning(String),
    Done(Stats),
    Failed(Error),
    /// A live capture failed (no such interface, interface down): an
    /// OSError with this one-line message.
    LiveFailed(String),
}

/// Batches go to the channel as soon as they are complete.
struct ChannelSink {
    arrow: ArrowSink,
    tx: SyncSender<Msg>,
}

impl ChannelSink {
    fn send_ready(&mut self) -> Result<(), Error> {
        for b in self.arrow.take_ready() {
            self.tx.send(Msg::Batch(b)).map_err(|_| Error::Output {
                target: "the Python iterator".to_string(),
                source: ErrorKind::BrokenPipe.into(),
            })?;
        }
        Ok(())
    }
}

impl Sink for ChannelSink {
    fn begin(&mut self, columns: &[&'static Column]) -> joyfuljay::Result<()> {
        self.arrow.begin(columns)
    }
    fn row(&mut self, values: &[Value]) -> joyfuljay::Result<()> {
        self.arrow.row(values)?;
        if self.arrow.has_ready() {
            self.send_ready()?;
        }
        Ok(())
    }
    fn finish(&mut self) -> joyfuljay::Result<()> {
        self.arrow.finish()?;
        self.send_ready()
    }
    fn flush(&mut self) -> joyfuljay::Result<()> {
        self.arrow.flush()?;
        self.send_ready()
    }
}

struct ChannelObserver {
    tx: SyncSender<Msg>,
}

impl Observer for ChannelObserver {
    fn warning(&mut self, msg: &str) {
        let _ = self.tx.send(Msg::Warning(msg.to_string()));
    }
}

#[derive(Default)]
struct StreamState {
    warnings: Vec<String>,
    stats: Option<Stats>,
}

/// Record batches of a running extraction, as they are completed. The
/// extraction runs in a thread of its own, at most two batches ahead of the
/// consumer; dropping the stream stops it.
#[pyclass(frozen, module = "joyfuljay._joyfuljay", name = "BatchStream")]
struct BatchStream {
    rx: Mutex<Option<Receiver<Msg>>>,
    state: Mutex<StreamState>,
    /// Set when the stream is dropped: the extraction stops within a few
    /// thousand packets instead of at its next batch.
    cancel: Arc<AtomicBool>,
}

impl Drop for BatchStream {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::SeqCst);
    }
}

#[pymethods]
impl BatchStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The next batch; waits with the GIL released, looking for signals
    /// every 100 ms (Ctrl-C raises KeyboardInterrupt here; the extraction
    /// stops when the stream is dropped).
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyBatch>> {
        loop {
            let msg = py.detach(|| {
                lock(&self.rx)
                    .as_ref()
                    .map(|rx| rx.recv_timeout(SIGNAL_POLL))
            });
            let msg = match msg {
                None | Some(Err(RecvTimeoutError::Disconnected)) => None,
                Some(Err(RecvTimeoutError::Timeout)) => {
                    py.check_signals()?;
                    continue;
                }
                Some(Ok(m)) => Some(m),
            };
            let mut state = lock(&self.state);
            match msg {
                Some(Msg::Batch(batch)) => return Ok(Some(PyBatch { batch })),
                Some(Msg::Warning(w)) => state.warnings.push(w),
                Some(Msg::Done(s)) => {
                    state.stats = Some(s);
                    *lock(&self.rx) = None;
                    return Ok(None);
                }
                Some(Msg::Failed(e)) => {
                    *lock(&self.rx) = None;
                    return Err(to_py_err(py, e));
                }
                Some(Msg::LiveFailed(e)) => {
                    *lock(&self.rx) = None;
                    return Err(pyo3::exceptions::PyOSError::new_err(e));
                }
                None => return Ok(None),
            }
        }
    }

    /// Warnings received so far (each returned once).
    fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut lock(&self.state).warnings)
    }

    /// Counters of the run, once it has ended.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        match &lock(&self.state).stats {
            Some(s) => Ok(Some(stats_to_py(py, s)?)),
            None => Ok(None),
        }
    }
}

// ---------------------------------------------------------------- pipeline

/// A validated configuration and its selected feature groups.
#[pyclass(frozen, module = "joyfuljay._joyfuljay", name = "Pipeline")]
struct PyPipeline {
    inner: Arc<Pipeline>,
}

#[pymethods]
impl PyPipeline {
    /// A pipeline for `config`, a dict of configuration keys.
    #[new]
    fn new(py: Python<'_>, config: &Bound<'_, PyDict>) -> PyResult<Self> {
        let cfg = config_from_options(config, false)?;
        let inner = Pipeline::new(cfg).map_err(|e| to_py_err(py, e))?;
        Ok(PyPipeline {
            inner: Arc::new(inner),
        })
    }

    /// The output column names, in order.
    fn columns(&self) -> Vec<&'static str> {
        self.inner.columns().iter().map(|c| c.name).collect()
    }

    /// Extract every flow of `paths` into record batches of `chunk_rows`
    /// rows; returns (batches, warnings, stats). The work runs on other
    /// threads with the GIL released, while this one looks for signals
    /// every 100 ms: Ctrl-C stops the extraction (within a few thousand
    /// packets) and raises KeyboardInterrupt.
    fn run<'py>(
        &self,
        py: Python<'py>,
        paths: Vec<PathBuf>,
        chunk_rows: usize,
    ) -> PyResult<(Vec<PyBatch>, Vec<String>, Bound<'py, PyDict>)> {
        let pipeline = &*self.inner;
        let result = run_interruptibly(py, |cancel| {
            let mut sink = ArrowSink::new(chunk_rows);
            let mut obs = Collect::default();
            let mut readers = open_all(&paths)?;
            for r in &mut readers {
                r.set_cancel(Arc::clone(&cancel));
            }
            let stats = process_all(pipeline, readers, &mut sink, &mut obs)?;
            Ok((sink.into_batches(), obs.warnings, stats))
        })?;
        let (batches, warnings, stats) = result.map_err(|e| to_py_err(py, e))?;
        let batches = batches.into_iter().map(|batch| PyBatch { batch }).collect();
        Ok((batches, warnings, stats_to_py(py, &stats)?))
    }

    /// Extract every flow of `paths` into a partitioned dataset in
    /// `directory` (new or empty), partitioned by the configuration's
    /// `partition_by`, in `format` (`parquet`, `csv`, `json`, `jsonl`);
    /// returns (part paths, warnings, stats). Runs as [`PyPipeline::run`]
    /// (GIL released, Ctrl-C stops it and leaves no part).
    fn write_dataset<'py>(
        &self,
        py: Python<'py>,
        paths: Vec<PathBuf>,
        directory: PathBuf,
        format: &str,
    ) -> PyResult<(Vec<PathBuf>, Vec<String>, Bound<'py, PyDict>)> {
        use joyfuljay::output::{Format, PartitionKey, PartitionedDir};
        let format = Format::from_name(format).ok_or_else(|| {
            PyValueError::new_err(format!(
                "output_format: a dataset is written as {} (got {format:?})",
                Format::NAMES.join(", ")
            ))
        })?;
        let pipeline = &*self.inner;
        let keys = PartitionKey::parse_list(&pipeline.config().partition_by)
            .map_err(|e| to_py_err(py, e))?;
        if keys.is_empty() {
            return Err(PyValueError::new_err(
                "partition_by: give the keys of the dataset's directories (date, hour, file)",
            ));
        }
        let result = run_interruptibly(py, |cancel| {
            let mut obs = Collect::default();
            let mut readers = open_all(&paths)?;
            for r in &mut readers {
                r.set_cancel(Arc::clone(&cancel));
            }
            let mut dataset = PartitionedDir::create(&directory, format, keys)?;
            let stats = process_all(pipeline, readers, &mut dataset, &mut obs)?;
            if cancel.load(Ordering::SeqCst) {
                return Err(Error::Interrupted);
            }
            let parts = dataset.commit()?;
            Ok((parts, obs.warnings, stats))
        })?;
        let (parts, warnings, stats) = result.map_err(|e| to_py_err(py, e))?;
        Ok((parts, warnings, stats_to_py(py, &stats)?))
    }

    /// Start extracting `paths` in a background thread; the returned stream
    /// yields record batches of `chunk_rows` rows as flows end. Missing or
    /// unreadable files fail here, before any batch.
    fn stream(
        &self,
        py: Python<'_>,
        paths: Vec<PathBuf>,
        chunk_rows: usize,
    ) -> PyResult<BatchStream> {
        let cancel = Arc::new(AtomicBool::new(false));
        let mut readers = py
            .detach(|| open_all(&paths))
            .map_err(|e| to_py_err(py, e))?;
        for r in &mut readers {
            r.set_cancel(Arc::clone(&cancel));
        }
        let (tx, rx) = sync_channel(2);
        let pipeline = Arc::clone(&self.inner);
        std::thread::Builder::new()
            .name("joyfuljay-extract".to_string())
            .spawn(move || {
                let mut sink = ChannelSink {
                    arrow: ArrowSink::new(chunk_rows),
                    tx: tx.clone(),
                };
                let mut obs = ChannelObserver { tx: tx.clone() };
                let msg = match process_all(&pipeline, readers, &mut sink, &mut obs) {
                    Ok(s) => Msg::Done(s),
                    Err(e) => Msg::Failed(e),
                };
                let _ = tx.send(msg);
            })
            .map_err(|e| {
                PyRuntimeError::new_err(format!("cannot start the extraction thread: {e}"))
            })?;
        Ok(BatchStream {
            rx: Mutex::new(Some(rx)),
            state: Mutex::new(StreamState::default()),
            cancel,
        })
    }

    /// Start capturing on `ifaces` (libpcap) in a background thread; the
    /// returned stream yields record batches as flows end (by idle or
    /// active timeout on the wall clock, or when the capture stops at
    /// `duration` seconds, `count` packets, or when the stream is dropped).
    /// The interfaces open (and `filter` compiles) here, before any batch:
    /// failures raise OSError with a one-line message.
    #[pyo3(signature = (ifaces, duration=None, count=None, filter=None, save_pcap=None, chunk_rows=65536, pid=None, process=None))]
    // The Python keyword arguments, one by one.
    #[allow(clippy::too_many_arguments)]
    fn live_stream(
        &self,
        py: Python<'_>,
        ifaces: Vec<String>,
        duration: Option<f64>,
        count: Option<u64>,
        filter: Option<String>,
        save_pcap: Option<PathBuf>,
        chunk_rows: usize,
        pid: Option<u32>,
        process: Option<String>,
    ) -> PyResult<BatchStream> {
        if let Some(d) = duration {
            if !(d > 0.0 && d.is_finite()) {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "duration: must be a positive number of seconds (got {d})"
                )));
            }
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let opts = jj::live::LiveOptions {
            ifaces,
            filter,
            duration: duration.map(Duration::from_secs_f64),
            count,
            save_pcap,
            stop: Arc::clone(&cancel),
            procs: (pid.is_some() || process.is_some()).then(|| jj::procsock::Target {
                pids: pid.into_iter().collect(),
                name: process,
            }),
        };
        if self.inner.two_pass() {
            return Err(to_py_err(
                py,
                self.inner
                    .live()
                    .err()
                    .expect("two-pass pipelines cannot run live"),
            ));
        }
        let cap = py
            .detach(|| jj::live::Capture::open(&opts, self.inner.config().idle_us()))
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(one_line(&format!("{e:#}"))))?;
        let (tx, rx) = sync_channel(2);
        let pipeline = Arc::clone(&self.inner);
        std::thread::Builder::new()
            .name("joyfuljay-live".to_string())
            .spawn(move || {
                let mut sink = ChannelSink {
                    arrow: ArrowSink::new(chunk_rows),
                    tx: tx.clone(),
                };
                let res = cap.run(&pipeline, &opts, &mut sink);
                let msg = match res {
                    Ok(summary) => match sink.finish() {
                        Err(e) => Msg::Failed(e),
                        Ok(()) => {
                            if summary.dropped + summary.if_dropped > 0 {
                                let _ = tx.send(Msg::Warning(format!(
                                    "the kernel dropped {} packets ({} more by the interface): the capture could not keep up",
                                    summary.dropped, summary.if_dropped
                                )));
                            }
                            match summary.error {
                                Some(e) => Msg::LiveFailed(format!(
                                    "{e} (the rows of the flows seen so far were delivered)"
                                )),
                                None => Msg::Done(summary.stats),
                            }
                        }
                    },
                    Err(e) => match e.downcast::<Error>() {
                        Ok(e) => Msg::Failed(e),
                        Err(e) => Msg::LiveFailed(one_line(&format!("{e:#}"))),
                    },
                };
                let _ = tx.send(msg);
            })
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the capture thread: {e}")))?;
        Ok(BatchStream {
            rx: Mutex::new(Some(rx)),
            state: Mutex::new(StreamState::default()),
            cancel,
        })
    }
}

/// Native part of the `joyfuljay` package; use `joyfuljay` itself.
#[pymodule]
fn _joyfuljay(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", joyfuljay::VERSION)?;
    m.add("CaptureError", m.py().get_type::<CaptureError>())?;
    m.add_class::<PyPipeline>()?;
    m.add_class::<PyBatch>()?;
    m.add_class::<BatchStream>()?;
    m.add_function(wrap_pyfunction!(config_build, m)?)?;
    m.add_function(wrap_pyfunction!(config_from_file, m)?)?;
    m.add_function(wrap_pyfunction!(config_keys, m)?)?;
    m.add_function(wrap_pyfunction!(features_json, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(install_cli_signal_handler, m)?)?;
    Ok(())
}
