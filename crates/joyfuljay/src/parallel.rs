//! Running a [`Pipeline`] on several threads with output byte-identical to
//! one thread.
//!
//! - Several files: each file is processed by one worker; rows come back
//!   through bounded channels and are written in input order (a worker that
//!   runs ahead blocks, so memory stays bounded).
//! - One file with `max_concurrent_flows` (a global limit): reading and
//!   decoding run on one thread, the flow table and the feature groups on
//!   another; packets keep their order. (Also two threads without a flow
//!   limit.) The rows of the flows still open at the end of input, most
//!   rows of a flow-dense capture, are formatted on both threads in
//!   alternate chunks and written in order.
//! - One file (the default): a dispatcher reads, decodes and resolves
//!   fragments, then sends each packet to the shard that owns its 5-tuple
//!   (by hash). Every shard is a flow table of its own; the dispatcher also
//!   sends every shard the same idle-sweep moments, taken from the global
//!   packet sequence, so each flow ends exactly when it would in one table.
//!   Work goes in epochs of packets; the rows of an epoch are put in the
//!   order of their [`EndTag`] (packet index of the end, kind, first packet),
//!   which is the single-table order.

use crate::capture::{CaptureReader, ReadEnd};
use crate::error::{Error, Result};
use crate::features::{Cells, Column, EndedStates, Value};
use crate::flow::{with_lookahead, EndTag, Flow, FlowTable, Fragments, SweepClock};
use crate::output::{DirectRows, RowFormatter, Sink, FORMATTED_CHUNK};
use crate::pipeline::{read_frames, Observer, PacketBatch, Pipeline, Progress, Stats};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};

/// Rows per message from a file worker.
const ROW_BATCH: usize = 1024;
/// Messages buffered per file worker.
const FILE_CHANNEL: usize = 64;
/// Packets per message from the reader thread.
const PACKET_BATCH: usize = 4096;
/// Packet batches buffered between reader and flow table.
const PACKET_CHANNEL: usize = 8;

enum FileMsg {
    Rows(Vec<Vec<Value>>),
    /// Rows formatted by the sink's [`RowFormatter`], and how many.
    Text(Vec<u8>, u64),
    Warning(String),
    Progress {
        offset: u64,
        packets: u64,
        flows: u64,
    },
    Done(Result<Stats>),
}

/// Sends rows to the writing thread in batches: formatted text when the
/// output sink has a [`RowFormatter`] (so formatting runs on the worker),
/// else values.
struct ChannelSink {
    tx: SyncSender<FileMsg>,
    batch: Vec<Vec<Value>>,
    fmt: Option<Box<dyn RowFormatter>>,
    /// Rows in the formatter's text.
    formatted: u64,
}

impl ChannelSink {
    fn flush(&mut self) -> Result<()> {
        if let Some(f) = &mut self.fmt {
            if self.formatted > 0 {
                let text =
                    std::mem::replace(f.output(), Vec::with_capacity(FORMATTED_CHUNK + 4096));
                let n = std::mem::take(&mut self.formatted);
                self.tx
                    .send(FileMsg::Text(text, n))
                    .map_err(|_| stopped())?;
            }
        }
        if self.batch.is_empty() {
            return Ok(());
        }
        let b = std::mem::replace(&mut self.batch, Vec::with_capacity(ROW_BATCH));
        self.tx.send(FileMsg::Rows(b)).map_err(|_| stopped())
    }
}

impl DirectRows for ChannelSink {
    fn start_row(&mut self) -> &mut dyn Cells {
        self.fmt
            .as_mut()
            .expect("direct rows only with a formatter")
            .start_row()
    }
    fn end_row(&mut self) -> Result<()> {
        let f = self
            .fmt
            .as_mut()
            .expect("direct rows only with a formatter");
        f.end_row();
        self.formatted += 1;
        if f.output().len() >= FORMATTED_CHUNK {
            self.flush()?;
        }
        Ok(())
    }
}

