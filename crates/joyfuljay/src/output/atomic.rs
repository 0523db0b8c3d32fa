//! Output files that appear only when complete.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary files of the [`OutputFile`]s alive in this process, so that a
/// process leaving at once (a second Ctrl-C) can still remove them
/// ([`remove_temp_files`]).
static TEMP_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temp_files() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    TEMP_FILES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Track another temporary file for [`remove_temp_files`] (the spooled
/// input of a two-pass run).
pub(crate) fn track_temp_file(p: &Path) {
    temp_files().push(p.to_path_buf());
}

/// Stop tracking a temporary file (it is being removed).
pub(crate) fn untrack_temp_file(p: &Path) {
    temp_files().retain(|t| t != p);
}

/// Directories created for a partitioned dataset not yet committed,
/// outermost first (removed by [`remove_temp_files`] when empty).
static TEMP_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub(crate) fn temp_dirs() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    TEMP_DIRS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Remove the temporary file of every [`OutputFile`] not yet committed or
/// dropped, then the directories a partitioned dataset created for them
/// (when empty): for a process about to exit without running destructors.
pub fn remove_temp_files() {
    for p in temp_files().drain(..) {
        let _ = std::fs::remove_file(p);
    }
    for d in temp_dirs().drain(..).rev() {
        let _ = std::fs::remove_dir(d);
    }
}

/// A file being written. Regular files are written to a temporary file in
/// the same directory and renamed over the target by [`OutputFile::commit`];
/// dropped without a commit, the temporary file is removed and the target is
/// untouched. Existing non-regular files (`/dev/null`, a named pipe, a
/// terminal) are written directly.
pub struct OutputFile {
    target: PathBuf,
    inner: Inner,
}

enum Inner {
    Temp(tempfile::NamedTempFile),
    Direct(File),
    /// Committed.
    Done,
}

impl OutputFile {
    /// Prepare to write `target`.
    pub fn create(target: &Path) -> Result<OutputFile> {
        let err = |e: std::io::Error| Error::Output {
            target: target.display().to_string(),
            source: e,
        };
        match std::fs::metadata(target) {
            Ok(m) if m.is_dir() => {
                return Err(err(std::io::Error::other("is a directory")));
            }
            Ok(m) if !m.is_file() => {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(target)
                    .map_err(err)?;
                return Ok(OutputFile {
                    target: target.to_path_buf(),
                    inner: Inner::Direct(f),
                });
            }
            _ => {}
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            // tempfile's message names the temporary file; keep only the cause.
            .map_err(|e| err(std::io::Error::new(e.kind(), plain_io_message(&e))))?;
        temp_files().push(tmp.path().to_path_buf());
        Ok(OutputFile {
            target: target.to_path_buf(),
            inner: Inner::Temp(tmp),
        })
    }

    /// A second handle for writing (shares the file position).
    pub fn writer(&self) -> Result<File> {
        let f = match &self.inner {
            Inner::Temp(t) => t.as_file().try_clone(),
            Inner::Direct(f) => f.try_clone(),
            Inner::Done => Err(std::io::Error::other("already committed")),
        };
        f.map_err(|e| Error::Output {
            target: self.target.display().to_string(),
            source: e,
        })
    }

    /// Flush to disk and move the file into place.
    pub fn commit(mut self) -> Result<()> {
        self.forget_temp();
        let target = std::mem::take(&mut self.target);
        let inner = std::mem::replace(&mut self.inner, Inner::Done);
        let err = |e: std::io::Error| Error::Output {
            target: target.display().to_string(),
            source: e,
        };
        match inner {
            Inner::Done => Ok(()),
            Inner::Direct(mut f) => f.flush().map_err(err),
            Inner::Temp(t) => {
                t.as_file().sync_all().map_err(err)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(&target)
                        .map(|m| m.permissions().mode())
                        .unwrap_or(0o644);
                    let _ = t
                        .as_file()
                        .set_permissions(std::fs::Permissions::from_mode(mode));
                }
                t.persist(&target).map_err(|e| err(e.error))?;
                Ok(())
            }
        }
    }
}

impl OutputFile {
    /// Take this file's temporary file off the process-wide list.
    fn forget_temp(&self) {
        if let Inner::Temp(t) = &self.inner {
            temp_files().retain(|p| p != t.path());
        }
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        // The temporary file itself is removed by `NamedTempFile`'s drop.
        self.forget_temp();
    }
}

/// The OS description of an I/O error without any path tempfile adds.
fn plain_io_message(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
        None => e.kind().to_string(),
    }
}
