//! File access confined to the vault: every read, write, rename, delete and walk opens its path
//! relative to a directory handle of the vault root, one component at a time, with `O_NOFOLLOW`
//! at every step.
//!
//! Checking a path and then opening it is a race (TOCTOU): a folder can be swapped for a
//! symbolic link between the two (`renameat2(RENAME_EXCHANGE)` does it atomically). Opening each
//! component with `openat(parent, name, O_NOFOLLOW)` closes that race: a symbolic link anywhere
//! on the way fails the open with `ELOOP`, whatever happened before, so no byte outside the vault
//! is ever read or written through a path of the vault. The same handles serve temporary files
//! (created `O_EXCL` beside their target), renames (`renameat2` between folder handles) and the
//! watcher's events (a path is indexed only if this module can open it).
//!
//! [`VaultPath`]s are NFC; the file system may hold a name in another normalisation (macOS writes
//! NFD). A component that is not found under its NFC spelling is looked up among the folder's
//! entries by its NFC form, so a note named in NFD is read and replaced under its own name instead
//! of gaining an NFC twin.
//!
//! Replacing a file that must still have a known content hash (`If-Match`, and every
//! read-modify-write) exchanges the new file in with `RENAME_EXCHANGE` and then checks the file it
//! displaced: if another program changed it after the caller read it, the exchange is undone and
//! the write reports a conflict, so the other program's edit survives. What remains: a program
//! that opened the old file before the exchange and writes to it after the check writes into the
//! displaced file (a window of microseconds, not the read-modify-write time).

use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use unicode_normalization::UnicodeNormalization;
use weaver_core::{VaultPath, content_hash};

/// Prefix of the temporary files of writes; with [`TEMP_SUFFIX`], what start-up cleans away.
pub(crate) const TEMP_PREFIX: &str = ".weaver-write-";
/// Suffix of the temporary files of writes.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";
/// Temporary files older than this are leftovers of a crash (a write takes milliseconds).
const STALE_TEMP: Duration = Duration::from_secs(60);

/// Why a file operation inside the vault failed.
#[derive(Debug)]
pub(crate) enum FsError {
    /// The file, or a folder on its way, does not exist.
    NotFound,
    /// A component of the path is a symbolic link.
    Symlink,
    /// A folder on the way is a file, or the path names a folder or a special file where a
    /// regular file is needed.
    WrongType,
    /// The destination of a create or a move exists.
    Exists,
    /// A name is longer than the file system allows.
    NameTooLong,
    /// The file is larger than the caller accepts.
    TooLarge(u64),
    /// Any other failure of the operating system.
    Io(std::io::Error),
}

impl From<Errno> for FsError {
    fn from(errno: Errno) -> Self {
        match errno {
            Errno::NOENT => Self::NotFound,
            Errno::LOOP => Self::Symlink,
            Errno::NOTDIR | Errno::ISDIR => Self::WrongType,
            Errno::EXIST | Errno::NOTEMPTY => Self::Exists,
            Errno::NAMETOOLONG => Self::NameTooLong,
            other => Self::Io(other.into()),
        }
    }
}

impl From<std::io::Error> for FsError {
    fn from(error: std::io::Error) -> Self {
        match error.raw_os_error() {
            Some(code) => Errno::from_raw_os_error(code).into(),
            None => Self::Io(error),
        }
    }
}

impl std::fmt::Display for FsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound => f.write_str("not found"),
            Self::Symlink => f.write_str("goes through a symbolic link"),
            Self::WrongType => f.write_str("not a regular file or folder where one is expected"),
            Self::Exists => f.write_str("already exists"),
            Self::NameTooLong => f.write_str("a name is too long for the file system"),
            Self::TooLarge(size) => write!(f, "too large ({size} bytes)"),
            Self::Io(error) => error.fmt(f),
        }
    }
}

/// How a write may replace what is at its path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Replace<'a> {
    /// Whatever is there (or nothing).
    Any,
    /// Only if nothing is there.
    Absent,
    /// Only a file with this content hash.
    Matching(&'a str),
}

/// Why a write did not land.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The file system refused.
    Fs(FsError),
    /// `Replace::Absent` found a file.
    Exists,
    /// `Replace::Matching` found other content (its hash), or no file.
    Changed(Option<String>),
}

impl From<FsError> for WriteError {
    fn from(error: FsError) -> Self {
        Self::Fs(error)
    }
}