fn stopped() -> Error {
    Error::Output {
        target: "output".to_string(),
        source: std::io::Error::new(std::io::ErrorKind::BrokenPipe, "writer stopped"),
    }
}

impl Sink for ChannelSink {
    fn begin(&mut self, _columns: &[&'static Column]) -> Result<()> {
        Ok(())
    }
    fn row(&mut self, values: &[Value]) -> Result<()> {
        if self.fmt.is_some() {
            let cells = self.start_row();
            for v in values {
                cells.value(v.clone());
            }
            return self.end_row();
        }
        self.batch.push(values.to_vec());
        if self.batch.len() >= ROW_BATCH {
            self.flush()?;
        }
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        self.flush()
    }
    fn direct(&mut self) -> Option<&mut dyn DirectRows> {
        if self.fmt.is_some() {
            Some(self)
        } else {
            None
        }
    }
}

struct ChannelObserver(SyncSender<FileMsg>);

impl Observer for ChannelObserver {
    fn progress(&mut self, p: &Progress<'_>) {
        let _ = self.0.send(FileMsg::Progress {
            offset: p.offset,
            packets: p.packets,
            flows: p.flows,
        });
    }
    fn warning(&mut self, msg: &str) {
        let _ = self.0.send(FileMsg::Warning(msg.to_string()));
    }
}

impl Pipeline {
    /// Run on opened captures with up to `threads` threads, into `sink`
    /// (begun and finished here). The output is the same for any number of
    /// threads.
    ///
    /// With a whole-input group selected (`connection`), the input is read
    /// twice ([`Pipeline::two_passes`]): every reader must read a file
    /// ([`CaptureReader::reopener`]); the observer hears of both passes.
    ///
    /// With `continue_across_files`, the readers are read as one stream
    /// ([`CaptureReader::chain`]).
    pub fn run_readers(
        &self,
        readers: Vec<CaptureReader>,
        sink: &mut dyn Sink,
        obs: &mut dyn Observer,
        threads: usize,
    ) -> Result<Stats> {
        let readers = if self.config().continue_across_files && readers.len() > 1 {
            // One stream: the parallel modes of one file apply.
            vec![CaptureReader::chain(readers)]
        } else {
            readers
        };
        if self.needs().whole_input {
            return self.two_passes(readers, obs, threads, |me, readers, obs| {
                me.run_readers_once(readers, sink, obs, threads)
            });
        }
        self.run_readers_once(readers, sink, obs, threads)
    }

    /// [`Pipeline::run_readers`], one pass.
    pub(crate) fn run_readers_once(
        &self,
        readers: Vec<CaptureReader>,
        sink: &mut dyn Sink,
        obs: &mut dyn Observer,
        threads: usize,
    ) -> Result<Stats> {
        sink.begin(self.columns())?;
        let total = if threads <= 1 {
            let mut total = Stats::default();
            for r in readers {
                sink.next_file(r.path());
                total.merge(&self.process_plain(r, sink, obs)?);
            }
            total
        } else if readers.len() > 1 {
            self.run_files_parallel(readers, sink, obs, threads)?
        } else {
            let mut total = Stats::default();
            for r in readers {
                sink.next_file(r.path());
                let st = if self.config().max_concurrent_flows == 0 && threads > 2 {
                    // One thread reads and dispatches, `threads` shards build flows.
                    self.process_sharded(r, sink, obs, threads)?
                } else {
                    // One thread reads, decodes and writes rows, one builds
                    // flows: the flow limit is global, and on two cores
                    // this beats a dispatcher and two shards (measured in
                    // the README).
                    self.process_split(r, sink, obs)?
                };
                total.merge(&st);
            }
            total
        };
        sink.finish()?;
        Ok(total)
    }

