//! Writing an export's file past the page cache (`O_DIRECT`) where the system allows it. A
//! dataset is gigabytes written once; copying it into fresh page-cache pages was most of the
//! writing thread's time (4.9 of its 5.4 CPU s at 1M calls), and those pages crowd out the
//! store's own. Whole aligned blocks go straight to the device; the last partial block, and
//! everything on a file system that refuses direct writes, goes through the page cache as
//! usual. The bytes in the file are the same either way.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Direct writes must start at, and cover, multiples of the device's logical block size in
/// memory and in the file: 4096 covers the usual 512 and 4096.
const ALIGN: usize = 4096;

/// Bytes gathered before a write (a multiple of [`ALIGN`]).
const BLOCK: usize = 1 << 20;

/// A [`Write`] to a file, in [`BLOCK`]s written directly where the file system allows it.
pub struct DirectWriter {
    /// The file opened for direct writes; `None` where that is refused.
    direct: Option<File>,
    /// The same file, written through the page cache (the tail; the fallback).
    plain: File,
    /// `BLOCK + ALIGN` bytes: the block starts at `start`, the first aligned address.
    buffer: Vec<u8>,
    start: usize,
    /// Bytes of the block filled.
    filled: usize,
    /// Bytes in the file so far.
    written: u64,
}

impl std::fmt::Debug for DirectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectWriter")
            .field("direct", &self.direct.is_some())
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl DirectWriter {
    /// Writes to `file` (open for writing, empty), found at `path`, directly when the file
    /// system lets `path` be opened so.
    pub fn new(file: File, path: &Path) -> Self {
        let direct = open_direct(path);
        Self::with(file, direct)
    }

    fn with(plain: File, direct: Option<File>) -> Self {
        let buffer = vec![0u8; BLOCK + ALIGN];
        let start = buffer.as_ptr().align_offset(ALIGN);
        Self {
            direct,
            plain,
            buffer,
            start,
            filled: 0,
            written: 0,
        }
    }

    /// Whether blocks are going straight to the device.
    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// Writes the first `len` bytes of the block at the end of the file, then moves what is
    /// left of the block to its start.
    fn write_block(&mut self, len: usize) -> io::Result<()> {
        let mut done = 0;
        while done < len {
            let at = self.written + done as u64;
            // Direct only from an aligned offset for a whole number of blocks: a short write
            // (rare) leaves the rest to the page cache.
            let direct = self.direct.is_some()
                && at.is_multiple_of(ALIGN as u64)
                && done.is_multiple_of(ALIGN)
                && (len - done).is_multiple_of(ALIGN);
            let bytes = &self.buffer[self.start + done..self.start + len];
            let result = match (&self.direct, direct) {
                (Some(file), true) => file.write_at(bytes, at),
                _ => self.plain.write_at(bytes, at),
            };
            match result {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A file system that opens files for direct writes but refuses them.
                Err(e) if direct && e.raw_os_error() == Some(libc::EINVAL) => {
                    tracing::debug!("direct writes refused ({e}): writing through the page cache");
                    self.direct = None;
                }
                Err(e) => return Err(e),
            }
        }
        self.written += len as u64;
        self.buffer
            .copy_within(self.start + len..self.start + self.filled, self.start);
        self.filled -= len;
        Ok(())
    }
}

/// `path` opened for direct writes, where the system has them.
#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path) -> Option<File> {
    None
}

impl Write for DirectWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = BLOCK - self.filled;
        let n = room.min(data.len());
        let at = self.start + self.filled;
        self.buffer[at..at + n].copy_from_slice(&data[..n]);
        self.filled += n;
        if self.filled == BLOCK {
            self.write_block(BLOCK)?;
        }
        Ok(n)
    }

    /// Writes everything gathered: whole aligned blocks directly, the rest through the page
    /// cache (later writes then go that way too, unless the file ends aligned again).
    fn flush(&mut self) -> io::Result<()> {
        let aligned = self.filled - self.filled % ALIGN;
        if aligned > 0 {
            self.write_block(aligned)?;
        }
        if self.filled > 0 {
            self.write_block(self.filled)?;
        }
        Ok(())
    }
}

impl Drop for DirectWriter {
    /// Like `BufWriter`: what was gathered is written, errors ignored (call `flush` to see
    /// them).
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Writes `pieces` through a writer on a new file (directly when `direct` and the file
    /// system allows), flushing where asked; returns the file's bytes and whether blocks went
    /// directly.
    fn write_through(pieces: &[(Vec<u8>, bool)], direct: bool) -> (Vec<u8>, bool) {
        let dir = scratch();
        let path = dir.path().join("out.jsonl");
        let file = File::create(&path).unwrap();
        let mut writer = if direct {
            DirectWriter::new(file, &path)
        } else {
            DirectWriter::with(file, None)
        };
        for (piece, flush) in pieces {
            writer.write_all(piece).unwrap();
            if *flush {
                writer.flush().unwrap();
            }
        }
        writer.flush().unwrap();
        let was_direct = writer.is_direct();
        drop(writer);
        (std::fs::read(&path).unwrap(), was_direct)
    }

    #[test]
    fn the_file_holds_every_byte_in_order_whether_written_directly_or_not() {
        let mut rng = StdRng::seed_from_u64(3);
        // Lines of every size around the alignment and block sizes, a few flushes midway.
        let pieces: Vec<(Vec<u8>, bool)> = (0..400)
            .map(|i| {
                let len = match i % 5 {
                    0 => rng.gen_range(0..10),
                    1 => rng.gen_range(ALIGN - 3..ALIGN + 3),
                    2 => rng.gen_range(1..BLOCK / 3),
                    _ => rng.gen_range(100..8_000),
                };
                let piece: Vec<u8> = (0..len).map(|_| rng.r#gen::<u8>()).collect();
                (piece, i == 150 || i == 151 || i == 300)
            })
            .collect();
        let expected: Vec<u8> = pieces.iter().flat_map(|(p, _)| p.clone()).collect();
        assert!(expected.len() > 4 * BLOCK && !expected.len().is_multiple_of(ALIGN));
        let (plain, _) = write_through(&pieces, false);
        assert_eq!(plain, expected);
        let (direct, was_direct) = write_through(&pieces, true);
        assert_eq!(direct, expected);
        // The file system of the build directory here (ext4) takes direct writes; where one
        // does not, the page cache path above is what runs.
        if cfg!(target_os = "linux") && direct_writes_work() {
            assert!(was_direct, "blocks went through the page cache");
        }
    }

    /// A directory beside the test binary, on the build's file system (/tmp may be one
    /// without direct writes).
    fn scratch() -> tempfile::TempDir {
        let exe = std::env::current_exe().unwrap();
        tempfile::tempdir_in(exe.parent().unwrap()).unwrap()
    }

    /// Whether a block can be written directly in the scratch directory.
    fn direct_writes_work() -> bool {
        let dir = scratch();
        let path = dir.path().join("probe");
        File::create(&path).unwrap();
        let Some(file) = open_direct(&path) else {
            return false;
        };
        let buffer = vec![7u8; 2 * ALIGN];
        let start = buffer.as_ptr().align_offset(ALIGN);
        file.write_at(&buffer[start..start + ALIGN], 0).is_ok()
    }

    #[test]
    fn an_empty_export_is_an_empty_file() {
        let (bytes, _) = write_through(&[], true);
        assert!(bytes.is_empty());
    }
}