impl From<Errno> for WriteError {
    fn from(errno: Errno) -> Self {
        Self::Fs(errno.into())
    }
}

/// What [`VaultFs::stat`] saw at a path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// Regular file, folder, symbolic link, ...
    pub kind: FileType,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: i64,
}

impl Entry {
    // `st_mtime` is `i64` on 64-bit Linux but not on every target.
    #[allow(clippy::useless_conversion)]
    fn of(stat: &Stat) -> Self {
        let mtime_ns = i64::try_from(stat.st_mtime)
            .ok()
            .and_then(|s| s.checked_mul(1_000_000_000))
            .and_then(|ns| ns.checked_add(i64::try_from(stat.st_mtime_nsec).ok()?))
            .unwrap_or(0);
        Self {
            kind: FileType::from_raw_mode(stat.st_mode),
            size: u64::try_from(stat.st_size).unwrap_or(0),
            mtime_ns,
        }
    }

    /// True for a regular file.
    pub fn is_file(&self) -> bool {
        self.kind == FileType::RegularFile
    }

    /// True for a folder.
    pub fn is_dir(&self) -> bool {
        self.kind == FileType::Directory
    }
}

/// A file found by [`VaultFs::walk`].
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// Its vault path (NFC).
    pub path: VaultPath,
    /// What it is.
    pub entry: Entry,
}

/// What a walk saw besides the files.
#[derive(Debug, Default)]
pub(crate) struct WalkExtras {
    /// Vault paths under which more than one name exists on disk (NFC and NFD spellings).
    pub twins: Vec<VaultPath>,
    /// Temporary files of writes left behind by a crash (vault-relative, as on disk).
    pub stale_temps: Vec<String>,
}

/// The vault folder as a directory handle. All file access of the engine goes through it.
#[derive(Debug)]
pub struct VaultFs {
    root: PathBuf,
    dir: OwnedFd,
}