    fn run_files_parallel(
        &self,
        readers: Vec<CaptureReader>,
        sink: &mut dyn Sink,
        obs: &mut dyn Observer,
        threads: usize,
    ) -> Result<Stats> {
        let n = readers.len();
        let paths: Vec<PathBuf> = readers.iter().map(|r| r.path().to_path_buf()).collect();
        let mut txs = Vec::with_capacity(n);
        let mut rxs: Vec<Receiver<FileMsg>> = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, rx) = sync_channel(FILE_CHANNEL);
            txs.push(Some(tx));
            rxs.push(rx);
        }
        let fmts = (0..n).map(|_| sink.formatter()).collect::<Vec<_>>();
        let jobs = Mutex::new(
            readers
                .into_iter()
                .map(Some)
                .zip(txs)
                .zip(fmts)
                .map(|((r, tx), f)| (r, tx, f))
                .collect::<Vec<_>>(),
        );
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads.min(n) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let (reader, tx, fmt) = {
                        let mut j = jobs.lock().expect("job list lock");
                        (j[i].0.take(), j[i].1.take(), j[i].2.take())
                    };
                    let (Some(reader), Some(tx)) = (reader, tx) else {
                        continue;
                    };
                    let mut sink = ChannelSink {
                        tx: tx.clone(),
                        batch: Vec::with_capacity(ROW_BATCH),
                        fmt,
                        formatted: 0,
                    };
                    let mut o = ChannelObserver(tx.clone());
                    let res = self
                        .process_one_of(reader, &mut sink, &mut o, threads.min(n))
                        .and_then(|st| sink.finish().map(|_| st));
                    let _ = tx.send(FileMsg::Done(res));
                });
            }
            // Write in input order; on error, dropping the receivers stops the workers.
            let mut total = Stats::default();
            let mut rxs = rxs.into_iter();
            let result = (|| {
                for (i, rx) in rxs.by_ref().enumerate() {
                    sink.next_file(&paths[i]);
                    loop {
                        match rx.recv() {
                            Ok(FileMsg::Rows(rows)) => {
                                for r in &rows {
                                    sink.row(r)?;
                                }
                            }
                            Ok(FileMsg::Text(text, rows)) => sink.write_formatted(&text, rows)?,
                            Ok(FileMsg::Warning(w)) => obs.warning(&w),
                            Ok(FileMsg::Progress {
                                offset,
                                packets,
                                flows,
                            }) => obs.progress(&Progress {
                                path: &paths[i],
                                offset,
                                packets,
                                flows,
                            }),
                            Ok(FileMsg::Done(r)) => {
                                total.merge(&r?);
                                break;
                            }
                            Err(_) => return Err(stopped()),
                        }
                    }
                }
                Ok(total)
            })();
            drop(rxs);
            result
        })
    }

    /// One file on two threads: this one reads, decodes and writes the
    /// output; the other runs the flow table. The rows of ended flows are
    /// formatted by whichever thread has time: the table's when it would
    /// otherwise wait for packets, else this one (and always this one for
    /// a sink without a [`RowFormatter`]). Either way the bytes are the
    /// same, written in the order the flows ended.
    fn process_split(
        &self,
        mut reader: CaptureReader,
        sink: &mut dyn Sink,
        obs: &mut dyn Observer,
    ) -> Result<Stats> {
        let path = reader.path().to_path_buf();
        let (tx, rx) = sync_channel::<PacketBatch>(PACKET_CHANNEL);
        let (back_tx, back_rx) = sync_channel::<PacketBatch>(PACKET_CHANNEL + 2);
        // Unbounded, yet bounded in practice: the table ends flows only as
        // fast as it gets packets, at most PACKET_CHANNEL batches ahead of
        // this thread, which writes what has ended after every batch.
        let (flow_tx, flow_rx) = std::sync::mpsc::channel::<Ended>();
        // Text buffers written out, back to the table thread for reuse.
        let (text_back_tx, text_back_rx) = sync_channel::<Vec<u8>>(4);
        // The odd chunks of the flows open at the end of input, formatted
        // by the table thread (see `Ended::Shared`).
        let (chunk_tx, chunk_rx) = sync_channel::<Ended>(2);
        let mut fmt = sink.formatter();
        std::thread::scope(|scope| {
            let building = scope.spawn(move || -> u64 {
                let mut table = self.table(1);
                let mut next: Option<PacketBatch> = None;
                loop {
                    let mut batch = match next.take() {
                        Some(b) => b,
                        None => match rx.recv() {
                            Ok(b) => b,
                            Err(_) => break,
                        },
                    };
                    let b = &batch;
                    with_lookahead(
                        &mut table,
                        &b.items,
                        |t, p| Some(t.keyed(&p.d, p.d.sport, p.d.dport)),
                        |table, p, k| {
                            let k = k.unwrap_or_else(|| table.keyed(&p.d, p.d.sport, p.d.dport));
                            table.process_keyed(p.index, p.ts_us, &p.d, b.frame(p), k);
                        },
                    );
                    batch.clear();
                    let _ = back_tx.try_send(batch);
                    if !table.has_finished() {
                        continue;
                    }
                    // Format here only while no packets are waiting.
                    let here = match rx.try_recv() {
                        Ok(b) => {
                            next = Some(b);
                            false
                        }
                        Err(TryRecvError::Empty) => fmt.is_some(),
                        Err(TryRecvError::Disconnected) => false,
                    };
                    let ended = match (here, fmt.as_deref_mut()) {
                        (true, Some(f)) => {
                            let fresh = text_back_rx.try_recv().unwrap_or_default();
                            self.format_finished(&mut table, f, fresh)
                        }
                        _ => Ended::Flows(table.take_finished()),
                    };
                    if flow_tx.send(ended).is_err() {
                        return table.peak() as u64;
                    }
                }
                let order = table.flush_ordered();
                let (flows, states) = table.take_finished();
                match fmt.as_deref_mut() {
                    Some(f) if flows.len() > FLUSH_CHUNK => {
                        // Most flows of a flow-dense capture are still open
                        // here: their rows are formatted on both threads,
                        // chunk by chunk (even chunks by the writing thread,
                        // odd ones here), and written in order.
                        let shared = Arc::new(Flushed {
                            flows,
                            states,
                            order,
                        });
                        if flow_tx.send(Ended::Shared(Arc::clone(&shared))).is_err() {
                            return table.peak() as u64;
                        }
                        let n = shared.order.len();
                        for start in (FLUSH_CHUNK..n).step_by(2 * FLUSH_CHUNK) {
                            let end = (start + FLUSH_CHUNK).min(n);
                            let fresh = text_back_rx.try_recv().unwrap_or_default();
                            let text = self.format_range(&shared, start..end, f, fresh);
                            if chunk_tx.send(text).is_err() {
                                break;
                            }
                        }
                    }
                    _ => {
                        let _ = flow_tx.send(Ended::Ordered(flows, states, order));
                    }
                }
                table.peak() as u64
            });

            let mut st = Stats {
                files: 1,
                ..Stats::default()
            };
            let mut row = Vec::with_capacity(self.columns().len());
            let mut write = |ended: Ended, st: &mut Stats| -> Result<()> {
                match ended {
                    Ended::Flows((flows, states)) => {
                        for (i, flow) in flows.iter().enumerate() {
                            self.emit(flow, &states, i, &mut row, sink)?;
                            st.flows += 1;
                            st.evicted_for_memory += u64::from(flow.evicted_for_memory());
                        }
                    }
                    Ended::Text {
                        mut text,
                        flows,
                        evicted,
                    } => {
                        sink.write_formatted(&text, flows)?;
                        st.flows += flows;
                        st.evicted_for_memory += evicted;
                        text.clear();
                        let _ = text_back_tx.try_send(text);
                    }
                    Ended::Ordered(flows, states, order) => {
                        for (k, &i) in order.iter().enumerate() {
                            crate::flow::prefetch_ahead(&flows, &order, k);
                            let flow = &flows[i];
                            self.emit(flow, &states, i, &mut row, sink)?;
                            st.flows += 1;
                            st.evicted_for_memory += u64::from(flow.evicted_for_memory());
                        }
                    }
                    Ended::Shared(shared) => {
                        let Flushed {
                            flows,
                            states,
                            order,
                        } = &*shared;
                        for (c, chunk) in order.chunks(FLUSH_CHUNK).enumerate() {
                            if c % 2 == 1 {
                                match chunk_rx.recv() {
                                    Ok(Ended::Text {
                                        mut text,
                                        flows,
                                        evicted,
                                    }) => {
                                        sink.write_formatted(&text, flows)?;
                                        st.flows += flows;
                                        st.evicted_for_memory += evicted;
                                        text.clear();
                                        let _ = text_back_tx.try_send(text);
                                    }
                                    _ => return Err(stopped()),
                                }
                                continue;
                            }
                            let base = c * FLUSH_CHUNK;
                            for (j, &i) in chunk.iter().enumerate() {
                                crate::flow::prefetch_ahead(flows, order, base + j);
                                let flow = &flows[i];
                                self.emit(flow, states, i, &mut row, sink)?;
                                st.flows += 1;
                                st.evicted_for_memory += u64::from(flow.evicted_for_memory());
                            }
                        }
                    }
                }
                Ok(())
            };
            let mut sink_err: Option<Error> = None;
            let mut batch = PacketBatch::with_capacity(PACKET_BATCH);
            let read = read_frames(
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
                    if batch.len() == PACKET_BATCH {
                        let fresh = back_rx
                            .try_recv()
                            .unwrap_or_else(|_| PacketBatch::with_capacity(PACKET_BATCH));
                        if tx.send(std::mem::replace(&mut batch, fresh)).is_err() {
                            return false;
                        }
                        while let Ok(ended) = flow_rx.try_recv() {
                            if let Err(e) = write(ended, st) {
                                sink_err = Some(e);
                                return false;
                            }
                        }
                    }
                    true
                },
                |st, offset| {
                    st.report(&path, offset, obs);
                    true
                },
            );
            if read.is_ok() && sink_err.is_none() && batch.len() > 0 {
                let _ = tx.send(batch);
            }
            drop(tx);
            if read.is_ok() && sink_err.is_none() {
                // Until the table has flushed and hung up.
                for ended in flow_rx.iter() {
                    if let Err(e) = write(ended, &mut st) {
                        sink_err = Some(e);
                        break;
                    }
                }
            }
            drop(flow_rx);
            // A table thread still formatting chunks stops at its next send.
            drop(chunk_rx);
            let peak = building
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            let end = read?;
            if let Some(e) = sink_err {
                return Err(e);
            }
            st.finish_file(&path, &end, reader.offset(), peak, obs);
            Ok(st)
        })
    }
}

