//! Running a [`Pipeline`] on several threads with output byte-identical to
//! one thread.
//!
//! - Several files: each file is processed by one worker; rows come back
//!   through bounded channels and are written in input order (a worker that
//!   runs ahead blocks, so memory stays bounded).
//! - One file with `max_concurrent_flows` (a global limit): reading and
//!   decoding run on one thread, the flow table and the extractors on
//!   another; packets keep their order.
//! - One file (the default): a dispatcher reads, decodes and resolves
//!   fragments, then sends each packet to the shard that owns its 5-tuple
//!   (by hash). Every shard is a flow table of its own; the dispatcher also
//!   sends every shard the same idle-sweep moments, taken from the global
//!   packet sequence, so each flow ends exactly when it would in one table.
//!   Work goes in epochs of packets; the rows of an epoch are put in the
//!   order of their [`EndTag`] (packet index of the end, kind, first packet),
//!   which is the single-table order.

use crate::capture::{CaptureReader, ReadEnd};
use crate::decode::{decode, Decoded};
use crate::error::{Error, Result, SkipReason};
use crate::features::{Column, Value};
use crate::flow::{with_lookahead, EndTag, Flow, Fragments, SweepClock};
use crate::output::Sink;
use crate::pipeline::{Observer, Pipeline, Progress, Stats};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

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
    Warning(String),
    Progress {
        offset: u64,
        packets: u64,
        flows: u64,
    },
    Done(Result<Stats>),
}

/// Sends rows to the writing thread in batches.
struct ChannelSink {
    tx: SyncSender<FileMsg>,
    batch: Vec<Vec<Value>>,
}

