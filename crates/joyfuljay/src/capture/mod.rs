//! Capture readers: pcap and pcapng in, [`Frame`]s out.
//!
//! Only this module names `pcap_parser` types. A regular, uncompressed
//! legacy pcap file is read through a reused window and its records parsed
//! in place (nothing memory-mapped: a file shortened while it is read ends
//! like a cut-short capture, never with SIGBUS). Anything else (standard
//! input, pipes, compressed captures, pcapng files) is streamed through a
//! reused buffer, in constant memory; bytes already in memory are parsed
//! in place. All give the same frames and the same end for every input:
//! in place, legacy pcap records are read in one loop, and pcapng blocks
//! through a window that follows the streaming buffer's (see `in_place`).
//!
//! This file is the public front: [`CaptureReader`], [`Frame`], [`ReadEnd`]
//! and the bounds. The rest is private:
//! - `format`: the capture format, recognised from the magic number;
//! - `stream`: decompression, and the stream the streaming readers read;
//! - `in_place`: windowed files and bytes in memory;
//! - `drive`: the loop that drives a pcap-parser reader to the end of the
//!   data, and what its errors mean;
//! - `legacy`, `pcapng`: what each format's records mean (link types,
//!   timestamps, interfaces) and the checks on their lengths.

mod chain;
mod drive;
mod format;
mod in_place;
mod legacy;
mod pcapng;
mod stream;

pub(crate) use chain::Note;
pub use format::{detect, CaptureFormat, Detected, MAGIC_LEN};

use crate::error::{Error, Result};
use drive::bad_header;
use format::format_of;
use in_place::Bytes;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Initial read buffer size.
const BUFFER_SIZE: usize = 1 << 20;
/// Largest record (pcap record or pcapng block) we accept; a larger one is
/// treated as a corrupt length field.
pub const MAX_RECORD_LEN: usize = 16 << 20;
/// Largest captured packet in a legacy pcap record (Wireshark uses the same bound).
pub const MAX_PCAP_CAPLEN: u32 = 262_144;
/// Timestamps are clamped to ±this many microseconds (about 146,000 years),
/// so the difference of any two never overflows an `i64` (a pcapng
/// `if_tsoffset` can push them to either end of the range).
pub const MAX_TS_US: i64 = (1 << 62) - 1;
/// Most pcapng interfaces described in one section; more is treated as a
/// corrupt file (each costs memory for the rest of the section).
pub const MAX_INTERFACES: usize = 65_536;

/// One captured packet, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Timestamp in microseconds since the Unix epoch (rounded from finer
    /// resolutions), within ±[`MAX_TS_US`].
    pub ts_us: i64,
    /// Link type (LINKTYPE_* number) of the interface that captured it.
    pub link_type: u32,
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// Captured bytes (possibly fewer than `orig_len`).
    pub data: &'a [u8],
    /// File offset of the record holding this packet.
    pub offset: u64,
}

/// A frame filter ([`CaptureReader::set_filter`]): `(link_type, captured
/// bytes, length on the wire)` → keep the frame.
pub type FrameFilter = Arc<dyn Fn(u32, &[u8], u32) -> bool + Send + Sync>;

/// How reading a capture ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// The whole file was read.
    Complete,
    /// The file ends in the middle of a record; everything before `offset` was read.
    Truncated {
        /// File offset of the incomplete record.
        offset: u64,
    },
    /// The caller stopped reading early.
    Stopped,
    /// A record with an impossible length or layout; reading stopped there.
    Corrupt {
        /// File offset of the bad record.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
}

impl ReadEnd {
    /// A one-line warning for an incomplete read, `None` when complete.
    pub fn warning(&self, path: &Path) -> Option<String> {
        match self {
            ReadEnd::Complete | ReadEnd::Stopped => None,
            ReadEnd::Truncated { offset } => Some(format!(
                "{}: capture is cut short at byte offset {offset} (incomplete record); kept every complete packet before it",
                path.display()
            )),
            ReadEnd::Corrupt { offset, detail } => Some(format!(
                "{}: corrupt record at byte offset {offset} ({detail}); stopped reading this file there",
                path.display()
            )),
        }
    }
}

/// Where records come from, by format.
enum Inner {
    /// Legacy pcap.
    Legacy(legacy::Records),
    /// pcapng.
    Ng(pcapng::Records),
    /// Several captures as one stream ([`CaptureReader::chain`]).
    Chain(Box<chain::Chain>),
}

/// A spooled input ([`CaptureReader::spool`]): a temporary file, removed
/// on drop.
#[derive(Debug)]
pub struct Spooled(Option<tempfile::TempPath>);

