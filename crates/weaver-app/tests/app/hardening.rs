//! Regression tests of the adversarial findings (issue 10): symbolic links and races cannot move
//! a read or a write outside the vault, other programs' edits survive, moves are all or nothing
//! (also across `kill -9`), modes are kept, NFD names are indexed, temporary files are cleaned,
//! and a full disk neither loses writes nor leaves the index wrong. Races run as bounded stress
//! loops on real files; a full disk is a real, small tmpfs (skipped where it cannot be mounted).

use std::io::{BufRead as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use weaver_app::{AppError, Page, Precondition, Scope, SearchQuery, Vault, VaultOptions};
use weaver_core::{EditOp, VaultPath};

use crate::fixture::{
    eventually, eventually_within, open, open_in_memory, vault, watch_fast, write,
};

fn found(v: &Vault, text: &str) -> usize {
    v.search(&SearchQuery {
        text: text.to_owned(),
        limit: 100,
        ..SearchQuery::default()
    })
    .unwrap()
    .total
}

fn vp(path: &str) -> VaultPath {
    VaultPath::normalize(path).unwrap()
}

/// Every regular file below `dir`, recursively, as paths relative to it.
fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(
                    entry
                        .path()
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

// Finding 1: the watcher followed directory symlinks, and MCP reads and moves went through them.
#[test]
fn linked_folders_are_never_read_indexed_or_written() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("vault");
    let outside = outer.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    write(&root, "Weaver.md", "# Weaver\n");
    write(&outside, "linker.md", "Outside links to [[Weaver]].\n");
    std::os::unix::fs::symlink(&outside, root.join("linkdir")).unwrap();
    let (v, _) = open(&root);
    let v = Arc::new(v);
    let _watch = watch_fast(&v);
    // Changes made after start-up, under the link, and a marker change inside the vault.
    write(&root, "linkdir/secret.md", "zanzibarsecret text\n");
    write(
        &outside,
        "linker.md",
        "Outside links to [[Weaver]] zanzibarlinker.\n",
    );
    write(&root, "marker.md", "quokkamarker\n");
    eventually("the marker is indexed", || found(&v, "quokkamarker") == 1);
    // An event naming the linked path directly is refused too.
    v.sync(&Scope::Paths(vec![vp("linkdir/secret.md"), vp("linkdir")]))
        .unwrap();
    v.sync(&Scope::All).unwrap();
    assert_eq!(found(&v, "zanzibarsecret"), 0);
    assert_eq!(found(&v, "zanzibarlinker"), 0);
    assert!(v.snapshot().find_note("linkdir/secret.md").is_err());
    assert!(matches!(
        v.read_file(&vp("linkdir/secret.md")),
        Err(AppError::SymlinkNotAllowed(_))
    ));
    // A move never rewrites a link in a file outside the vault.
    v.move_note("Weaver.md", "Moved.md", true, None).unwrap();
    assert_eq!(
        std::fs::read_to_string(outside.join("linker.md")).unwrap(),
        "Outside links to [[Weaver]] zanzibarlinker.\n"
    );
    // Writes through the link are refused.
    assert!(matches!(
        v.write_note("linkdir/new.md", b"x", &Precondition::Any),
        Err(AppError::SymlinkNotAllowed(_))
    ));
    assert_eq!(files_below(&outside), vec!["linker.md", "secret.md"]);
}

// Finding 2: `.trash` (and every folder Weaver creates) may be a link out of the vault.
#[test]
fn folders_weaver_writes_to_cannot_be_links() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("vault");
    let outside = outer.path().join("outside3");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    write(&root, "notes/Inbox idea.md", "# Idea\n");
    write(&root, "Target.md", "# Target\n");
    write(&root, "Linker.md", "[[Target]]\n");
    std::os::unix::fs::symlink(&outside, root.join(".trash")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("parent")).unwrap();
    let v = open_in_memory(&root);
    let err = v
        .delete_note("notes/Inbox idea.md", false, None)
        .unwrap_err();
    assert!(matches!(err, AppError::SymlinkNotAllowed(_)), "{err}");
    assert!(root.join("notes/Inbox idea.md").is_file());
    // A permanent delete needs no trash and works.
    v.delete_note("notes/Inbox idea.md", true, None).unwrap();
    assert!(!root.join("notes/Inbox idea.md").exists());
    // Parents of new notes and move destinations.
    let err = v
        .write_note("parent/sub/new.md", b"x", &Precondition::Absent)
        .unwrap_err();
    assert!(matches!(err, AppError::SymlinkNotAllowed(_)), "{err}");
    let err = v
        .move_note("Target.md", "parent/Target.md", true, None)
        .unwrap_err();
    assert!(matches!(err, AppError::SymlinkNotAllowed(_)), "{err}");
    // `.weaver` (where the move journal lives) as a link: the move is refused before any change.
    std::os::unix::fs::symlink(&outside, root.join(".weaver")).unwrap();
    let err = v
        .move_note("Target.md", "Moved.md", true, None)
        .unwrap_err();
    assert!(matches!(err, AppError::JournalUnavailable(_)), "{err}");
    assert!(root.join("Target.md").is_file());
    assert_eq!(
        std::fs::read_to_string(root.join("Linker.md")).unwrap(),
        "[[Target]]\n"
    );
    assert!(
        files_below(&outside).is_empty(),
        "{:?}",
        files_below(&outside)
    );
}