/// The flows open at the end of input, their states and their output
/// order ([`crate::flow::FlowTable::flush_ordered`]).
struct Flushed {
    flows: Vec<Flow>,
    states: EndedStates,
    order: Vec<usize>,
}

/// Rows per chunk when the flows open at the end of input are formatted on
/// two threads (about 1 MiB of CSV for flow_meta).
const FLUSH_CHUNK: usize = 4096;

/// Flows that ended in a flow table, for the writing thread.
enum Ended {
    /// To be formatted by the writing thread.
    Flows((Vec<Flow>, EndedStates)),
    /// The flows open at the end of input, shared by both threads: the
    /// writing thread formats the even chunks of [`FLUSH_CHUNK`] rows
    /// itself and takes the odd ones, formatted by the table thread, from
    /// a channel of their own as `Text`, writing all of them in order.
    Shared(Arc<Flushed>),
    /// The flows open at the end of input, to be written in `order` (see
    /// [`crate::flow::FlowTable::flush_ordered`]) by the writing thread.
    Ordered(Vec<Flow>, EndedStates, Vec<usize>),
    /// Already formatted by the sink's [`RowFormatter`].
    Text {
        text: Vec<u8>,
        flows: u64,
        evicted: u64,
    },
}

impl Pipeline {
    /// Format the rows of places `range` of the output order of `flushed`
    /// with `fmt`, into `text` (empty).
    fn format_range(
        &self,
        flushed: &Flushed,
        range: std::ops::Range<usize>,
        fmt: &mut dyn RowFormatter,
        text: Vec<u8>,
    ) -> Ended {
        let Flushed {
            flows,
            states,
            order,
        } = flushed;
        let before = std::mem::replace(fmt.output(), text);
        debug_assert!(before.is_empty());
        let (mut n, mut evicted) = (0u64, 0u64);
        for k in range {
            crate::flow::prefetch_ahead(flows, order, k);
            let i = order[k];
            let flow = &flows[i];
            self.cells_of(flow, states, i, fmt.start_row());
            fmt.end_row();
            n += 1;
            evicted += u64::from(flow.evicted_for_memory());
        }
        Ended::Text {
            text: std::mem::replace(fmt.output(), before),
            flows: n,
            evicted,
        }
    }

