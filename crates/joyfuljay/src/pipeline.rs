//! Capture → decode → flow table → feature groups → sink.

use crate::capture::{CaptureReader, ReadEnd};
use crate::config::Config;
use crate::decode::{decode, Decoded};
use crate::error::{Error, Result, SkipReason};
use crate::features::{
    self, Cells, Column, EndedSource, FlowView, Group, GroupStates, Needs, RowWriter, Value,
};
use crate::flow::{with_lookahead, Flow, FlowTable, TableConfig};
use crate::output::Sink;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Counters of a run (one file or several).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Capture files read.
    pub files: u64,
    /// Bytes of capture files read.
    pub bytes_read: u64,
    /// Packets read.
    pub packets: u64,
    /// Packets decoded and assigned to a flow.
    pub decoded: u64,
    /// Skipped packets, indexed by [`SkipReason`] as `usize`.
    pub skipped: [u64; SkipReason::ALL.len()],
    /// Flows written.
    pub flows: u64,
    /// Most flows held at once (largest over the files; with several
    /// threads on one file, still the most held at any one moment).
    pub peak_active_flows: u64,
    /// Files that were cut short or corrupt (warnings were issued).
    pub incomplete_files: u64,
    /// Flows ended early (evicted) to stay within the memory budget.
    pub evicted_for_memory: u64,
    /// Warnings of a chain's parts (`continue_across_files`), given out
    /// when the chain is done.
    pub(crate) notes: Vec<crate::capture::Note>,
    /// Frames left out by a filter ([`CaptureReader::set_filter`]); not
    /// counted in `packets`.
    pub filtered: u64,
}

impl Stats {
    /// Total skipped packets.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().sum()
    }

    /// Skipped counts by reason, non-zero only.
    pub fn skipped_by_reason(&self) -> Vec<(SkipReason, u64)> {
        SkipReason::ALL
            .iter()
            .map(|r| (*r, self.skipped[*r as usize]))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Close the counters of one file: record the bytes read and the peak
    /// table size, send the final progress report and the warning of a
    /// damaged file.
    pub(crate) fn finish_file(
        &mut self,
        path: &Path,
        end: &crate::capture::ReadEnd,
        offset: u64,
        peak: u64,
        obs: &mut dyn Observer,
    ) {
        self.bytes_read = offset;
        self.peak_active_flows = peak;
        self.report(path, offset, obs);
        for n in std::mem::take(&mut self.notes) {
            self.incomplete_files += u64::from(n.damaged);
            obs.warning(&n.text);
        }
        if let Some(w) = end.warning(path) {
            self.incomplete_files += 1;
            obs.warning(&w);
        }
    }

    /// Send a progress report of `path`, read up to `offset`.
    pub(crate) fn report(&self, path: &Path, offset: u64, obs: &mut dyn Observer) {
        obs.progress(&Progress {
            path,
            offset,
            packets: self.packets,
            flows: self.flows,
        });
    }

    /// Add another run's counters.
    pub fn merge(&mut self, o: &Stats) {
        self.files += o.files;
        self.bytes_read += o.bytes_read;
        self.packets += o.packets;
        self.decoded += o.decoded;
        for (a, b) in self.skipped.iter_mut().zip(o.skipped) {
            *a += b;
        }
        self.flows += o.flows;
        self.peak_active_flows = self.peak_active_flows.max(o.peak_active_flows);
        self.incomplete_files += o.incomplete_files;
        self.evicted_for_memory += o.evicted_for_memory;
        self.filtered += o.filtered;
    }
}

/// Progress of the current file, for progress bars.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The file being read.
    pub path: &'a Path,
    /// Bytes of it read so far.
    pub offset: u64,
    /// Packets read so far in this file.
    pub packets: u64,
    /// Flows written so far in this file.
    pub flows: u64,
}

/// Receives progress reports and warnings during a run.
pub trait Observer {
    /// Called every few tens of thousands of packets, and at the end of each file.
    fn progress(&mut self, _p: &Progress<'_>) {}
    /// A non-fatal problem (cut-short capture, corrupt record, …).
    fn warning(&mut self, _msg: &str) {}
    /// Pass `n` of `of` over the input starts (called only for runs that
    /// read the input twice: a whole-input group such as `connection` is
    /// selected). Progress reports then start again from the first file.
    fn pass(&mut self, _n: u32, _of: u32) {}
}

/// Forwards progress to another observer and drops warnings: the first
/// pass of a two-pass run (the second pass reads the same bytes and warns
/// about the same problems).
struct FirstPass<'a>(&'a mut dyn Observer);