// Finding 3: a folder swapped for a link between check and write redirected creates.
#[test]
fn swapping_a_folder_for_a_link_during_writes_never_redirects_them() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("vault");
    let outside = outer.path().join("outside2");
    std::fs::create_dir_all(root.join("race")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("swap")).unwrap();
    let v = Arc::new(open_in_memory(&root));
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let root = root.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let dir = rustix::fs::open(
                &root,
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
                rustix::fs::Mode::empty(),
            )
            .unwrap();
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(
                    &dir,
                    "race",
                    &dir,
                    "swap",
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
                swaps += 1;
            }
            // Leave the real folder at `race`.
            if std::fs::symlink_metadata(root.join("race"))
                .unwrap()
                .file_type()
                .is_symlink()
            {
                rustix::fs::renameat_with(
                    &dir,
                    "race",
                    &dir,
                    "swap",
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
            }
            swaps
        })
    };
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let v = Arc::clone(&v);
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for n in 0..40 {
                    let path = format!("race/c{t}-{n}.md");
                    if v.write_note(&path, b"# created\n", &Precondition::Absent)
                        .is_ok()
                    {
                        acknowledged.push(format!("c{t}-{n}.md"));
                    }
                }
                acknowledged
            })
        })
        .collect();
    let mut acknowledged: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 0);
    acknowledged.sort();
    assert!(
        files_below(&outside).is_empty(),
        "writes landed outside the vault: {:?}",
        files_below(&outside)
    );
    let inside: Vec<String> = files_below(&root.join("race"))
        .into_iter()
        .filter(|f| !f.starts_with('.'))
        .collect();
    assert_eq!(
        inside, acknowledged,
        "every acknowledged create is in the vault"
    );
    // No temporary file is left behind by the refused writes (finding 19).
    assert!(
        files_below(&root)
            .iter()
            .all(|f| !f.contains(".weaver-write-")),
        "{:?}",
        files_below(&root)
    );
}