impl VaultFs {
    /// Opens the vault folder `root` (which may itself be reached through symbolic links: the
    /// operator chose it).
    pub(crate) fn open(root: &Path) -> std::io::Result<Self> {
        let dir = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Self {
            root: root.to_path_buf(),
            dir,
        })
    }

    /// The vault folder, for messages and for the watcher.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads the whole file at `path`; refuses symbolic links, folders and special files.
    pub(crate) fn read(&self, path: &VaultPath) -> Result<Vec<u8>, FsError> {
        self.read_limited(path, u64::MAX)
    }

    /// Reads the file at `path` if it is at most `max` bytes.
    pub(crate) fn read_limited(&self, path: &VaultPath, max: u64) -> Result<Vec<u8>, FsError> {
        let (dir, name) = self.locate(path, false)?;
        read_at(dir.as_fd(), &name, max)
    }

    /// The first `max` bytes of the file at `path` (all of it when shorter), as an I/O result:
    /// for readers that want bytes the index already knows the length of.
    pub(crate) fn read_up_to(&self, path: &VaultPath, max: u64) -> std::io::Result<Vec<u8>> {
        let io = |e: FsError| match e {
            FsError::Io(e) => e,
            other => std::io::Error::other(other.to_string()),
        };
        let (dir, name) = self.locate(path, false).map_err(io)?;
        let fd = rustix::fs::openat(
            &dir,
            name.as_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        )
        .map_err(|e| io(e.into()))?;
        if FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) != FileType::RegularFile {
            return Err(io(FsError::WrongType));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(max.min(1 << 24)).unwrap_or(0));
        std::fs::File::from(fd).take(max).read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// What is at `path`: `None` when nothing is (or a folder on the way is missing). A symbolic
    /// link as the last component is reported as such; one on the way is an error.
    pub(crate) fn stat(&self, path: &VaultPath) -> Result<Option<Entry>, FsError> {
        let (dir, name) = match self.locate(path, false) {
            Ok(found) => found,
            Err(FsError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        match rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(Entry::of(&stat))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes `bytes` to `path` atomically: a temporary file beside it, fsynced, then renamed
    /// into place as `replace` allows, then the folder fsynced. Missing folders are created. An
    /// existing file keeps its permissions (and owner, where allowed); a new one gets the mode
    /// the umask gives.
    pub(crate) fn write(
        &self,
        path: &VaultPath,
        bytes: &[u8],
        replace: Replace<'_>,
    ) -> Result<(), WriteError> {
        let (dir, name) = self.locate(path, true)?;
        let dir = dir.as_fd();
        let existing = match rustix::fs::statat(dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Some(stat),
            Err(Errno::NOENT) => None,
            Err(e) => return Err(e.into()),
        };
        if let Some(stat) = &existing {
            match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile => {}
                FileType::Symlink => return Err(FsError::Symlink.into()),
                _ => return Err(FsError::WrongType.into()),
            }
        }
        match (replace, &existing) {
            (Replace::Absent, Some(_)) => return Err(WriteError::Exists),
            (Replace::Matching(_), None) => return Err(WriteError::Changed(None)),
            _ => {}
        }
        let mut temp = TempFile::create(dir, existing.as_ref())?;
        {
            let mut file = std::fs::File::from(rustix::io::dup(&temp.fd)?);
            file.write_all(bytes).map_err(FsError::from)?;
        }
        rustix::fs::fsync(&temp.fd)?;
        match replace {
            Replace::Any => rustix::fs::renameat(dir, temp.name(), dir, name.as_str())?,
            Replace::Absent => create_no_replace(dir, temp.name(), &name)?,
            Replace::Matching(hash) => replace_matching(dir, &mut temp, &name, hash)?,
        }
        temp.landed(dir);
        sync_dir(dir);
        Ok(())
    }

    /// Renames `from` to `to` (creating `to`'s folders), never replacing an existing `to`.
    pub(crate) fn rename(&self, from: &VaultPath, to: &VaultPath) -> Result<(), FsError> {
        let (from_dir, from_name) = self.locate(from, false)?;
        let (to_dir, to_name) = self.locate(to, true)?;
        rename_no_replace(from_dir.as_fd(), &from_name, to_dir.as_fd(), &to_name)?;
        sync_dir(to_dir.as_fd());
        sync_dir(from_dir.as_fd());
        Ok(())
    }

    /// Removes the file at `path` (not a folder, not through a link).
    pub(crate) fn remove_file(&self, path: &VaultPath) -> Result<(), FsError> {
        let (dir, name) = self.locate(path, false)?;
        match rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile => {}
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink => {
                return Err(FsError::Symlink);
            }
            Ok(_) => return Err(FsError::WrongType),
            Err(e) => return Err(e.into()),
        }
        rustix::fs::unlinkat(&dir, name.as_str(), AtFlags::empty())?;
        sync_dir(dir.as_fd());
        Ok(())
    }

    /// A hidden name beside `path` for a file about to be removed (cleaned on start if a crash
    /// leaves it behind).
    pub(crate) fn aside_name(&self, path: &VaultPath) -> VaultPath {
        let name = temp_name();
        let joined = match path.folder() {
            "" => name,
            folder => format!("{folder}/{name}"),
        };
        VaultPath::normalize(&joined).unwrap_or_else(|_| path.clone())
    }

    /// Opens (creating it) the vault's own cache folder `.weaver` without following links, and
    /// returns its handle with a path that reaches the folder through that handle
    /// (`/proc/self/fd/N` on Linux), for SQLite and tantivy, which open files by path: a
    /// `.weaver` swapped for a link later cannot redirect them. The cache's own entries must not
    /// be links either.
    pub(crate) fn pin_cache_dir(&self) -> Result<(OwnedFd, PathBuf), FsError> {
        use std::os::fd::AsRawFd as _;
        let dir = self.open_dir(&[".weaver"], true)?;
        for entry in [
            "cache.sqlite",
            "cache.sqlite-wal",
            "cache.sqlite-shm",
            "search",
            "lock",
        ] {
            if let Ok(stat) = rustix::fs::statat(&dir, entry, AtFlags::SYMLINK_NOFOLLOW)
                && FileType::from_raw_mode(stat.st_mode) == FileType::Symlink
            {
                return Err(FsError::Symlink);
            }
        }
        let through = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
        let path = if through.is_dir() {
            through
        } else {
            self.root.join(".weaver")
        };
        Ok((dir, path))
    }

    /// Opens (creating it and its folders) the lock file at `path`, for `flock`.
    pub(crate) fn open_lock(&self, path: &VaultPath) -> Result<std::fs::File, FsError> {
        let (dir, name) = self.locate(path, true)?;
        let fd = rustix::fs::openat(
            &dir,
            name.as_str(),
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        Ok(std::fs::File::from(fd))
    }

    /// Names of the regular files directly in `folder` (empty when it does not exist).
    pub(crate) fn list_files(&self, folder: &VaultPath) -> Result<Vec<String>, FsError> {
        let dir = match self.open_dir(&segments(folder), false) {
            Ok(dir) => dir,
            Err(FsError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names: Vec<String> = rustix::fs::Dir::new(dir)?
            .filter_map(Result::ok)
            .filter(|e| e.file_type() == FileType::RegularFile)
            .filter_map(|e| e.file_name().to_str().ok().map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Lists every regular file below `start` (the whole vault when `None`) that `keep` accepts
    /// (`keep(relative, is_dir)`; a refused folder is not entered). Symbolic links are never
    /// followed, and a folder swapped for a link during the walk is skipped, not entered.
    pub(crate) fn walk(
        &self,
        start: Option<&VaultPath>,
        keep: &dyn Fn(&str, bool) -> bool,
    ) -> (Vec<Found>, WalkExtras) {
        let mut found = Vec::new();
        let mut extras = WalkExtras::default();
        let first = match start {
            None => self.reopen_root(),
            Some(path) => self.open_dir(&segments(path), false),
        };
        let first = match first {
            Ok(fd) => fd,
            Err(FsError::NotFound) => return (found, extras),
            Err(error) => {
                tracing::debug!(start = ?start.map(VaultPath::as_str), %error, "not walking");
                return (found, extras);
            }
        };
        let mut stack: Vec<(OwnedFd, String)> = vec![(
            first,
            start.map(|p| p.as_str().to_owned()).unwrap_or_default(),
        )];
        while let Some((dir, relative)) = stack.pop() {
            let entries = match rustix::fs::Dir::new(dir) {
                Ok(entries) => entries,
                Err(error) => {
                    tracing::warn!(folder = %relative, %error, "cannot list folder");
                    continue;
                }
            };
            // Names of this folder by NFC spelling, to find twins.
            let mut files: Vec<(String, String, Entry)> = Vec::new();
            let dir_fd = match entries
                .fd()
                .and_then(|fd| rustix::io::fcntl_dupfd_cloexec(fd, 0))
            {
                Ok(fd) => fd,
                Err(error) => {
                    tracing::warn!(folder = %relative, %error, "cannot list folder");
                    continue;
                }
            };
            for entry in entries {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(error) => {
                        tracing::warn!(folder = %relative, %error, "cannot list folder");
                        break;
                    }
                };
                let Ok(name) = entry.file_name().to_str() else {
                    tracing::warn!(folder = %relative, "skipping a file with a non-Unicode name");
                    continue;
                };
                if name == "." || name == ".." {
                    continue;
                }
                let child = if relative.is_empty() {
                    name.to_owned()
                } else {
                    format!("{relative}/{name}")
                };
                let mut kind = entry.file_type();
                if kind == FileType::Unknown {
                    kind = match rustix::fs::statat(&dir_fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(stat) => FileType::from_raw_mode(stat.st_mode),
                        Err(_) => continue,
                    };
                }
                match kind {
                    FileType::Directory => {
                        if !keep(&child, true) {
                            continue;
                        }
                        match open_dir_at(dir_fd.as_fd(), name) {
                            Ok(sub) => stack.push((sub, child)),
                            Err(FsError::Symlink) => {
                                tracing::debug!(folder = %child, "a folder became a link; skipped");
                            }
                            Err(error) => {
                                tracing::warn!(folder = %child, %error, "cannot open folder");
                            }
                        }
                    }
                    FileType::RegularFile => {
                        if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
                            if let Ok(stat) =
                                rustix::fs::statat(&dir_fd, name, AtFlags::SYMLINK_NOFOLLOW)
                                && is_stale(&Entry::of(&stat))
                            {
                                extras.stale_temps.push(child);
                            }
                            continue;
                        }
                        if !keep(&child, false) {
                            continue;
                        }
                        match rustix::fs::statat(&dir_fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                            Ok(stat) => {
                                let entry = Entry::of(&stat);
                                if entry.is_file() {
                                    files.push((nfc(name), name.to_owned(), entry));
                                }
                            }
                            Err(Errno::NOENT) => {}
                            Err(error) => {
                                tracing::warn!(path = %child, %error, "cannot stat file");
                            }
                        }
                    }
                    // Links, sockets, pipes, devices: never indexed.
                    _ => {}
                }
            }
            // The NFC spelling wins over another spelling of the same name (that is the one
            // `locate` opens first); the others are reported as twins.
            files.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| (a.1 != a.0).cmp(&(b.1 != b.0))));
            let mut previous: Option<String> = None;
            for (normal, _disk, entry) in files {
                let child = if relative.is_empty() {
                    normal.clone()
                } else {
                    format!("{relative}/{normal}")
                };
                let Ok(path) = VaultPath::normalize(&child) else {
                    continue;
                };
                if previous.as_deref() == Some(normal.as_str()) {
                    if extras.twins.last() != Some(&path) {
                        extras.twins.push(path);
                    }
                    continue;
                }
                previous = Some(normal);
                found.push(Found { path, entry });
            }
        }
        found.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        (found, extras)
    }

    /// Removes temporary files a walk reported as stale.
    pub(crate) fn remove_stale_temps(&self, temps: &[String]) {
        for relative in temps {
            let Some((folder, name)) = relative.rsplit_once('/').or(Some(("", relative))) else {
                continue;
            };
            let dir = if folder.is_empty() {
                self.reopen_root()
            } else {
                self.open_dir(&folder.split('/').collect::<Vec<_>>(), false)
            };
            match dir.and_then(|d| {
                rustix::fs::unlinkat(&d, name, AtFlags::empty()).map_err(FsError::from)
            }) {
                Ok(()) => {
                    tracing::info!(file = %relative, "removed a temporary file left by a crash")
                }
                Err(error) => {
                    tracing::warn!(file = %relative, %error, "cannot remove temporary file")
                }
            }
        }
    }

    /// The folder holding `path` (created when `create`) and `path`'s name in it as on disk.
    pub(crate) fn locate(
        &self,
        path: &VaultPath,
        create: bool,
    ) -> Result<(OwnedFd, String), FsError> {
        let parts = segments(path);
        let Some((last, folders)) = parts.split_last() else {
            return Err(FsError::NotFound);
        };
        let dir = self.open_dir(folders, create)?;
        let name = disk_name(dir.as_fd(), last)?.unwrap_or_else(|| (*last).to_owned());
        Ok((dir, name))
    }

    /// A new handle of the root folder. Not a `dup`: duplicated descriptors share one read
    /// offset, and listing a folder through one would leave the next listing at its end.
    fn reopen_root(&self) -> Result<OwnedFd, FsError> {
        rustix::fs::openat(
            &self.dir,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(FsError::from)
    }

    /// Opens the folder `parts` below the root, component by component, refusing links.
    fn open_dir(&self, parts: &[&str], create: bool) -> Result<OwnedFd, FsError> {
        let mut current = self.reopen_root()?;
        for part in parts {
            let next = match open_dir_at(current.as_fd(), part) {
                Ok(fd) => fd,
                Err(FsError::NotFound) => match disk_name(current.as_fd(), part)? {
                    Some(other) if other != *part => open_dir_at(current.as_fd(), &other)?,
                    _ if create => {
                        match rustix::fs::mkdirat(&current, *part, Mode::from_raw_mode(0o777)) {
                            Ok(()) | Err(Errno::EXIST) => {}
                            Err(e) => return Err(e.into()),
                        }
                        open_dir_at(current.as_fd(), part)?
                    }
                    _ => return Err(FsError::NotFound),
                },
                Err(e) => return Err(e),
            };
            current = next;
        }
        Ok(current)
    }
}

fn segments(path: &VaultPath) -> Vec<&str> {
    path.as_str().split('/').collect()
}

fn nfc(name: &str) -> String {
    if name.is_ascii() {
        name.to_owned()
    } else {
        name.nfc().collect()
    }
}

/// A fresh temporary file name (unique in this process; `O_EXCL` settles the rest).
fn temp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{TEMP_PREFIX}{}-{n}-{nanos:08x}{TEMP_SUFFIX}",
        std::process::id()
    )
}