    /// Format the rows of the flows that ended in `table` with `fmt`, into
    /// `text` (empty), and forget the flows.
    fn format_finished(
        &self,
        table: &mut FlowTable<crate::features::GroupStates>,
        fmt: &mut dyn RowFormatter,
        text: Vec<u8>,
    ) -> Ended {
        let before = std::mem::replace(fmt.output(), text);
        debug_assert!(before.is_empty());
        let (mut flows, mut evicted) = (0u64, 0u64);
        for (i, flow) in table.finished().iter().enumerate() {
            self.cells_of(flow, table.states(), i, fmt.start_row());
            fmt.end_row();
            flows += 1;
            evicted += u64::from(flow.evicted_for_memory());
        }
        table.clear_finished();
        Ended::Text {
            text: std::mem::replace(fmt.output(), before),
            flows,
            evicted,
        }
    }
}

/// Packets per epoch of a sharded run.
const EPOCH: usize = 8192;

/// What the dispatcher sends a shard for one epoch: its packets, and the
/// idle-sweep moments of the whole input, each placed before the shard's
/// first packet at or after it.
#[derive(Default)]
struct ShardEpoch {
    packets: PacketBatch,
    /// (position among `packets` it comes before, packet index, time).
    sweeps: Vec<(usize, u64, i64)>,
}

