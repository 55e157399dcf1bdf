//! What a file looks like on disk: a cheap stat key and the content hash that decides.

use std::fs;
use std::io;
use std::path::Path;

/// The parts of `stat` that change when a file is written or replaced. Any difference
/// (including an mtime that moves backwards) sends the file to be hashed again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatKey {
    pub mtime_ns: i64,
    pub size: u64,
    pub inode: u64,
}

impl StatKey {
    pub fn of(path: &Path) -> io::Result<StatKey> {
        let meta = fs::metadata(path)?;
        Ok(StatKey::from_metadata(&meta))
    }

    /// The stat key of the file `path` leads to, and whether `path` itself is a symbolic
    /// link: one `lstat` for a plain file (the usual case), two for a link.
    pub fn of_and_is_link(path: &Path) -> io::Result<(StatKey, bool)> {
        let meta = fs::symlink_metadata(path)?;
        if meta.file_type().is_symlink() {
            return Ok((StatKey::of(path)?, true));
        }
        Ok((StatKey::from_metadata(&meta), false))
    }

    #[cfg(unix)]
    fn from_metadata(meta: &fs::Metadata) -> StatKey {
        use std::os::unix::fs::MetadataExt;
        StatKey {
            // Nanoseconds in an i64 reach the year 2262.
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            size: meta.size(),
            inode: meta.ino(),
        }
    }

    #[cfg(not(unix))]
    fn from_metadata(meta: &fs::Metadata) -> StatKey {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        StatKey {
            mtime_ns,
            size: meta.len(),
            inode: 0,
        }
    }

    /// The key of a `stat` the caller made itself (see `dir_stats`): the same fields
    /// as `from_metadata` reads.
    #[cfg(target_os = "linux")]
    #[allow(clippy::unnecessary_cast)] // the field types differ between targets
    pub(crate) fn from_stat(stat: &libc::stat) -> StatKey {
        StatKey {
            mtime_ns: stat.st_mtime as i64 * 1_000_000_000 + stat.st_mtime_nsec as i64,
            size: stat.st_size as u64,
            inode: stat.st_ino as u64,
        }
    }

    /// Seconds since the epoch, as `os.stat().st_mtime` gives it.
    pub fn mtime_seconds(&self) -> f64 {
        self.mtime_ns as f64 / 1e9
    }
}

/// A hash of a file's bytes (or a statement's tokens): equal hashes mean nothing changed.
///
/// The first 128 bits of blake3: collisions between versions of one file are out of
/// reach, and at half the size it keeps outlines (one per statement) small.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentHash([u8; 16]);

impl ContentHash {
    pub fn of(bytes: &[u8]) -> ContentHash {
        let full = blake3::hash(bytes);
        let mut short = [0; 16];
        short.copy_from_slice(&full.as_bytes()[..16]);
        ContentHash(short)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    pub fn from_bytes(bytes: [u8; 16]) -> ContentHash {
        ContentHash(bytes)
    }

    pub fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A file as read once: the stat taken before reading, the bytes and their hash.
///
/// The stat is taken first so that a write racing with the read leaves a stat that is
/// older than the content, and the next check looks at the file again.
#[derive(Debug)]
pub struct Snapshot {
    pub stat: StatKey,
    pub bytes: Vec<u8>,
    pub hash: ContentHash,
}

impl Snapshot {
    pub fn read(path: &Path) -> io::Result<Snapshot> {
        let stat = StatKey::of(path)?;
        let bytes = fs::read(path)?;
        let hash = ContentHash::of(&bytes);
        Ok(Snapshot { stat, bytes, hash })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_bytes_hash_equal() {
        assert_eq!(ContentHash::of(b"x = 1\n"), ContentHash::of(b"x = 1\n"));
        assert_ne!(ContentHash::of(b"x = 1\n"), ContentHash::of(b"x = 2\n"));
        assert_eq!(ContentHash::of(b"").to_hex().len(), 32);
    }

    #[test]
    fn snapshot_reads_stat_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.py");
        fs::write(&path, b"x = 1\n").unwrap();
        let snap = Snapshot::read(&path).unwrap();
        assert_eq!(snap.bytes, b"x = 1\n");
        assert_eq!(snap.stat.size, 6);
        assert_eq!(snap.hash, ContentHash::of(b"x = 1\n"));
        assert_eq!(snap.stat, StatKey::of(&path).unwrap());
    }

    #[test]
    fn missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Snapshot::read(&dir.path().join("gone.py")).is_err());
    }
}
