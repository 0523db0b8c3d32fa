//! Capture → decode → flow table → extractors → sink.

use crate::capture::CaptureReader;
use crate::config::Config;
use crate::decode::{decode, Decoded};
use crate::error::{Error, Result, SkipReason};
use crate::features::{Column, Extractor, ExtractorDef, FlowState, RowWriter, Value};
use crate::flow::{with_lookahead, Flow, FlowTable, StateFactory, TableConfig};
use crate::output::Sink;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Most flows held at once (largest over the files).
    pub peak_active_flows: u64,
    /// Files that were cut short or corrupt (warnings were issued).
    pub incomplete_files: u64,
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
        obs.progress(&Progress {
            path,
            offset,
            packets: self.packets,
            flows: self.flows,
        });
        if let Some(w) = end.warning(path) {
            self.incomplete_files += 1;
            obs.warning(&w);
        }
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
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// Decoded packets accounted together (see `with_lookahead`).
const BATCH: usize = 256;

/// Packets between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;

struct Group {
    ext: Box<dyn Extractor>,
    mask: Vec<bool>,
    /// Index of this group's state in `Flow::states`, for stateful groups.
    state: Option<usize>,
}

/// A configured extraction: build once, run on any number of captures.
pub struct Pipeline {
    config: Config,
    columns: Vec<&'static Column>,
    groups: Arc<Vec<Group>>,
}