/// What a shard sends back for one epoch: rows with their place in the
/// output order, and the moments its flows started (+1) and ended (−1).
type ShardOut = (ShardRows, Vec<(u64, i8)>);

/// A shard's rows of one epoch, each with its place in the output order.
enum ShardRows {
    /// As values (a sink without a [`RowFormatter`]).
    Values(Vec<(EndTag, Vec<Value>)>),
    /// Formatted by the shard: each row's tag and end in the text (a row
    /// starts where the one before ends).
    Text(Vec<u8>, Vec<(EndTag, usize)>),
}

impl Pipeline {
    /// One file on a dispatcher and `shards` flow-table workers.
    fn process_sharded(
        &self,
        mut reader: CaptureReader,
        sink: &mut dyn Sink,
        obs: &mut dyn Observer,
        shards: usize,
    ) -> Result<Stats> {
        let path = reader.path().to_path_buf();
        let mut to_shard = Vec::with_capacity(shards);
        let mut shard_inputs = Vec::with_capacity(shards);
        let mut out_txs = Vec::with_capacity(shards);
        let mut out_rxs = Vec::with_capacity(shards);
        for _ in 0..shards {
            let (tx, rx) = sync_channel::<ShardEpoch>(4);
            to_shard.push(tx);
            shard_inputs.push(rx);
            let (otx, orx) = sync_channel::<ShardOut>(4);
            out_txs.push(otx);
            out_rxs.push(orx);
        }
        let fmts = (0..shards).map(|_| sink.formatter()).collect::<Vec<_>>();
        let hasher = foldhash::fast::FixedState::with_seed(0x6a6a);
        // Bytes and packets read so far, for progress reports.
        let read_offset = std::sync::atomic::AtomicU64::new(0);
        let read_packets = std::sync::atomic::AtomicU64::new(0);
        let (read_offset, read_packets) = (&read_offset, &read_packets);
        std::thread::scope(|scope| {
            // Shard workers: one flow table each.
            for ((rx, otx), mut fmt) in shard_inputs.into_iter().zip(out_txs).zip(fmts) {
                scope.spawn(move || {
                    let mut table = self.table(shards);
                    table.log_occupancy();
                    let mut row = Vec::new();
                    let mut out_of = |table: &mut FlowTable<_>| -> ShardOut {
                        let (flows, states) = table.take_finished();
                        let rows = match fmt.as_deref_mut() {
                            Some(f) => {
                                let ends = flows
                                    .iter()
                                    .enumerate()
                                    .map(|(i, fl)| {
                                        self.cells_of(fl, &states, i, f.start_row());
                                        f.end_row();
                                        (fl.end_tag(), f.output().len())
                                    })
                                    .collect();
                                ShardRows::Text(std::mem::take(f.output()), ends)
                            }
                            None => ShardRows::Values(
                                flows
                                    .iter()
                                    .enumerate()
                                    .map(|(i, f)| {
                                        self.row_of(f, &states, i, &mut row);
                                        (f.end_tag(), row.clone())
                                    })
                                    .collect(),
                            ),
                        };
                        (rows, table.take_occupancy())
                    };
                    for epoch in rx.iter() {
                        let b = &epoch.packets;
                        let mut sweeps = epoch.sweeps.iter().peekable();
                        let mut pos = 0usize;
                        with_lookahead(
                            &mut table,
                            &b.items,
                            |t, p| Some(t.keyed(&p.d, p.ports.0, p.ports.1)),
                            |table, p, k| {
                                while let Some(&(_, index, ts_us)) = sweeps.next_if(|s| s.0 <= pos)
                                {
                                    table.sweep_at(index, ts_us);
                                }
                                let k =
                                    k.unwrap_or_else(|| table.keyed(&p.d, p.ports.0, p.ports.1));
                                table.account_keyed(p.index, p.ts_us, &p.d, b.frame(p), k);
                                pos += 1;
                            },
                        );
                        for &(_, index, ts_us) in sweeps {
                            table.sweep_at(index, ts_us);
                        }
                        if otx.send(out_of(&mut table)).is_err() {
                            return;
                        }
                    }
                    table.flush();
                    let _ = otx.send(out_of(&mut table));
                });
            }

            // Dispatcher: read, decode, resolve fragments, route by 5-tuple.
            let dispatch = scope.spawn(move || -> Result<(Stats, ReadEnd, u64)> {
                let mut st = Stats {
                    files: 1,
                    ..Stats::default()
                };
                let mut frags = Fragments::default();
                let mut clock = SweepClock::default();
                let mut epochs: Vec<ShardEpoch> =
                    (0..shards).map(|_| ShardEpoch::default()).collect();
                let mut in_epoch = 0usize;
                let mut stopped = false;
                let end = read_frames(
                    &mut reader,
                    &mut st,
                    self.sample(),
                    |st, index, ts_us, d, frame| {
                        let (sport, dport) = frags.resolve(ts_us, &d);
                        if clock.due(ts_us) {
                            for e in epochs.iter_mut() {
                                e.sweeps.push((e.packets.len(), index, ts_us));
                            }
                        }
                        let (key, _) = crate::flow::FlowKey::new(
                            crate::flow::Endpoint {
                                addr: d.src,
                                port: sport,
                            },
                            crate::flow::Endpoint {
                                addr: d.dst,
                                port: dport,
                            },
                            d.proto,
                            d.v6,
                        );
                        let shard = (std::hash::BuildHasher::hash_one(&hasher, key) % shards as u64)
                            as usize;
                        epochs[shard].packets.push(
                            index,
                            ts_us,
                            d,
                            (sport, dport),
                            frame,
                            self.keep_bytes(&d),
                        );
                        in_epoch += 1;
                        if in_epoch == EPOCH {
                            in_epoch = 0;
                            read_packets.store(st.packets, Ordering::Relaxed);
                            for (e, tx) in epochs.iter_mut().zip(&to_shard) {
                                if tx.send(std::mem::take(e)).is_err() {
                                    stopped = true;
                                }
                            }
                            return !stopped;
                        }
                        true
                    },
                    |_, offset| {
                        read_offset.store(offset, Ordering::Relaxed);
                        true
                    },
                )?;
                if !stopped && in_epoch > 0 {
                    for (e, tx) in epochs.iter_mut().zip(&to_shard) {
                        let _ = tx.send(std::mem::take(e));
                    }
                }
                drop(to_shard);
                Ok((st, end, reader.offset()))
            });

            // Merge: one message per shard per epoch, then one final message.
            let mut flows = 0u64;
            let mut evicted_for_memory = 0u64;
            let mut epochs = 0u64;
            // Flows live across all shards, and the most at any moment.
            let (mut live, mut peak) = (0i64, 0i64);
            let merged = (|| -> Result<()> {
                'epochs: loop {
                    // Every row of the epoch: (tag, shard, start, end) —
                    // a row index for values, a text range for text.
                    let mut rows: Vec<(EndTag, usize, usize, usize)> = Vec::new();
                    let mut outs = Vec::with_capacity(out_rxs.len());
                    let mut moments = Vec::new();
                    for (shard, rx) in out_rxs.iter().enumerate() {
                        match rx.recv() {
                            Ok((r, mut m)) => {
                                match &r {
                                    ShardRows::Values(v) => rows.extend(
                                        v.iter()
                                            .enumerate()
                                            .map(|(k, (tag, _))| (*tag, shard, k, k)),
                                    ),
                                    ShardRows::Text(_, ends) => {
                                        let mut start = 0;
                                        rows.extend(ends.iter().map(|&(tag, end)| {
                                            let r = (tag, shard, start, end);
                                            start = end;
                                            r
                                        }))
                                    }
                                }
                                outs.push(r);
                                moments.append(&mut m);
                            }
                            Err(_) => break 'epochs,
                        }
                    }
                    // At one packet, flows end (sweep, own end) before a
                    // new one starts, as in one table.
                    moments.sort_unstable();
                    for (_, delta) in moments {
                        live += i64::from(delta);
                        peak = peak.max(live);
                    }
                    rows.sort_by_key(|r| r.0);
                    for &(tag, shard, a, b) in &rows {
                        match &outs[shard] {
                            ShardRows::Values(v) => sink.row(&v[a].1)?,
                            ShardRows::Text(text, _) => sink.write_formatted(&text[a..b], 1)?,
                        }
                        evicted_for_memory +=
                            u64::from(tag.kind == crate::flow::KIND_EVICTED_MEMORY);
                    }
                    flows += rows.len() as u64;
                    epochs += 1;
                    if epochs.is_multiple_of(16) {
                        obs.progress(&Progress {
                            path: &path,
                            offset: read_offset.load(Ordering::Relaxed),
                            packets: read_packets.load(Ordering::Relaxed),
                            flows,
                        });
                    }
                }
                Ok(())
            })();
            if let Err(e) = merged {
                drop(out_rxs);
                let _ = dispatch.join();
                return Err(e);
            }
            let (mut st, end, offset) = dispatch
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
            st.flows = flows;
            st.evicted_for_memory = evicted_for_memory;
            st.finish_file(&path, &end, offset, peak as u64, obs);
            Ok(st)
        })
    }
}