fn is_stale(entry: &Entry) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let age = now.saturating_sub(entry.mtime_ns);
    age > i64::try_from(STALE_TEMP.as_nanos()).unwrap_or(i64::MAX)
}

fn open_dir_at(dir: BorrowedFd<'_>, name: &str) -> Result<OwnedFd, FsError> {
    match rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(fd),
        // With `O_DIRECTORY`, Linux reports a symbolic link as "not a directory": say which.
        Err(Errno::NOTDIR) => match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink => {
                Err(FsError::Symlink)
            }
            _ => Err(FsError::WrongType),
        },
        Err(e) => Err(e.into()),
    }
}

/// The name under which `name` (NFC) exists in `dir`: itself, another Unicode spelling of it,
/// or `None`.
fn disk_name(dir: BorrowedFd<'_>, name: &str) -> Result<Option<String>, FsError> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(_) => return Ok(Some(name.to_owned())),
        Err(Errno::NOENT) if !name.is_ascii() => {}
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let entries = rustix::fs::Dir::read_from(dir)?;
    let mut spellings: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().ok().map(str::to_owned))
        .filter(|other| !other.is_ascii() && nfc(other) == name)
        .collect();
    spellings.sort();
    Ok(spellings.into_iter().next())
}

fn read_at(dir: BorrowedFd<'_>, name: &str, max: u64) -> Result<Vec<u8>, FsError> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    )?;
    let stat = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(FsError::WrongType);
    }
    let size = u64::try_from(stat.st_size).unwrap_or(0);
    if size > max {
        return Err(FsError::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut file = std::fs::File::from(fd);
    if max == u64::MAX {
        file.read_to_end(&mut bytes)?;
    } else {
        // The file may grow after the size check: never read more than the limit (plus one byte
        // to tell that it grew past it).
        file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > max {
            return Err(FsError::TooLarge(bytes.len() as u64));
        }
    }
    Ok(bytes)
}

/// A temporary file beside a write's target, removed on drop unless it landed.
struct TempFile<'d> {
    dir: BorrowedFd<'d>,
    name: String,
    fd: OwnedFd,
    landed: bool,
}

