//! Several captures read as one stream (`continue_across_files`): the
//! parts of a rotated capture (`tcpdump -G`/`-C`, `editcap -c`), in the
//! order given, so that a flow spanning two files is one flow.
//!
//! Frames keep their own link type and timestamp; their offsets count the
//! bytes of the parts before them, so progress runs over the whole chain.
//! A damaged part (cut short, corrupt record) keeps its complete packets,
//! and reading goes on with the next part; a part whose first packet is
//! earlier than the latest packet before it is read on as it comes (as
//! packets out of order within one file). Both are noted for the run's
//! warnings ([`Note`]).

use super::{note_link, CaptureReader, Frame, ReadEnd};
use crate::error::Result;
use std::collections::VecDeque;
use std::path::PathBuf;

/// A warning of a chain, given at the end of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    /// The part was damaged (counts as an incomplete file).
    pub damaged: bool,
    /// The one-line warning.
    pub text: String,
}

/// The parts still to read, and where the stream has got to.
pub(super) struct Chain {
    /// Parts not yet read to their end, in order; a part is dropped (its
    /// buffer freed) when it has been read.
    parts: VecDeque<CaptureReader>,
    /// Every part's file, for a second pass (`None`: some part cannot be
    /// read again).
    pub(super) sources: Option<Vec<PathBuf>>,
    /// Number of parts.
    pub(super) count: usize,
    /// Bytes of the parts already read.
    base: u64,
    /// Latest timestamp so far.
    latest: Option<i64>,
}

impl Chain {
    pub(super) fn new(parts: Vec<CaptureReader>) -> Chain {
        let sources = parts.iter().map(|p| p.source.clone()).collect();
        Chain {
            count: parts.len(),
            sources,
            parts: parts.into(),
            base: 0,
            latest: None,
        }
    }

    /// Read every part in turn, as [`CaptureReader::for_each`].
    pub(super) fn for_each(
        &mut self,
        offset: &mut u64,
        links: &mut Vec<u32>,
        notes: &mut Vec<Note>,
        // `dyn`: a chain's parts are readers too, whose `for_each` must
        // not be instantiated anew for every level.
        on_frame: &mut dyn FnMut(&Frame<'_>) -> bool,
        on_unknown_interface: &mut dyn FnMut(),
    ) -> Result<ReadEnd> {
        while let Some(part) = self.parts.front_mut() {
            let base = self.base;
            let before = self.latest;
            let mut latest = self.latest;
            let mut first: Option<i64> = None;
            let end = part.for_each(
                |f| {
                    if first.is_none() {
                        first = Some(f.ts_us);
                    }
                    latest = Some(latest.map_or(f.ts_us, |l| l.max(f.ts_us)));
                    on_frame(&Frame {
                        offset: base + f.offset,
                        ..*f
                    })
                },
                &mut *on_unknown_interface,
            )?;
            self.latest = latest;
            *offset = base + part.offset();
            for &lt in part.link_types() {
                note_link(links, lt);
            }
            if let (Some(b), Some(f)) = (before, first) {
                if f < b {
                    notes.push(Note {
                        damaged: false,
                        text: format!(
                            "{}: its first packet ({}) is earlier than the latest packet of the files before it ({}); read on as one stream with these packets out of order (continue_across_files expects the parts in time order)",
                            part.path().display(),
                            seconds(f),
                            seconds(b)
                        ),
                    });
                }
            }
            match end {
                ReadEnd::Stopped => return Ok(ReadEnd::Stopped),
                ReadEnd::Complete => {}
                ReadEnd::Truncated { .. } | ReadEnd::Corrupt { .. } => {
                    if let Some(w) = end.warning(part.path()) {
                        let more = if self.parts.len() > 1 {
                            "; went on with the next file"
                        } else {
                            ""
                        };
                        notes.push(Note {
                            damaged: true,
                            text: format!("{w}{more}"),
                        });
                    }
                }
            }
            self.base = *offset;
            self.parts.pop_front();
        }
        Ok(ReadEnd::Complete)
    }
}

/// Microseconds as Unix seconds with 6 decimals.
fn seconds(us: i64) -> String {
    format!(
        "{}.{:06} s",
        us.div_euclid(1_000_000),
        us.rem_euclid(1_000_000)
    )
}