// Finding 4: an edit by another program between the hash check and the rename was lost.
#[test]
fn a_program_appending_concurrently_loses_no_line() {
    let dir = vault("//- log.md\n# Log\n");
    let v = Arc::new(open_in_memory(dir.path()));
    let path = dir.path().join("log.md");
    let stop = Arc::new(AtomicBool::new(false));
    let appender = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut lines = 0;
            while !stop.load(Ordering::Relaxed) && lines < 400 {
                let mut file = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap();
                writeln!(file, "external {lines}").unwrap();
                drop(file);
                lines += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            lines
        })
    };
    let mut acknowledged = 0;
    let mut attempts = 0;
    while acknowledged < 150 && attempts < 5000 {
        attempts += 1;
        let op = EditOp::Append {
            text: format!("weaver {acknowledged}\n"),
        };
        match v.patch_note("log.md", &[op], None) {
            Ok(_) => acknowledged += 1,
            Err(AppError::Conflict { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let external = appender.join().unwrap();
    let text = std::fs::read_to_string(dir.path().join("log.md")).unwrap();
    for n in 0..external {
        assert_eq!(
            text.matches(&format!("external {n}\n")).count(),
            1,
            "external line {n} lost or doubled"
        );
    }
    for n in 0..acknowledged {
        assert_eq!(
            text.matches(&format!("weaver {n}\n")).count(),
            1,
            "acknowledged line {n} lost or doubled"
        );
    }
}

// Finding 13: every write reset the file mode to 0600.
#[test]
fn writes_keep_the_file_mode_and_new_files_follow_the_umask() {
    let dir = vault("//- a.md\n# A\n//- b.md\n# B\n//- c.md\n[[a]]\n");
    let v = open_in_memory(dir.path());
    let mode = |p: &str| {
        std::fs::metadata(dir.path().join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    std::fs::set_permissions(
        dir.path().join("a.md"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(
        dir.path().join("b.md"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::fs::set_permissions(
        dir.path().join("c.md"),
        std::fs::Permissions::from_mode(0o664),
    )
    .unwrap();
    let op = EditOp::Append {
        text: "more\n".to_owned(),
    };
    v.patch_note("a.md", std::slice::from_ref(&op), None)
        .unwrap();
    assert_eq!(mode("a.md"), 0o644);
    v.write_note("b.md", b"# B2\n", &Precondition::Any).unwrap();
    assert_eq!(mode("b.md"), 0o640);
    // A link rewrite keeps the linking note's mode too.
    v.move_note("a.md", "z.md", true, None).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("c.md")).unwrap(),
        "[[z]]\n"
    );
    assert_eq!(mode("c.md"), 0o664);
    assert_eq!(mode("z.md"), 0o644);
    // A new file: 0666 less the umask, as any program creating a file gets. The umask is read
    // back from a file created the ordinary way.
    std::fs::write(dir.path().join("probe.txt"), b"").unwrap();
    let expected = mode("probe.txt");
    v.write_note("new.md", b"# New\n", &Precondition::Absent)
        .unwrap();
    assert_eq!(mode("new.md"), expected);
}

// Finding 14: notes named in NFD were invisible, and a PUT of the NFC name made a twin.
#[test]
fn nfd_names_are_indexed_under_nfc_and_written_in_place() {
    let dir = vault("//- Index.md\n[[Café]]\n");
    let nfd = "Cafe\u{301}.md";
    write(dir.path(), nfd, "# Café\nespresso\n");
    let v = open_in_memory(dir.path());
    let snapshot = v.snapshot();
    let note = snapshot.find_note("Café").unwrap();
    assert_eq!(note.path.as_str(), "Café.md");
    assert_eq!(snapshot.unresolved(Page::ALL).total, 0);
    assert_eq!(found(&v, "espresso"), 1);
    assert_eq!(
        v.read_file(&vp("Café.md")).unwrap(),
        "# Café\nespresso\n".as_bytes().to_vec()
    );
    // Replacing the NFC name replaces the NFD file; no twin appears.
    v.write_note(
        "Café.md",
        "# Café\nristretto\n".as_bytes(),
        &Precondition::Any,
    )
    .unwrap();
    let names: Vec<String> = files_below(dir.path())
        .into_iter()
        .filter(|f| f.starts_with("Caf"))
        .collect();
    assert_eq!(names, vec![nfd.to_owned()]);
    assert_eq!(found(&v, "ristretto"), 1);
    assert!(
        v.snapshot().check().is_empty(),
        "{:?}",
        v.snapshot().check()
    );
    // Both spellings on disk: one is indexed and `check` reports the twin.
    write(dir.path(), "Café.md", "# NFC twin\n");
    v.sync(&Scope::All).unwrap();
    let problems = v.snapshot().check();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].code.as_str(), "duplicate_name");
    assert_eq!(problems[0].path.as_str(), "Café.md");
}

// Finding 18: a move into a dot-folder hid the note and broke its links.
#[test]
fn writes_and_moves_into_hidden_paths_are_refused() {
    let dir = vault("//- Weaver.md\n# W\n//- a.md\n[[Weaver]]\n");
    let v = open_in_memory(dir.path());
    for to in [".hidden/Weaver.md", "sub/.hidden.md", ".Weaver.md"] {
        let err = v.move_note("Weaver.md", to, true, None).unwrap_err();
        assert!(matches!(err, AppError::HiddenPath(_)), "{to}: {err}");
        let err = v.write_note(to, b"x", &Precondition::Any).unwrap_err();
        assert!(matches!(err, AppError::HiddenPath(_)), "{to}: {err}");
    }
    assert!(dir.path().join("Weaver.md").is_file());
    assert_eq!(v.snapshot().unresolved(Page::ALL).total, 0);
}

// Finding 19: temporary files of failed writes were never cleaned up.
#[test]
fn stale_temporary_files_are_removed_on_open() {
    let dir = vault("//- a.md\n# A\n");
    let old = SystemTime::now() - Duration::from_secs(3600);
    for name in [".weaver-write-1-2-3.tmp", "sub/.weaver-write-4-5-6.tmp"] {
        write(dir.path(), name, "partial");
        let file = std::fs::File::options()
            .write(true)
            .open(dir.path().join(name))
            .unwrap();
        file.set_modified(old).unwrap();
    }
    // A fresh one may belong to a write in progress in another process: it stays.
    write(dir.path(), ".weaver-write-7-8-9.tmp", "in flight");
    let v = open_in_memory(dir.path());
    assert!(!dir.path().join(".weaver-write-1-2-3.tmp").exists());
    assert!(!dir.path().join("sub/.weaver-write-4-5-6.tmp").exists());
    assert!(dir.path().join(".weaver-write-7-8-9.tmp").exists());
    assert_eq!(v.snapshot().notes().len(), 1);
}

fn move_fixture(backlinkers: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Weaver.md", "# Weaver\n");
    for i in 0..backlinkers {
        write(
            dir.path(),
            &format!("notes/n{i:04}.md"),
            &format!("# N{i}\nSee [[Weaver]], [[Weaver#Weaver]] and [[Weaver|the tool]].\n"),
        );
    }
    dir
}

/// `Some(false)`: the vault is as before the move; `Some(true)`: as after; `None`: neither.
fn move_side(root: &Path, backlinkers: usize, skip: &[usize]) -> Option<bool> {
    let before_links = "See [[Weaver]], [[Weaver#Weaver]] and [[Weaver|the tool]].";
    let after_links = "See [[Moved]], [[Moved#Weaver]] and [[Moved|the tool]].";
    let at_old = root.join("Weaver.md").is_file();
    let at_new = root.join("Moved.md").is_file();
    let mut before = 0;
    let mut after = 0;
    for i in (0..backlinkers).filter(|i| !skip.contains(i)) {
        let text = std::fs::read_to_string(root.join(format!("notes/n{i:04}.md"))).unwrap();
        if text.contains(before_links) {
            before += 1;
        } else if text.contains(after_links) {
            after += 1;
        }
    }
    let total = backlinkers - skip.len();
    match (at_old, at_new) {
        (true, false) if before == total => Some(false),
        (false, true) if after == total => Some(true),
        _ => None,
    }
}

// Finding 5: a move that failed part-way was not rolled back.
#[test]
fn a_move_that_fails_part_way_is_rolled_back() {
    let n = 60;
    let dir = move_fixture(n);
    // The last note rewritten (paths sort) keeps changing while the move runs, so its rewrite
    // finds it changed and the move fails after the other rewrites landed.
    write(dir.path(), "notes/zz-hot.md", "[[Weaver]]\n");
    let v = Arc::new(open_in_memory(dir.path()));
    let mut rolled_back = 0;
    for round in 0..10 {
        let stop = Arc::new(AtomicBool::new(false));
        let hot = dir.path().join("notes/zz-hot.md");
        let editor = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                // Appends only: the link line stays intact whatever the move does.
                let mut k = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut file = std::fs::OpenOptions::new().append(true).open(&hot).unwrap();
                    writeln!(file, "edit {k}").unwrap();
                    k += 1;
                    std::thread::sleep(Duration::from_micros(200));
                }
            })
        };
        let result = v.move_note("Weaver.md", "Moved.md", true, None);
        stop.store(true, Ordering::Relaxed);
        editor.join().unwrap();
        let side = move_side(dir.path(), n, &[]);
        match result {
            Ok(_) => {
                assert_eq!(
                    side,
                    Some(true),
                    "round {round}: reported done, but half-moved"
                );
                v.move_note("Moved.md", "Weaver.md", true, None).unwrap();
            }
            Err(err) => {
                assert!(matches!(err, AppError::Conflict { .. }), "{err}");
                assert_eq!(
                    side,
                    Some(false),
                    "round {round}: failed, but not rolled back"
                );
                rolled_back += 1;
            }
        }
        assert!(
            files_below(&dir.path().join(".weaver/journal"))
                .iter()
                .all(|f| f == "lock"),
            "no journal is left behind"
        );
        v.sync(&Scope::All).unwrap();
        assert_eq!(v.snapshot().unresolved(Page::ALL).total, 0);
    }
    assert!(
        rolled_back > 0,
        "the concurrent editor never made a move fail"
    );
}

/// Runs in a child process (see `kill_9_during_a_move_leaves_the_vault_before_or_after`).
#[test]
fn child_process_that_moves() {
    let Some(root) = std::env::var_os("WEAVER_TEST_MOVE_CHILD") else {
        return;
    };
    let (v, _) = open(Path::new(&root));
    println!("moving");
    std::io::stdout().flush().unwrap();
    v.move_note("Weaver.md", "Moved.md", true, None).unwrap();
    println!("moved");
}

// Finding 6: `kill -9` during a move left half the links rewritten, and nothing repaired it.
#[test]
fn kill_9_during_a_move_leaves_the_vault_before_or_after() {
    let n = 300;
    let dir = move_fixture(n);
    drop(open(dir.path()));
    let exe = std::env::current_exe().unwrap();
    let mut sides = Vec::new();
    for delay_ms in [0, 2, 5, 10, 20, 40, 80] {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "hardening::child_process_that_moves",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("WEAVER_TEST_MOVE_CHILD", dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines.next().expect("the child ends before moving").unwrap();
            if line.contains("moving") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The next open settles the interrupted move.
        let (v, _) = open(dir.path());
        let side = move_side(dir.path(), n, &[]);
        assert!(
            side.is_some(),
            "after kill -9 at {delay_ms} ms the vault is half-moved"
        );
        assert_eq!(v.snapshot().unresolved(Page::ALL).total, 0);
        assert!(!weaver_app_journal_pending(dir.path()));
        if side == Some(true) {
            v.move_note("Moved.md", "Weaver.md", true, None).unwrap();
        }
        sides.push(side);
    }
    eprintln!("sides after kill -9: {sides:?}");
}

fn weaver_app_journal_pending(root: &Path) -> bool {
    files_below(&root.join(".weaver/journal"))
        .iter()
        .any(|f| f.starts_with("move-"))
}

/// A small tmpfs mounted for one test, unmounted on drop; `None` (and a message) where mounting
/// is not allowed (not root, no CAP_SYS_ADMIN).
struct Tmpfs {
    path: PathBuf,
    // Removed after the unmount (fields drop after `Drop::drop`).
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => Some(Self {
                path: dir.path().to_path_buf(),
                _dir: dir,
            }),
            _ => {
                eprintln!("skipped: cannot mount a tmpfs here (needs root) to fill a disk");
                None
            }
        }
    }

    /// Fills the file system; returns the filler file.
    fn fill(&self) -> PathBuf {
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        // Then the last bytes, one at a time.
        let small = [0u8; 512];
        while file.write_all(&small).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

// Findings 7 and 8: on a full disk a write that landed was reported as failed, and the index
// stayed wrong until a restart.
#[test]
fn a_full_cache_disk_neither_fails_landed_writes_nor_leaves_the_index_wrong() {
    let Some(disk) = Tmpfs::mount("8m") else {
        return;
    };
    let dir = vault("//- a.md\n# A\n//- b.md\n# B\n");
    let mut options = VaultOptions::new(dir.path());
    options.cache_dir = Some(disk.path.join("cache"));
    let (v, _) = Vault::open(&options, &|_| {}).unwrap();
    let v = Arc::new(v);
    let _watch = watch_fast(&v);
    let filler = disk.fill();
    // The note itself is on a disk with room: the write lands and is reported as done, even
    // though the cache cannot record it.
    let op = EditOp::Append {
        text: "wombatline\n".to_owned(),
    };
    let mut landed = 0;
    for _ in 0..5 {
        let outcome = v.patch_note("a.md", std::slice::from_ref(&op), None);
        assert!(outcome.is_ok(), "{:?}", outcome.err());
        landed += 1;
    }
    let text = std::fs::read_to_string(dir.path().join("a.md")).unwrap();
    assert_eq!(text.matches("wombatline").count(), landed);
    v.write_note("c.md", b"# C\nnewnote\n", &Precondition::Absent)
        .unwrap();
    std::fs::remove_file(dir.path().join("b.md")).unwrap();
    // Space comes back: the index catches up by itself, without a restart.
    std::fs::remove_file(filler).unwrap();
    eventually_within(Duration::from_secs(60), "the index repairs itself", || {
        !v.needs_repair()
            && found(&v, "newnote") == 1
            && found(&v, "wombatline") == 1
            && v.snapshot().find_note("b.md").is_err()
    });
}

// Finding 5 on a real full disk: the move is refused before it changes anything.
#[test]
fn a_move_on_a_full_disk_changes_nothing() {
    let Some(disk) = Tmpfs::mount("4m") else {
        return;
    };
    let root = disk.path.join("vault");
    std::fs::create_dir_all(&root).unwrap();
    write(&root, "Weaver.md", "# Weaver\n");
    for i in 0..20 {
        write(
            &root,
            &format!("notes/n{i:04}.md"),
            &format!("# N{i}\nSee [[Weaver]], [[Weaver#Weaver]] and [[Weaver|the tool]].\n"),
        );
    }
    let v = open_in_memory(&root);
    let _filler = disk.fill();
    let err = v
        .move_note("Weaver.md", "Moved.md", true, None)
        .unwrap_err();
    assert!(matches!(err, AppError::JournalUnavailable(_)), "{err}");
    assert_eq!(move_side(&root, 20, &[]), Some(false));
    assert_eq!(v.snapshot().unresolved(Page::ALL).total, 0);
}

// Finding 2 for the cache: a `.weaver` link out of the vault never receives the cache.
#[test]
fn a_linked_cache_folder_is_not_used() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("vault");
    let outside = outer.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    write(&root, "a.md", "# A\nquokka\n");
    std::os::unix::fs::symlink(&outside, root.join(".weaver")).unwrap();
    let (v, report) = open(&root);
    assert!(
        matches!(report.cache, weaver_app::CacheState::Unavailable(_)),
        "{:?}",
        report.cache
    );
    assert_eq!(found(&v, "quokka"), 1);
    assert!(
        files_below(&outside).is_empty(),
        "{:?}",
        files_below(&outside)
    );
}

// Fuzz finding 5 (docs/fuzzing.md): a new name with `)` closed an inline-link destination left
// open before a rewritten wikilink, so the note's links changed. The move is refused instead,
// and nothing is written.
#[test]
fn a_move_whose_rewrite_would_change_a_notes_links_is_refused() {
    let linker = "![[Plan]]]([[Plan#Part]] and text\n";
    let dir = vault(&format!("//- A/Plan.md\n# Part\n//- linker.md\n{linker}"));
    let v = open_in_memory(dir.path());
    let err = v.move_note("A/Plan.md", "a/b).md", true, None).unwrap_err();
    assert!(matches!(err, AppError::InvalidMove { .. }), "{err}");
    assert!(err.to_string().contains("linker.md"), "{err}");
    assert!(dir.path().join("A/Plan.md").is_file());
    assert!(!dir.path().join("a/b).md").exists());
    let text = std::fs::read_to_string(dir.path().join("linker.md")).unwrap();
    assert_eq!(text, linker);
    // A name without the parenthesis moves and rewrites as before.
    v.move_note("A/Plan.md", "a/b.md", true, None).unwrap();
    let text = std::fs::read_to_string(dir.path().join("linker.md")).unwrap();
    assert_eq!(text, "![[b]]]([[b#Part]] and text\n");
}

/// Fuzz finding 8 (rewrite_round_trip, after 8.4 M executions): `[%%]:[[Café culture]]` is not a
/// reference definition (the destination `[[Café` is followed by more text), but
/// `[%%]:[[Plan]]` is one, and then the `%%` in its label no longer closes the comment opened
/// on the line before: the note still has one link, of the same shape, but it is another one
/// (`[[/]]`, which resolves to nothing). The reparse compares what each link resolves to, so
/// the move is refused instead of losing the link.
#[test]
fn a_move_whose_rewrite_would_turn_a_link_into_another_is_refused() {
    let note = "%%\n>[%%]:[[Café culture]]\n%%[[/]]";
    let dir = vault(&format!("//- Projects/Café culture.md\n{note}\n"));
    let v = open_in_memory(dir.path());
    let err = v
        .move_note("Projects/Café culture.md", "Plan.md", true, None)
        .unwrap_err();
    assert!(matches!(err, AppError::InvalidMove { .. }), "{err}");
    assert!(dir.path().join("Projects/Café culture.md").is_file());
    assert!(!dir.path().join("Plan.md").exists());
    // Another name, for which the line stays what it was, moves and rewrites.
    v.move_note("Projects/Café culture.md", "Café notes.md", true, None)
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("Café notes.md")).unwrap();
    assert!(text.contains("[[Café notes]]"), "{text}");
}