impl<'d> TempFile<'d> {
    fn create(dir: BorrowedFd<'d>, like: Option<&Stat>) -> Result<Self, FsError> {
        let mut attempt = 0;
        loop {
            let name = temp_name();
            match rustix::fs::openat(
                dir,
                name.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o666),
            ) {
                Ok(fd) => {
                    let temp = Self {
                        dir,
                        name,
                        fd,
                        landed: false,
                    };
                    if let Some(stat) = like {
                        // Keep the replaced file's permissions and, where allowed, its owner.
                        rustix::fs::fchmod(&temp.fd, Mode::from_raw_mode(stat.st_mode & 0o7777))?;
                        let _ = rustix::fs::fchown(
                            &temp.fd,
                            Some(rustix::fs::Uid::from_raw(stat.st_uid)),
                            Some(rustix::fs::Gid::from_raw(stat.st_gid)),
                        );
                    }
                    return Ok(temp);
                }
                Err(Errno::EXIST) if attempt < 16 => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    /// The temporary name no longer holds our file (renamed into place), or holds the displaced
    /// old file, which is removed now.
    fn landed(mut self, dir: BorrowedFd<'_>) {
        self.landed = true;
        match rustix::fs::unlinkat(dir, self.name.as_str(), AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(error) => tracing::warn!(file = %self.name, %error, "cannot remove temporary file"),
        }
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if !self.landed {
            let _ = rustix::fs::unlinkat(self.dir, self.name.as_str(), AtFlags::empty());
        }
    }
}

/// Renames without replacing: `RENAME_NOREPLACE`, or a hard link where the file system lacks it.
fn create_no_replace(dir: BorrowedFd<'_>, temp: &str, name: &str) -> Result<(), WriteError> {
    match rename_no_replace(dir, temp, dir, name) {
        Ok(()) => Ok(()),
        Err(FsError::Exists) => Err(WriteError::Exists),
        Err(e) => Err(e.into()),
    }
}

fn rename_no_replace(
    from_dir: BorrowedFd<'_>,
    from: &str,
    to_dir: BorrowedFd<'_>,
    to: &str,
) -> Result<(), FsError> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    match rustix::fs::renameat_with(
        from_dir,
        from,
        to_dir,
        to,
        rustix::fs::RenameFlags::NOREPLACE,
    ) {
        Ok(()) => return Ok(()),
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
        Err(e) => return Err(e.into()),
    }
    // Without RENAME_NOREPLACE: a hard link fails if the name exists (files only).
    rustix::fs::linkat(from_dir, from, to_dir, to, AtFlags::empty())?;
    rustix::fs::unlinkat(from_dir, from, AtFlags::empty())?;
    Ok(())
}

/// Puts the file at `temp` in place of `name` if `name` still has content `hash`.
///
/// The check runs twice: before the exchange (a version that already differs never gets
/// exchanged, so nobody sees the new file in that case), and on the displaced file after it,
/// which is then watched for [`LATE_WRITER_GRACE`] so that a program that opened it just before
/// the exchange and writes a moment later is caught too. Only on a change in that short window
/// is the exchange undone; if our file was written to meanwhile (a program opened the name while
/// it held our file), that version is kept beside the note and logged instead of deleted.
fn replace_matching(
    dir: BorrowedFd<'_>,
    temp_file: &mut TempFile<'_>,
    name: &str,
    hash: &str,
) -> Result<(), WriteError> {
    let temp = temp_file.name.clone();
    let temp = temp.as_str();
    let current = match read_at(dir, name, u64::MAX) {
        Ok(bytes) => Some(content_hash(&bytes)),
        Err(FsError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    if current.as_deref() != Some(hash) {
        return Err(WriteError::Changed(current));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::RenameFlags;
        let ours = rustix::fs::fstat(&temp_file.fd)?;
        match rustix::fs::renameat_with(dir, temp, dir, name, RenameFlags::EXCHANGE) {
            Ok(()) => {
                // `temp` now names the displaced file: it must be what the caller read.
                if let Some((displaced, (fd, then))) = displaced_hash(dir, temp)
                    && displaced == hash
                {
                    std::thread::sleep(LATE_WRITER_GRACE);
                    if rustix::fs::fstat(&fd).is_ok_and(|now| same_version(&now, &then)) {
                        return Ok(());
                    }
                }
                let displaced = displaced_hash(dir, temp).map(|(h, _)| h);
                // Changed meanwhile (or swapped for something that is not a file): put it back.
                if let Err(error) =
                    rustix::fs::renameat_with(dir, temp, dir, name, RenameFlags::EXCHANGE)
                {
                    tracing::error!(file = %name, kept = %temp, %error, "cannot undo a conflicting exchange; the other version is kept beside it");
                    // The temporary name now holds the other program's version: keep it.
                    temp_file.landed = true;
                    return Err(WriteError::Fs(error.into()));
                }
                if !rustix::fs::fstat(&temp_file.fd).is_ok_and(|now| same_version(&now, &ours)) {
                    tracing::error!(file = %name, kept = %temp, "two programs wrote the note at once; the version written over ours is kept beside it");
                    temp_file.landed = true;
                }
                return Err(WriteError::Changed(displaced));
            }
            Err(Errno::NOENT) => return Err(WriteError::Changed(None)),
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // Without RENAME_EXCHANGE: the window is between the check above and this rename.
    rustix::fs::renameat(dir, temp, dir, name)?;
    Ok(())
}

/// How long a replaced file is watched for a late write after it was exchanged out.
const LATE_WRITER_GRACE: Duration = Duration::from_millis(1);

/// The hash of the file at `name` and an open handle of it with its state when hashed.
fn displaced_hash(dir: BorrowedFd<'_>, name: &str) -> Option<(String, (OwnedFd, Stat))> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    )
    .ok()?;
    let before = rustix::fs::fstat(&fd).ok()?;
    if FileType::from_raw_mode(before.st_mode) != FileType::RegularFile {
        return None;
    }
    let mut bytes = Vec::new();
    std::fs::File::from(rustix::io::dup(&fd).ok()?)
        .read_to_end(&mut bytes)
        .ok()?;
    Some((content_hash(&bytes), (fd, before)))
}

/// True when nothing was written to a file between two `stat`s of it.
fn same_version(now: &Stat, then: &Stat) -> bool {
    now.st_size == then.st_size
        && now.st_mtime == then.st_mtime
        && now.st_mtime_nsec == then.st_mtime_nsec
        && now.st_ctime == then.st_ctime
        && now.st_ctime_nsec == then.st_ctime_nsec
}

/// fsyncs a folder so renames in it survive a crash (best effort: not every file system can).
fn sync_dir(dir: BorrowedFd<'_>) {
    let _ = rustix::fs::fsync(dir);
}