impl ChannelSink {
    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let b = std::mem::replace(&mut self.batch, Vec::with_capacity(ROW_BATCH));
        self.tx.send(FileMsg::Rows(b)).map_err(|_| stopped())
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
        self.batch.push(values.to_vec());
        if self.batch.len() >= ROW_BATCH {
            self.flush()?;
        }
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        self.flush()
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
    pub fn run_readers(
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
                total.merge(&self.process(r, sink, obs)?);
            }
            total
        } else if readers.len() > 1 {
            self.run_files_parallel(readers, sink, obs, threads)?
        } else {
            let mut total = Stats::default();
            for r in readers {
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
        let jobs = Mutex::new(readers.into_iter().map(Some).zip(txs).collect::<Vec<_>>());
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads.min(n) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let (reader, tx) = {
                        let mut j = jobs.lock().expect("job list lock");
                        (j[i].0.take(), j[i].1.take())
                    };
                    let (Some(reader), Some(tx)) = (reader, tx) else {
                        continue;
                    };
                    let mut sink = ChannelSink {
                        tx: tx.clone(),
                        batch: Vec::with_capacity(ROW_BATCH),
                    };
                    let mut o = ChannelObserver(tx.clone());
                    let res = self
                        .process(reader, &mut sink, &mut o)
                        .and_then(|st| sink.finish().map(|_| st));
                    let _ = tx.send(FileMsg::Done(res));
                });
            }
            // Write in input order; on error, dropping the receivers stops the workers.
            let mut total = Stats::default();
            let mut rxs = rxs.into_iter();
            let result = (|| {
                for (i, rx) in rxs.by_ref().enumerate() {
                    loop {
                        match rx.recv() {
                            Ok(FileMsg::Rows(rows)) => {
                                for r in &rows {
                                    sink.row(r)?;
                                }
                            }
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
    /// rows of ended flows; the other runs the flow table. (Rows are
    /// written here because the table is the larger half of the work.)
    fn process_split(
        &self,
        mut reader: CaptureReader,
        sink: &mut dyn Sink,
        obs: &mut dyn Observer,
    ) -> Result<Stats> {
        type Batch = Vec<(i64, std::result::Result<Decoded, SkipReason>)>;
        let path = reader.path().to_path_buf();
        let (tx, rx) = sync_channel::<Batch>(PACKET_CHANNEL);
        let (back_tx, back_rx) = sync_channel::<Batch>(PACKET_CHANNEL + 2);
        // Unbounded, yet bounded in practice: the table ends flows only as
        // fast as it gets packets, at most PACKET_CHANNEL batches ahead of
        // this thread, which writes what has ended after every batch.
        let (flow_tx, flow_rx) = std::sync::mpsc::channel::<Vec<Flow>>();
        std::thread::scope(|scope| {
            let building = scope.spawn(move || -> u64 {
                let mut table = self.table();
                let mut index = 0u64;
                let mut ended: Vec<Flow> = Vec::new();
                for mut batch in rx.iter() {
                    with_lookahead(
                        &mut table,
                        &batch,
                        |t, (_, d)| d.as_ref().ok().map(|d| t.keyed(d, d.sport, d.dport)),
                        |table, (ts, d), k| {
                            if let Ok(d) = d {
                                let k = k.unwrap_or_else(|| table.keyed(d, d.sport, d.dport));
                                table.process_keyed(index, *ts, d, k);
                                ended.append(table.finished());
                            }
                            index += 1;
                        },
                    );
                    if !ended.is_empty() && flow_tx.send(std::mem::take(&mut ended)).is_err() {
                        return table.peak() as u64;
                    }
                    batch.clear();
                    let _ = back_tx.try_send(batch);
                }
                table.flush();
                let _ = flow_tx.send(std::mem::take(table.finished()));
                table.peak() as u64
            });

            let mut st = Stats {
                files: 1,
                ..Stats::default()
            };
            let mut row = Vec::with_capacity(self.columns().len());
            let mut write = |flows: Vec<Flow>, st: &mut Stats| -> Result<()> {
                for flow in flows {
                    self.row_of(&flow, &mut row);
                    sink.row(&row)?;
                    st.flows += 1;
                }
                Ok(())
            };
            let mut sink_err: Option<Error> = None;
            let mut batch: Batch = Vec::with_capacity(PACKET_BATCH);
            let mut batches = 0u64;
            let mut unknown_if = 0u64;
            let read = reader.for_each(
                |f| {
                    st.packets += 1;
                    let d = decode(f.link_type, f.data, f.orig_len);
                    match &d {
                        Ok(_) => st.decoded += 1,
                        Err(reason) => st.skipped[*reason as usize] += 1,
                    }
                    batch.push((f.ts_us, d));
                    if batch.len() == PACKET_BATCH {
                        let fresh = back_rx
                            .try_recv()
                            .unwrap_or_else(|_| Vec::with_capacity(PACKET_BATCH));
                        if tx.send(std::mem::replace(&mut batch, fresh)).is_err() {
                            return false;
                        }
                        while let Ok(flows) = flow_rx.try_recv() {
                            if let Err(e) = write(flows, &mut st) {
                                sink_err = Some(e);
                                return false;
                            }
                        }
                        batches += 1;
                        if batches.is_multiple_of(16) {
                            obs.progress(&Progress {
                                path: &path,
                                offset: f.offset,
                                packets: st.packets,
                                flows: st.flows,
                            });
                        }
                    }
                    true
                },
                || unknown_if += 1,
            );
            if read.is_ok() && sink_err.is_none() && !batch.is_empty() {
                let _ = tx.send(batch);
            }
            drop(tx);
            if read.is_ok() && sink_err.is_none() {
                // Until the table has flushed and hung up.
                for flows in flow_rx.iter() {
                    if let Err(e) = write(flows, &mut st) {
                        sink_err = Some(e);
                        break;
                    }
                }
            }
            drop(flow_rx);
            let peak = building
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            let end = read?;
            if let Some(e) = sink_err {
                return Err(e);
            }
            st.skipped[SkipReason::UnknownInterface as usize] += unknown_if;
            st.finish_file(&path, &end, reader.offset(), peak, obs);
            Ok(st)
        })
    }
}

/// Packets per epoch of a sharded run.
const EPOCH: usize = 8192;

/// What the dispatcher sends a shard for one epoch.
enum ShardItem {
    Packet {
        index: u64,
        ts_us: i64,
        d: Decoded,
        sport: u16,
        dport: u16,
    },
    Sweep {
        index: u64,
        ts_us: i64,
    },
}

type TaggedRows = Vec<(EndTag, Vec<Value>)>;

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
        let mut from_shard = Vec::with_capacity(shards);
        let mut shard_inputs = Vec::with_capacity(shards);
        for _ in 0..shards {
            let (tx, rx) = sync_channel::<Vec<ShardItem>>(4);
            to_shard.push(tx);
            shard_inputs.push(rx);
            let (otx, orx) = sync_channel::<(TaggedRows, usize)>(4);
            from_shard.push((otx, orx));
        }
        let (out_txs, out_rxs): (Vec<_>, Vec<_>) = from_shard.into_iter().unzip();
        let hasher = foldhash::fast::FixedState::with_seed(0x6a6a);
        // Bytes read so far, for progress reports.
        let read_offset = std::sync::atomic::AtomicU64::new(0);
        let read_offset = &read_offset;
        std::thread::scope(|scope| {
            // Shard workers: one flow table each.
            for (rx, otx) in shard_inputs.into_iter().zip(out_txs) {
                scope.spawn(move || {
                    let mut table = self.table();
                    let mut row = Vec::new();
                    let mut rows_of = |table: &mut crate::flow::FlowTable| -> TaggedRows {
                        table
                            .finished()
                            .drain(..)
                            .map(|f| {
                                self.row_of(&f, &mut row);
                                (f.end_tag(), row.clone())
                            })
                            .collect()
                    };
                    for items in rx.iter() {
                        with_lookahead(
                            &mut table,
                            &items,
                            |table, it| match it {
                                ShardItem::Packet {
                                    d, sport, dport, ..
                                } => Some(table.keyed(d, *sport, *dport)),
                                ShardItem::Sweep { .. } => None,
                            },
                            |table, it, k| match it {
                                ShardItem::Packet {
                                    index,
                                    ts_us,
                                    d,
                                    sport,
                                    dport,
                                } => {
                                    let k = k.unwrap_or_else(|| table.keyed(d, *sport, *dport));
                                    table.account_keyed(*index, *ts_us, d, k)
                                }
                                ShardItem::Sweep { index, ts_us } => table.sweep_at(*index, *ts_us),
                            },
                        );
                        let out = rows_of(&mut table);
                        if otx.send((out, table.peak())).is_err() {
                            return;
                        }
                    }
                    table.flush();
                    let out = rows_of(&mut table);
                    let _ = otx.send((out, table.peak()));
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
                let mut batches: Vec<Vec<ShardItem>> = (0..shards).map(|_| Vec::new()).collect();
                let mut index = 0u64;
                let mut in_epoch = 0usize;
                let mut unknown_if = 0u64;
                let mut stopped = false;
                let end = reader.for_each(
                    |f| {
                        st.packets += 1;
                        match decode(f.link_type, f.data, f.orig_len) {
                            Ok(d) => {
                                st.decoded += 1;
                                let (sport, dport) = frags.resolve(f.ts_us, &d);
                                if clock.due(f.ts_us) {
                                    for b in batches.iter_mut() {
                                        b.push(ShardItem::Sweep {
                                            index,
                                            ts_us: f.ts_us,
                                        });
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
                                let shard = (std::hash::BuildHasher::hash_one(&hasher, key)
                                    % shards as u64)
                                    as usize;
                                batches[shard].push(ShardItem::Packet {
                                    index,
                                    ts_us: f.ts_us,
                                    d,
                                    sport,
                                    dport,
                                });
                            }
                            Err(reason) => st.skipped[reason as usize] += 1,
                        }
                        index += 1;
                        in_epoch += 1;
                        if in_epoch == EPOCH {
                            in_epoch = 0;
                            read_offset.store(f.offset, Ordering::Relaxed);
                            for (b, tx) in batches.iter_mut().zip(&to_shard) {
                                if tx.send(std::mem::take(b)).is_err() {
                                    stopped = true;
                                }
                            }
                            if stopped {
                                return false;
                            }
                        }
                        true
                    },
                    || unknown_if += 1,
                )?;
                if !stopped && in_epoch > 0 {
                    for (b, tx) in batches.iter_mut().zip(&to_shard) {
                        let _ = tx.send(std::mem::take(b));
                    }
                }
                drop(to_shard);
                st.skipped[SkipReason::UnknownInterface as usize] += unknown_if;
                Ok((st, end, reader.offset()))
            });

            // Merge: one message per shard per epoch, then one final message.
            let mut flows = 0u64;
            let mut peaks = vec![0usize; shards];
            let mut epochs = 0u64;
            let merged = (|| -> Result<()> {
                'epochs: loop {
                    let mut rows: TaggedRows = Vec::new();
                    for (i, rx) in out_rxs.iter().enumerate() {
                        match rx.recv() {
                            Ok((mut r, peak)) => {
                                peaks[i] = peak;
                                rows.append(&mut r);
                            }
                            Err(_) => break 'epochs,
                        }
                    }
                    rows.sort_by_key(|(tag, _)| *tag);
                    for (_, r) in &rows {
                        sink.row(r)?;
                    }
                    flows += rows.len() as u64;
                    epochs += 1;
                    if epochs.is_multiple_of(16) {
                        obs.progress(&Progress {
                            path: &path,
                            offset: read_offset.load(Ordering::Relaxed),
                            packets: epochs * EPOCH as u64,
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
            let peak = peaks.iter().sum::<usize>() as u64;
            st.finish_file(&path, &end, offset, peak, obs);
            Ok(st)
        })
    }
}