impl Observer for FirstPass<'_> {
    fn progress(&mut self, p: &Progress<'_>) {
        self.0.progress(p);
    }
}

/// Discards rows (the first pass of a two-pass run writes none).
struct NoRows;

impl Sink for NoRows {
    fn begin(&mut self, _columns: &[&'static Column]) -> Result<()> {
        Ok(())
    }
    fn row(&mut self, _values: &[Value]) -> Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The only group of a first pass: shows every ended flow to the
/// whole-input groups of the run.
struct Collector {
    targets: Vec<Arc<dyn Group>>,
}

impl features::FeatureGroup for Collector {
    type State = ();
    fn new_state(&self) {}
    fn update(&self, _state: &mut (), _pkt: &crate::packet::PacketView<'_>) {}
    fn write(&self, flow: &FlowView<'_>, _state: &(), _out: &mut RowWriter<'_>) {
        for t in &self.targets {
            if let Some(w) = t.whole_input() {
                w.observe(flow.flow);
            }
        }
    }
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// Decoded packets accounted together (see `with_lookahead`).
const BATCH: usize = 256;

/// Packets between two progress reports.
pub(crate) const PROGRESS_EVERY: u64 = 1 << 16;

/// Packets between two looks at the reader's cancel flag
/// ([`CaptureReader::set_cancel`]): a few milliseconds of work.
const CANCEL_EVERY: u64 = 1 << 12;

/// Read every frame of `reader`: count it, decode it, count the skipped
/// ones by reason, and hand each decoded packet to `each` with its index in
/// the input (skipped packets take an index too) and its captured bytes.
/// Every [`PROGRESS_EVERY`] packets, `tick` gets the counters and the file
/// offset. `each` or `tick` returning `false` stops reading. This is the one
/// frame loop: single-thread, split and sharded runs all read through it,
/// so their counters mean the same.
pub(crate) fn read_frames(
    reader: &mut CaptureReader,
    st: &mut Stats,
    sample: Option<u64>,
    mut each: impl FnMut(&mut Stats, u64, i64, Decoded, &[u8]) -> bool,
    mut tick: impl FnMut(&Stats, u64) -> bool,
) -> Result<ReadEnd> {
    let mut index = 0u64;
    let mut unknown_if = 0u64;
    let mut since = 0u64;
    let cancel = reader.cancel_flag();
    let filter = reader.filter();
    let mut interrupted = false;
    let end = reader.for_each(
        |frame| {
            if index.is_multiple_of(CANCEL_EVERY)
                && cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
            {
                interrupted = true;
                return false;
            }
            if let Some(f) = &filter {
                if !f(frame.link_type, frame.data, frame.orig_len) {
                    st.filtered += 1;
                    if st.filtered.is_multiple_of(CANCEL_EVERY)
                        && cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
                    {
                        interrupted = true;
                        return false;
                    }
                    return true;
                }
            }
            st.packets += 1;
            let i = index;
            index += 1;
            if let Some(t) = sample {
                if !sampled_in(i, t) {
                    st.skipped[SkipReason::SampledOut as usize] += 1;
                    since += 1;
                    if since == PROGRESS_EVERY {
                        since = 0;
                        return tick(st, frame.offset);
                    }
                    return true;
                }
            }
            let go = match decode(frame.link_type, frame.data, frame.orig_len) {
                Ok(d) => {
                    st.decoded += 1;
                    each(st, i, frame.ts_us, d, frame.data)
                }
                Err(reason) => {
                    st.skipped[reason as usize] += 1;
                    true
                }
            };
            since += 1;
            if since == PROGRESS_EVERY {
                since = 0;
                return go && tick(st, frame.offset);
            }
            go
        },
        || unknown_if += 1,
    );
    st.skipped[SkipReason::UnknownInterface as usize] += unknown_if;
    // A chain: its parts are files of the run, and their warnings come at
    // its end.
    st.files += reader.file_count() as u64 - 1;
    st.notes.extend(reader.take_notes());
    if interrupted {
        return Err(Error::Interrupted);
    }
    end
}

/// The seed of packet sampling (`"JJSAMPLE"` in ASCII).
pub const SAMPLING_SEED: u64 = 0x4a4a_5341_4d50_4c45;

/// The threshold of [`sampled_in`] for a sampling rate: ⌊rate · 2⁶⁴⌋, or
/// `None` (keep every packet) for no rate or a rate of 1.
pub fn sampling_threshold(rate: Option<f64>) -> Option<u64> {
    match rate {
        Some(r) if r < 1.0 => Some((r * 18_446_744_073_709_551_616.0) as u64),
        _ => None,
    }
}

/// Whether packet `index` (its position in the input, from 0, counting
/// every record) is kept by sampling with `threshold`
/// ([`sampling_threshold`]): the SplitMix64 finalizer of
/// `index XOR SAMPLING_SEED` is below the threshold
/// (docs/semantics.md#sampling).
#[inline]
pub fn sampled_in(index: u64, threshold: u64) -> bool {
    crate::rng::mix(index ^ SAMPLING_SEED) < threshold
}

/// One decoded packet waiting in a [`PacketBatch`].
#[derive(Clone, Copy)]
pub(crate) struct Pending {
    /// Index in the input.
    pub index: u64,
    /// Timestamp (µs).
    pub ts_us: i64,
    /// The decoded summary.
    pub d: Decoded,
    /// Ports to key on (a later fragment's are its datagram's).
    pub ports: (u16, u16),
    /// Where its kept bytes lie in the batch's buffer.
    at: u32,
    len: u32,
}

/// Decoded packets waiting to be accounted together, with the bytes of
/// their frames that the run's groups read (none when they read only the
/// decoded summary), so that a batch can cross threads.
#[derive(Default)]
pub(crate) struct PacketBatch {
    pub items: Vec<Pending>,
    bytes: Vec<u8>,
}

impl PacketBatch {
    pub(crate) fn with_capacity(n: usize) -> PacketBatch {
        PacketBatch {
            items: Vec::with_capacity(n),
            bytes: Vec::new(),
        }
    }

    /// Add a packet, keeping `keep` bytes of its frame.
    #[inline]
    pub(crate) fn push(
        &mut self,
        index: u64,
        ts_us: i64,
        d: Decoded,
        ports: (u16, u16),
        frame: &[u8],
        keep: usize,
    ) {
        let kept = &frame[..keep.min(frame.len())];
        let at = self.bytes.len() as u32;
        self.bytes.extend_from_slice(kept);
        self.items.push(Pending {
            index,
            ts_us,
            d,
            ports,
            at,
            len: kept.len() as u32,
        });
    }

    /// The kept bytes of a packet of this batch.
    #[inline]
    pub(crate) fn frame(&self, p: &Pending) -> &[u8] {
        &self.bytes[p.at as usize..(p.at + p.len) as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.bytes.clear();
    }
}

/// One selected group of a run, in output order.
struct Slot {
    group: Arc<dyn Group>,
    /// Which of its columns the configuration keeps.
    mask: Vec<bool>,
    /// Its arena among the table's group states (stateful groups).
    arena: Option<usize>,
}

/// A configured extraction: build once, run on any number of captures.
pub struct Pipeline {
    config: Config,
    /// The memory budget in bytes (`max_memory`, or the default share).
    memory_budget: u64,
    columns: Vec<&'static Column>,
    slots: Vec<Slot>,
    needs: Needs,
    /// Held through both passes of a two-pass run: the whole-input groups
    /// keep one run's counts, so such runs of one pipeline take turns.
    passes: std::sync::Mutex<()>,
}

impl Pipeline {
    /// Validate `config` and prepare the selected feature groups.
    pub fn new(config: Config) -> Result<Pipeline> {
        let defs = features::select(&config)?;
        config.validate()?;
        let mut columns = Vec::new();
        let mut slots = Vec::new();
        let mut needs = Needs::SUMMARY;
        let mut arenas = 0;
        for def in defs {
            let group = (def.build)(&config);
            needs = needs.union(group.needs());
            let mask: Vec<bool> = def
                .columns
                .iter()
                .map(|c| features::keeps(&config, c))
                .collect();
            columns.extend(
                def.columns
                    .iter()
                    .zip(&mask)
                    .filter(|(_, m)| **m)
                    .map(|(c, _)| c),
            );
            let arena = Arc::clone(&group).arena().map(|_| {
                arenas += 1;
                arenas - 1
            });
            slots.push(Slot { group, mask, arena });
        }
        let memory_budget = config
            .max_memory
            .unwrap_or_else(crate::memory::default_budget);
        Ok(Pipeline {
            config,
            memory_budget,
            columns,
            slots,
            needs,
            passes: std::sync::Mutex::new(()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The memory budget in bytes: `max_memory`, or by default half the
    /// memory available when the pipeline was built.
    pub fn memory_budget(&self) -> u64 {
        self.memory_budget
    }

    /// The sampling threshold of this run (see [`sampled_in`]).
    pub(crate) fn sample(&self) -> Option<u64> {
        sampling_threshold(self.config.sampling_rate)
    }

    /// Bytes one live flow is reckoned to cost (table and group states),
    /// and how many flows each of `tables` concurrent flow tables may hold
    /// within the memory budget.
    pub fn flow_cost_and_cap(&self, tables: usize) -> (usize, usize) {
        let per_flow = crate::memory::table_bytes_per_flow(self.config.evict_oldest())
            + self.states().bytes_per_flow();
        (
            per_flow,
            crate::memory::flow_cap(self.memory_budget, per_flow, tables),
        )
    }

    /// Each of `tables` concurrent flow tables' share of the memory budget
    /// in bytes (after the reserve).
    pub fn table_share(&self, tables: usize) -> usize {
        crate::memory::table_share(self.memory_budget, tables)
    }

    /// The output columns, in order.
    pub fn columns(&self) -> &[&'static Column] {
        &self.columns
    }

    /// What the selected groups read beyond the decoded summary.
    pub fn needs(&self) -> Needs {
        self.needs
    }

    /// How many bytes of a decoded packet's frame the groups read (0:
    /// none): up to the payload with header needs, plus the payload bytes
    /// they read (all of it for stream reassembly).
    #[inline]
    pub(crate) fn keep_bytes(&self, d: &Decoded) -> usize {
        let n = &self.needs;
        if !n.frame_bytes() {
            0
        } else if n.stream_start > 0 {
            usize::MAX
        } else {
            (d.payload_off as usize).saturating_add(n.payload_bytes as usize)
        }
    }

    fn states(&self) -> GroupStates {
        let mut arenas = Vec::new();
        let mut readers = Vec::new();
        for s in &self.slots {
            if let Some(a) = Arc::clone(&s.group).arena() {
                if s.group.needs().stream_start > 0 {
                    readers.push(arenas.len());
                }
                arenas.push(a);
            }
        }
        GroupStates::with_readers(arenas, self.needs.stream_start, Some(readers))
    }

    /// A flow table for this run, one of `tables` running at once (they
    /// share the memory budget evenly).
    pub(crate) fn table(&self, tables: usize) -> FlowTable<GroupStates> {
        FlowTable::new(
            TableConfig {
                idle_us: self.config.idle_us(),
                active_us: self.config.active_us(),
                tcp_close: self.config.terminate_on_fin_rst,
                max_flows: usize::try_from(self.config.max_concurrent_flows).unwrap_or(usize::MAX),
                evict_oldest: self.config.evict_oldest(),
                memory_flows: self.flow_cost_and_cap(tables).1,
                memory_bytes: self.table_share(tables),
                per_flow_bytes: self.flow_cost_and_cap(tables).0,
            },
            self.states(),
        )
    }

    /// The cells of ended flow `i` (`flow`, whose group states are ended
    /// states `i` of `states`), in column order, into `out`.
    pub(crate) fn cells_of(
        &self,
        flow: &Flow,
        states: &dyn EndedSource,
        i: usize,
        out: &mut dyn Cells,
    ) {
        let view = FlowView { flow };
        for s in &self.slots {
            let mut w = RowWriter::into_cells(out, &s.mask);
            match s.arena {
                Some(a) => states.write(a, i, &view, &mut w),
                None => s.group.write_stateless(&view, &mut w),
            }
            debug_assert_eq!(
                w.written(),
                s.mask.len(),
                "a group wrote a wrong number of values"
            );
        }
    }

    /// The row of ended flow `i` as [`Value`]s, in `row` (cleared first).
    pub(crate) fn row_of(
        &self,
        flow: &Flow,
        states: &dyn EndedSource,
        i: usize,
        row: &mut Vec<Value>,
    ) {
        row.clear();
        self.cells_of(flow, states, i, row);
    }

    /// Write ended flow `i`'s row to `sink`: cell by cell when the sink
    /// formats text itself, else through `row`.
    pub(crate) fn emit(
        &self,
        flow: &Flow,
        states: &dyn EndedSource,
        i: usize,
        row: &mut Vec<Value>,
        sink: &mut dyn Sink,
    ) -> Result<()> {
        if let Some(direct) = sink.direct() {
            self.cells_of(flow, states, i, direct.start_row());
            direct.end_row()
        } else {
            self.row_of(flow, states, i, row);
            sink.row(row)
        }
    }

    /// Write the rows of the flows that ended in `table` to `sink`, and
    /// forget them.
    pub(crate) fn write_finished(
        &self,
        table: &mut FlowTable<GroupStates>,
        row: &mut Vec<Value>,
        sink: &mut dyn Sink,
        st: &mut Stats,
    ) -> Result<()> {
        for (i, flow) in table.finished().iter().enumerate() {
            self.emit(flow, table.states(), i, row, sink)?;
            st.flows += 1;
            st.evicted_for_memory += u64::from(flow.evicted_for_memory());
        }
        table.clear_finished();
        Ok(())
    }

    /// [`Pipeline::write_finished`] for the flows of a
    /// [`FlowTable::flush_ordered`], in its `order`.
    pub(crate) fn write_ordered(
        &self,
        table: &mut FlowTable<GroupStates>,
        order: &[usize],
        row: &mut Vec<Value>,
        sink: &mut dyn Sink,
        st: &mut Stats,
    ) -> Result<()> {
        let flows = table.finished();
        for (k, &i) in order.iter().enumerate() {
            crate::flow::prefetch_ahead(flows, order, k);
            let flow = &flows[i];
            self.emit(flow, table.states(), i, row, sink)?;
            st.flows += 1;
            st.evicted_for_memory += u64::from(flow.evicted_for_memory());
        }
        table.clear_finished();
        Ok(())
    }

    /// Run on several files, one after the other, into one sink. Each file is
    /// its own flow space: flows are flushed at the end of every file.
    pub fn run(
        &self,
        inputs: &[PathBuf],
        sink: &mut dyn Sink,
        obs: &mut dyn Observer,
    ) -> Result<Stats> {
        if self.needs.whole_input || (self.config.continue_across_files && inputs.len() > 1) {
            // Both passes (or the chain) need every file: open them all first.
            let readers = inputs
                .iter()
                .map(|p| CaptureReader::open(p))
                .collect::<Result<Vec<_>>>()?;
            return self.run_readers(readers, sink, obs, 1);
        }
        sink.begin(&self.columns)?;
        let mut total = Stats::default();
        for path in inputs {
            let reader = CaptureReader::open(path)?;
            sink.next_file(path);
            let st = self.process(reader, sink, obs)?;
            total.merge(&st);
        }
        sink.finish()?;
        Ok(total)
    }

    /// Process one open capture into `sink` (which must have been begun).
    /// With a whole-input group selected, the capture is read twice (see
    /// [`Pipeline::run_readers`]): it must be a file
    /// ([`CaptureReader::reopener`]).
    pub fn process(
        &self,
        reader: CaptureReader,
        sink: &mut dyn Sink,
        obs: &mut dyn Observer,
    ) -> Result<Stats> {
        if self.needs.whole_input {
            return self.two_passes(vec![reader], obs, 1, |me, mut readers, obs| {
                let r = readers.pop().expect("one reader");
                me.process_plain(r, sink, obs)
            });
        }
        self.process_plain(reader, sink, obs)
    }

    /// Whether the run reads its input twice (a whole-input group is
    /// selected).
    pub fn two_pass(&self) -> bool {
        self.needs.whole_input
    }

    /// A run of a whole-input group: pass 1 runs the flow table over every
    /// reader (the same flows as the real run: same timeouts, each file its
    /// own flow space, the same thread modes) and shows the ended flows to
    /// the whole-input groups, writing nothing; then the files are opened
    /// again and `pass2` runs on them. Memory between the passes is what
    /// the groups keep (per host and host pair), never rows.
    pub(crate) fn two_passes(
        &self,
        readers: Vec<CaptureReader>,
        obs: &mut dyn Observer,
        threads: usize,
        pass2: impl FnOnce(&Pipeline, Vec<CaptureReader>, &mut dyn Observer) -> Result<Stats>,
    ) -> Result<Stats> {
        let targets: Vec<Arc<dyn Group>> = self
            .slots
            .iter()
            .filter(|s| s.group.whole_input().is_some())
            .map(|s| Arc::clone(&s.group))
            .collect();
        let mut reopen = Vec::with_capacity(readers.len());
        for r in &readers {
            match r.reopener() {
                Some(h) => reopen.push(h),
                None => {
                    return Err(Error::Config(format!(
                        "{}: a selected feature group (connection) reads the whole input twice, and this input cannot be read again; give a file (jj spools standard input to a temporary file itself)",
                        r.path().display()
                    )))
                }
            }
        }
        for t in &targets {
            t.whole_input().expect("whole-input group").begin();
        }
        let first = Pipeline {
            config: self.config.clone(),
            // The same budget; where it binds, pass 1's flows (which hold
            // no group state) may be ended early at other moments than
            // pass 2's (docs/semantics.md#connection).
            memory_budget: self.memory_budget,
            columns: Vec::new(),
            slots: vec![Slot {
                group: Arc::new(Collector {
                    targets: targets.clone(),
                }),
                mask: Vec::new(),
                arena: None,
            }],
            needs: Needs::SUMMARY,
            passes: std::sync::Mutex::new(()),
        };
        let _turn = self.passes.lock().unwrap_or_else(|p| p.into_inner());
        obs.pass(1, 2);
        first.run_readers(readers, &mut NoRows, &mut FirstPass(obs), threads)?;
        for t in &targets {
            t.whole_input().expect("whole-input group").seal();
        }
        let readers = reopen
            .into_iter()
            .map(|h| h.open())
            .collect::<Result<Vec<_>>>()?;
        obs.pass(2, 2);
        pass2(self, readers, obs)
    }

    /// [`Pipeline::process`] without the whole-input passes.
    pub(crate) fn process_plain(
        &self,
        reader: CaptureReader,
        sink: &mut dyn Sink,
        obs: &mut dyn Observer,
    ) -> Result<Stats> {
        self.process_one_of(reader, sink, obs, 1)
    }

    /// [`Pipeline::process`] as one of `tables` files processed at once.
    pub(crate) fn process_one_of(
        &self,
        mut reader: CaptureReader,
        sink: &mut dyn Sink,
        obs: &mut dyn Observer,
        tables: usize,
    ) -> Result<Stats> {
        let path = reader.path().to_path_buf();
        let mut table = self.table(tables);
        let mut st = Stats {
            files: 1,
            ..Stats::default()
        };
        let mut row = Vec::with_capacity(self.columns.len());
        let mut sink_err: Option<Error> = None;
        // Decoded packets wait in a batch so that the table can prefetch
        // their flows a few packets ahead (see `with_lookahead`).
        let mut batch = PacketBatch::with_capacity(BATCH);
        // Account a batch, writing the flows that end as they end.
        let run = |table: &mut FlowTable<GroupStates>,
                   st: &mut Stats,
                   row: &mut Vec<Value>,
                   sink: &mut dyn Sink,
                   batch: &mut PacketBatch|
         -> Result<()> {
            let mut res = Ok(());
            let b = &*batch;
            with_lookahead(
                table,
                &b.items,
                |t, p| Some(t.keyed(&p.d, p.d.sport, p.d.dport)),
                |t, p, k| {
                    if res.is_err() {
                        return;
                    }
                    let k = k.unwrap_or_else(|| t.keyed(&p.d, p.d.sport, p.d.dport));
                    t.process_keyed(p.index, p.ts_us, &p.d, b.frame(p), k);
                    if t.has_finished() {
                        res = self.write_finished(t, row, sink, st);
                    }
                },
            );
            batch.clear();
            res
        };
        let end = read_frames(
            &mut reader,
            &mut st,
            self.sample(),
            |st, index, ts_us, d, frame| {
                batch.push(
                    index,
                    ts_us,
                    d,
                    (d.sport, d.dport),
                    frame,
                    self.keep_bytes(&d),
                );
                if batch.len() == BATCH {
                    if let Err(e) = run(&mut table, st, &mut row, sink, &mut batch) {
                        sink_err = Some(e);
                        return false;
                    }
                }
                true
            },
            |st, offset| {
                st.report(&path, offset, obs);
                true
            },
        )?;
        if let Some(e) = sink_err {
            return Err(e);
        }
        run(&mut table, &mut st, &mut row, sink, &mut batch)?;
        let order = table.flush_ordered();
        self.write_ordered(&mut table, &order, &mut row, sink, &mut st)?;
        st.finish_file(&path, &end, reader.offset(), table.peak() as u64, obs);
        Ok(st)
    }
}
