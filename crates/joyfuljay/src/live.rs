//! Packets that arrive one at a time with wall-clock times (a live
//! capture), through the same decode → flow table → rows path as a file.
//!
//! The capture itself (libpcap) lives in the `jj` crate behind its `live`
//! feature; this module only needs frames and the time. Between frames
//! the caller sweeps the table at the wall clock ([`LiveRun::sweep`]), so
//! that flows end by idle timeout while no packet arrives, and their rows
//! are written as they end.

use crate::decode::{decode, Decoded};
use crate::error::{Error, Result, SkipReason};
use crate::features::{GroupStates, Value};
use crate::flow::FlowTable;
use crate::output::Sink;
use crate::pipeline::{sampled_in, Pipeline, Stats};

/// A run over frames handed in one by one ([`Pipeline::live`]).
pub struct LiveRun<'p> {
    pipe: &'p Pipeline,
    table: FlowTable<GroupStates>,
    st: Stats,
    row: Vec<Value>,
    index: u64,
    sample: Option<u64>,
    /// The latest time seen (frame or sweep): sweeps never go back.
    now_us: i64,
}

impl Pipeline {
    /// Start a run over frames handed in one at a time (a live capture).
    /// `sink` must have been begun ([`Sink::begin`] with
    /// [`Pipeline::columns`]). Fails for a whole-input group
    /// (connection), which reads its input twice.
    pub fn live(&self) -> Result<LiveRun<'_>> {
        if self.two_pass() {
            return Err(Error::Config(
                "the connection group reads the whole input twice and cannot run on a live capture; save the capture (--save-pcap) and run jj extract on it".into(),
            ));
        }
        Ok(LiveRun {
            pipe: self,
            table: self.table(1),
            st: Stats {
                files: 1,
                ..Stats::default()
            },
            row: Vec::with_capacity(self.columns().len()),
            index: 0,
            sample: self.sample(),
            now_us: i64::MIN,
        })
    }
}

impl LiveRun<'_> {
    /// Account one captured frame (`link_type`: LINKTYPE_* number; `data`:
    /// the captured bytes of a packet `orig_len` bytes long on the wire),
    /// writing the rows of the flows it ends.
    pub fn frame(
        &mut self,
        link_type: u32,
        ts_us: i64,
        data: &[u8],
        orig_len: u32,
        sink: &mut dyn Sink,
    ) -> Result<()> {
        if let Some(i) = self.admit(ts_us) {
            match decode(link_type, data, orig_len) {
                Ok(d) => {
                    self.st.decoded += 1;
                    self.table.process(i, ts_us, &d, data);
                }
                Err(reason) => self.st.skipped[reason as usize] += 1,
            }
        }
        self.write_ended(sink)
    }

    /// Count a packet at `ts_us` and give it its index, or `None` when
    /// sampling leaves it out (counted as skipped).
    fn admit(&mut self, ts_us: i64) -> Option<u64> {
        self.st.packets += 1;
        let i = self.index;
        self.index += 1;
        self.now_us = self.now_us.max(ts_us);
        match self.sample {
            Some(t) if !sampled_in(i, t) => {
                self.st.skipped[SkipReason::SampledOut as usize] += 1;
                None
            }
            _ => Some(i),
        }
    }

    /// As [`LiveRun::frame`], keeping only the packets `keep` accepts
    /// (`jj live --pid`): `keep` sees each decoded packet first; a packet
    /// it refuses, or one that does not decode (not IP), is left out:
    /// counted in [`Stats::filtered`], not in `packets`, and not sampled.
    /// Whether the packet was kept.
    #[allow(clippy::too_many_arguments)]
    pub fn frame_if(
        &mut self,
        link_type: u32,
        ts_us: i64,
        data: &[u8],
        orig_len: u32,
        sink: &mut dyn Sink,
        keep: &mut dyn FnMut(&Decoded) -> bool,
    ) -> Result<bool> {
        let d = match decode(link_type, data, orig_len) {
            Ok(d) if keep(&d) => d,
            _ => {
                self.st.filtered += 1;
                return Ok(false);
            }
        };
        if let Some(i) = self.admit(ts_us) {
            self.st.decoded += 1;
            self.table.process(i, ts_us, &d, data);
        }
        self.write_ended(sink)?;
        Ok(true)
    }

    /// End the flows idle for longer than their timeout at wall-clock time
    /// `now_us` (µs since the Unix epoch) and write their rows. Call it
    /// every so often while no packet arrives.
    pub fn sweep(&mut self, now_us: i64, sink: &mut dyn Sink) -> Result<()> {
        if now_us <= self.now_us {
            return Ok(());
        }
        self.now_us = now_us;
        self.table.sweep_at(self.index, now_us);
        self.write_ended(sink)
    }

    fn write_ended(&mut self, sink: &mut dyn Sink) -> Result<()> {
        if self.table.has_finished() {
            self.pipe
                .write_finished(&mut self.table, &mut self.row, sink, &mut self.st)?;
            sink.flush()?;
        }
        Ok(())
    }

    /// Flows open now.
    pub fn active(&self) -> usize {
        self.table.active()
    }

    /// The counters so far.
    pub fn stats(&self) -> &Stats {
        &self.st
    }

    /// End every open flow and write its row (the capture stopped); the
    /// counters of the run. The caller finishes the sink.
    pub fn finish(mut self, sink: &mut dyn Sink) -> Result<Stats> {
        self.table.flush();
        self.pipe
            .write_finished(&mut self.table, &mut self.row, sink, &mut self.st)?;
        sink.flush()?;
        self.st.peak_active_flows = self.table.peak() as u64;
        Ok(self.st)
    }
}