impl Pipeline {
    /// Validate `config` and prepare the selected feature groups.
    pub fn new(config: Config) -> Result<Pipeline> {
        config.validate()?;
        let defs: Vec<&'static ExtractorDef> = config.groups();
        let mut columns = Vec::new();
        let mut groups = Vec::new();
        let mut n_states = 0;
        for def in defs {
            let ext = (def.build)(&config);
            let mask: Vec<bool> = def
                .columns
                .iter()
                .map(|c| c.gate.enabled(&config))
                .collect();
            columns.extend(
                def.columns
                    .iter()
                    .zip(&mask)
                    .filter(|(_, m)| **m)
                    .map(|(c, _)| c),
            );
            let state = if ext.new_state().is_some() {
                n_states += 1;
                Some(n_states - 1)
            } else {
                None
            };
            groups.push(Group { ext, mask, state });
        }
        Ok(Pipeline {
            config,
            columns,
            groups: Arc::new(groups),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The output columns, in order.
    pub fn columns(&self) -> &[&'static Column] {
        &self.columns
    }

    pub(crate) fn table(&self) -> FlowTable {
        let groups = Arc::clone(&self.groups);
        let factory: StateFactory = Box::new(move || {
            groups
                .iter()
                .filter(|g| g.state.is_some())
                .filter_map(|g| g.ext.new_state())
                .collect()
        });
        FlowTable::new(
            TableConfig {
                idle_us: self.config.idle_us(),
                active_us: self.config.active_us(),
                tcp_close: self.config.terminate_on_fin_rst,
                max_flows: usize::try_from(self.config.max_concurrent_flows).unwrap_or(usize::MAX),
            },
            factory,
        )
    }

    /// The row of a finished flow, appended to `row` (cleared first).
    pub fn row_of(&self, flow: &Flow, row: &mut Vec<Value>) {
        row.clear();
        for g in self.groups.iter() {
            let state: Option<&dyn FlowState> =
                g.state.and_then(|i| flow.states.get(i)).map(|b| &**b);
            let mut w = RowWriter::new(row, &g.mask);
            g.ext.write(flow, state, &mut w);
            debug_assert_eq!(
                w.written(),
                g.mask.len(),
                "extractor wrote a wrong number of values"
            );
        }
    }

    /// Run on several files, one after the other, into one sink. Each file is
    /// its own flow space: flows are flushed at the end of every file.
    pub fn run(
        &self,
        inputs: &[PathBuf],
        sink: &mut dyn Sink,
        obs: &mut dyn Observer,
    ) -> Result<Stats> {
        sink.begin(&self.columns)?;
        let mut total = Stats::default();
        for path in inputs {
            let reader = CaptureReader::open(path)?;
            let st = self.process(reader, sink, obs)?;
            total.merge(&st);
        }
        sink.finish()?;
        Ok(total)
    }

    /// Process one open capture into `sink` (which must have been begun).
    pub fn process(
        &self,
        mut reader: CaptureReader,
        sink: &mut dyn Sink,
        obs: &mut dyn Observer,
    ) -> Result<Stats> {
        let path = reader.path().to_path_buf();
        let mut table = self.table();
        let mut st = Stats {
            files: 1,
            ..Stats::default()
        };
        let mut row = Vec::with_capacity(self.columns.len());
        let mut sink_err: Option<Error> = None;
        let mut index: u64 = 0;
        let mut unknown_if = 0u64;
        // Decoded packets wait in a batch so that the table can prefetch
        // their flows a few packets ahead (see `with_lookahead`).
        let mut batch: Vec<(u64, i64, Decoded)> = Vec::with_capacity(BATCH);
        let end = {
            let st = &mut st;
            let table = &mut table;
            let row = &mut row;
            let sink_err = &mut sink_err;
            let path = &path;
            let batch = &mut batch;
            let mut emit = |table: &mut FlowTable, st: &mut Stats| -> Result<()> {
                for flow in table.finished().drain(..) {
                    self.row_of(&flow, row);
                    sink.row(row)?;
                    st.flows += 1;
                }
                Ok(())
            };
            // Account a batch, writing the flows that end as they end.
            let mut run = |table: &mut FlowTable,
                           st: &mut Stats,
                           batch: &mut Vec<(u64, i64, Decoded)>|
             -> Result<()> {
                let mut res = Ok(());
                with_lookahead(
                    table,
                    batch,
                    |t, (_, _, d)| Some(t.keyed(d, d.sport, d.dport)),
                    |t, &(index, ts_us, ref d), k| {
                        if res.is_err() {
                            return;
                        }
                        let k = k.unwrap_or_else(|| t.keyed(d, d.sport, d.dport));
                        t.process_keyed(index, ts_us, d, k);
                        if !t.finished().is_empty() {
                            res = emit(t, st);
                        }
                    },
                );
                batch.clear();
                res
            };
            let mut obs_packets = 0u64;
            let res = reader.for_each(
                |frame| {
                    st.packets += 1;
                    match decode(frame.link_type, frame.data, frame.orig_len) {
                        Ok(d) => {
                            st.decoded += 1;
                            batch.push((index, frame.ts_us, d));
                            if batch.len() == BATCH {
                                if let Err(e) = run(table, st, batch) {
                                    *sink_err = Some(e);
                                    return false;
                                }
                            }
                        }
                        Err(reason) => st.skipped[reason as usize] += 1,
                    }
                    index += 1;
                    obs_packets += 1;
                    if obs_packets == PROGRESS_EVERY {
                        obs_packets = 0;
                        obs.progress(&Progress {
                            path,
                            offset: frame.offset,
                            packets: st.packets,
                            flows: st.flows,
                        });
                    }
                    true
                },
                || unknown_if += 1,
            );
            let res = res?;
            if let Some(e) = sink_err.take() {
                return Err(e);
            }
            run(table, st, batch)?;
            table.flush();
            emit(table, st)?;
            res
        };
        st.skipped[SkipReason::UnknownInterface as usize] += unknown_if;
        st.finish_file(&path, &end, reader.offset(), table.peak() as u64, obs);
        Ok(st)
    }
}

/// Elapsed time helper for summaries.
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    let s = elapsed.as_secs_f64();
    if s > 0.0 {
        count as f64 / s
    } else {
        0.0
    }
}

/// A started clock (for summaries).
pub fn clock() -> Instant {
    Instant::now()
}