impl std::ops::Deref for Spooled {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.as_deref().expect("spooled file")
    }
}

impl AsRef<Path> for Spooled {
    fn as_ref(&self) -> &Path {
        self
    }
}

impl Spooled {
    /// A reader of the spooled copy whose messages (errors, warnings,
    /// the reader's [`CaptureReader::path`], and those of readers
    /// [`CaptureReader::reopener`] gives) name `shown` — the input the
    /// copy was made from, such as `<stdin>` — rather than the temporary
    /// file.
    pub fn open_as(&self, shown: &Path) -> Result<CaptureReader> {
        let tmp: &Path = self;
        let mut r = CaptureReader::open(tmp).map_err(|e| e.renamed(tmp, shown))?;
        r.path = shown.to_path_buf();
        Ok(r)
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            crate::output::untrack_temp_file(&p);
            drop(p);
        }
    }
}

/// A capture file to open again ([`CaptureReader::reopener`]).
#[derive(Clone)]
pub struct Reopen {
    /// The file, or the files of a chain.
    paths: Vec<PathBuf>,
    chain: bool,
    /// The name messages give a single file (see [`Spooled::open_as`]).
    shown: PathBuf,
    cancel: Option<Arc<AtomicBool>>,
    filter: Option<FrameFilter>,
}

impl std::fmt::Debug for Reopen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reopen")
            .field("paths", &self.paths)
            .field("cancel", &self.cancel)
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

impl Reopen {
    /// A new reader of the file (or chain), from its start.
    pub fn open(self) -> Result<CaptureReader> {
        let mut r = if self.chain {
            CaptureReader::chain(
                self.paths
                    .iter()
                    .map(|p| CaptureReader::open(p))
                    .collect::<Result<Vec<_>>>()?,
            )
        } else {
            let mut r = CaptureReader::open(&self.paths[0])
                .map_err(|e| e.renamed(&self.paths[0], &self.shown))?;
            r.path = self.shown;
            r
        };
        r.cancel = self.cancel;
        r.filter = self.filter;
        Ok(r)
    }
}

/// A reader over one capture file.
pub struct CaptureReader {
    path: PathBuf,
    format: CaptureFormat,
    inner: Inner,
    /// Absolute file offset of the next record.
    offset: u64,
    link_types_seen: Vec<u32>,
    /// Set by someone else to stop the run that reads this capture (see
    /// [`CaptureReader::set_cancel`]).
    cancel: Option<Arc<AtomicBool>>,
    /// Frames it keeps (see [`CaptureReader::set_filter`]).
    filter: Option<FrameFilter>,
    /// The file this reader was opened from by [`CaptureReader::open`]
    /// (not standard input, not bytes or a stream): it can be read again.
    source: Option<PathBuf>,
    /// Warnings of a chain's parts, for the end of the run.
    notes: Vec<Note>,
}

impl CaptureReader {
    /// Open a capture file (`-`: standard input), detecting its format from
    /// the magic number. Gzip- and zstd-compressed captures are decompressed
    /// on the fly. A regular, uncompressed legacy pcap file is read through
    /// a window and its records parsed in place; anything else is streamed,
    /// with the same result. Nothing is memory-mapped, so a file shortened
    /// while it is read ends like a cut-short capture.
    pub fn open(path: &Path) -> Result<CaptureReader> {
        Self::open_windowed(path, in_place::WINDOW)
    }

    /// [`CaptureReader::open`] with a window of `window` bytes for legacy
    /// pcap files: for tests of records across window boundaries.
    #[doc(hidden)]
    pub fn open_windowed(path: &Path, window: usize) -> Result<CaptureReader> {
        if path.as_os_str() == "-" {
            return Self::from_reader(Path::new("<stdin>"), Box::new(std::io::stdin()));
        }
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        let mut r = match regular_file_head(&file) {
            Some(head)
                if !stream::compressed(&head)
                    && matches!(format_of(path, &head), Ok(CaptureFormat::Pcap { .. })) =>
            {
                Self::in_place(
                    path,
                    Bytes::File(in_place::Window::new(file, window)),
                    &head,
                )?
            }
            _ => Self::from_reader(path, Box::new(file))?,
        };
        if regular {
            r.source = Some(path.to_path_buf());
        }
        Ok(r)
    }

    /// How to open the same regular file again from its start (with the
    /// same cancel flag), for a second pass over the input; `None` when
    /// this reader reads standard input, a pipe, bytes or a stream.
    pub fn reopener(&self) -> Option<Reopen> {
        let (paths, chain) = match &self.inner {
            Inner::Chain(c) => (c.sources.clone()?, true),
            _ => (vec![self.source.clone()?], false),
        };
        Some(Reopen {
            paths,
            chain,
            shown: self.path.clone(),
            cancel: self.cancel.clone(),
            filter: self.filter.clone(),
        })
    }

    /// Read `parts` one after the other as one stream (the parts of a
    /// rotated capture; `continue_across_files`): flows go on from one part
    /// to the next. The chain is named after its first part and takes its
    /// cancel flag; a damaged part keeps its complete packets and reading
    /// goes on with the next one (a warning at the end of the run); offsets
    /// count the bytes of the parts before. One part is returned as it is.
    pub fn chain(mut parts: Vec<CaptureReader>) -> CaptureReader {
        if parts.len() == 1 {
            return parts.pop().expect("one part");
        }
        let first = parts.first();
        let path = first.map_or_else(PathBuf::new, |p| p.path.clone());
        let format = first.map_or(CaptureFormat::PcapNg, |p| p.format);
        let cancel = first.and_then(|p| p.cancel.clone());
        let filter = first.and_then(|p| p.filter.clone());
        let mut r = Self::with(
            &path,
            format,
            Inner::Chain(Box::new(chain::Chain::new(parts))),
        );
        r.cancel = cancel;
        r.filter = filter;
        r
    }

    /// How many capture files this reader reads (more than one for a
    /// [`CaptureReader::chain`]).
    pub fn file_count(&self) -> usize {
        match &self.inner {
            Inner::Chain(c) => c.count,
            _ => 1,
        }
    }

    /// The warnings of a chain's parts noted so far (each returned once).
    pub(crate) fn take_notes(&mut self) -> Vec<Note> {
        std::mem::take(&mut self.notes)
    }

    /// Copy `path` (`-`: standard input; or a pipe, a device) to a new
    /// temporary file, removed when the returned handle is dropped (or by
    /// [`crate::output::remove_temp_files`] for a process leaving at once),
    /// so that it can be read twice; compressed bytes are copied as they
    /// are. Setting `cancel` stops the copy ([`Error::Interrupted`]).
    pub fn spool(path: &Path, cancel: Option<&AtomicBool>) -> Result<Spooled> {
        let f = tempfile::Builder::new()
            .prefix("jj-spool-")
            .tempfile()
            .map_err(|e| Error::io(Path::new("<temporary file>"), e))?;
        let (mut file, tmp) = f.into_parts();
        crate::output::track_temp_file(&tmp);
        let spooled = Spooled(Some(tmp));
        let mut input: Box<dyn Read> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?)
        };
        let mut buf = vec![0u8; 1 << 16];
        loop {
            if cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst)) {
                return Err(Error::Interrupted);
            }
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(path, e)),
            };
            std::io::Write::write_all(&mut file, &buf[..n]).map_err(|e| Error::io(&spooled, e))?;
        }
        Ok(spooled)
    }

    /// Read a capture held in memory, in place: frames borrow from `bytes`,
    /// nothing is copied. Frames, [`ReadEnd`] and offsets are those
    /// [`CaptureReader::from_reader`] gives for the same bytes. Compressed
    /// bytes are decompressed as a stream. `path` names it in messages.
    pub fn from_bytes(
        path: &Path,
        bytes: impl AsRef<[u8]> + Send + 'static,
    ) -> Result<CaptureReader> {
        if stream::compressed(bytes.as_ref()) {
            return Self::from_reader(path, Box::new(Cursor::new(bytes)));
        }
        let b = bytes.as_ref();
        let head = b[..b.len().min(MAGIC_LEN)].to_vec();
        Self::in_place(path, Bytes::Memory(Box::new(bytes)), &head)
    }

    /// Read `bytes` in place; `head` holds its first bytes (up to
    /// [`MAGIC_LEN`]).
    fn in_place(path: &Path, bytes: Bytes, head: &[u8]) -> Result<CaptureReader> {
        let format = format_of(path, head)?;
        let inner = match (format, bytes) {
            (
                CaptureFormat::Pcap {
                    nanosecond,
                    big_endian,
                },
                bytes,
            ) => legacy::Records::in_place(bytes, nanosecond, big_endian).map(Inner::Legacy),
            (CaptureFormat::PcapNg, Bytes::Memory(b)) => {
                pcapng::Records::in_place(b).map(Inner::Ng)
            }
            (CaptureFormat::PcapNg, Bytes::File(w)) => {
                return Self::from_reader(path, Box::new(w.into_file()))
            }
        }
        .map_err(|e| bad_header(path, e))?;
        Ok(Self::with(path, format, inner))
    }

    /// Read a capture from any byte stream; `path` names it in messages.
    pub fn from_reader(path: &Path, reader: Box<dyn Read + Send>) -> Result<CaptureReader> {
        let (format, stream) = stream::open(path, reader)?;
        let inner = match format {
            CaptureFormat::Pcap {
                nanosecond,
                big_endian,
            } => legacy::Records::streamed(stream, nanosecond, big_endian).map(Inner::Legacy),
            CaptureFormat::PcapNg => pcapng::Records::streamed(stream).map(Inner::Ng),
        }
        .map_err(|e| bad_header(path, e))?;
        Ok(Self::with(path, format, inner))
    }

    fn with(path: &Path, format: CaptureFormat, inner: Inner) -> CaptureReader {
        CaptureReader {
            path: path.to_path_buf(),
            format,
            inner,
            offset: 0,
            link_types_seen: Vec::new(),
            cancel: None,
            filter: None,
            source: None,
            notes: Vec::new(),
        }
    }

    /// Stop the run reading this capture once `flag` is set (Ctrl-C in the
    /// CLI, KeyboardInterrupt in Python): the pipeline checks it every few
    /// thousand packets and fails with [`Error::Interrupted`].
    pub fn set_cancel(&mut self, flag: Arc<AtomicBool>) {
        self.cancel = Some(flag);
    }

    /// Keep only the frames `filter` accepts (a BPF filter, `jj extract
    /// --filter`): the others are not read at all, as if the capture did
    /// not hold them (no packet index, not counted as read; counted in
    /// [`crate::Stats::filtered`]).
    pub fn set_filter(&mut self, filter: FrameFilter) {
        self.filter = Some(filter);
    }

    /// The filter given to [`CaptureReader::set_filter`], if any.
    pub(crate) fn filter(&self) -> Option<FrameFilter> {
        self.filter.clone()
    }

    /// The flag given to [`CaptureReader::set_cancel`], if any.
    pub(crate) fn cancel_flag(&self) -> Option<Arc<AtomicBool>> {
        self.cancel.clone()
    }

    /// The detected container format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Whether records are parsed in place (a memory-mapped file, or bytes
    /// given to [`CaptureReader::from_bytes`]) rather than streamed through a
    /// buffer.
    pub fn reads_in_place(&self) -> bool {
        match &self.inner {
            Inner::Legacy(r) => r.reads_in_place(),
            Inner::Ng(r) => r.reads_in_place(),
            Inner::Chain(_) => false,
        }
    }

    /// The file this reader reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of the file consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Link types declared so far (pcap header, pcapng interfaces), in order of first appearance.
    pub fn link_types(&self) -> &[u32] {
        &self.link_types_seen
    }

    /// Call `on_frame` for every packet, in file order, until the end of the
    /// file, a truncated/corrupt record, or `on_frame` returning `false`.
    /// Packets in pcapng that refer to an undescribed interface are passed to
    /// `on_unknown_interface`.
    pub fn for_each(
        &mut self,
        mut on_frame: impl FnMut(&Frame<'_>) -> bool,
        mut on_unknown_interface: impl FnMut(),
    ) -> Result<ReadEnd> {
        let CaptureReader {
            path,
            inner,
            offset,
            link_types_seen,
            notes,
            ..
        } = self;
        match inner {
            Inner::Legacy(r) => r.for_each(path, offset, link_types_seen, on_frame),
            Inner::Ng(r) => r.for_each(
                path,
                offset,
                link_types_seen,
                on_frame,
                on_unknown_interface,
            ),
            Inner::Chain(c) => c.for_each(
                offset,
                link_types_seen,
                notes,
                &mut on_frame,
                &mut on_unknown_interface,
            ),
        }
    }
}

/// The first bytes (up to [`MAGIC_LEN`]) of `file` if it is a non-empty
/// regular file, read without moving its position; `None` otherwise (a
/// pipe, a character device, a `/proc` file that reports size 0), and the
/// caller streams it.
fn regular_file_head(file: &std::fs::File) -> Option<Vec<u8>> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let mut head = vec![0; MAGIC_LEN];
        let mut n = 0;
        while n < head.len() {
            match file.read_at(&mut head[n..], n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        head.truncate(n);
        Some(head)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Add the link type `lt` to `seen`, the link types in order of first
/// appearance, unless it is there already.
fn note_link(seen: &mut Vec<u32>, lt: u32) {
    if !seen.contains(&lt) {
        seen.push(lt);
    }
}
