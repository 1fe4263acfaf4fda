//! Integration tests for the SQLite shadow cache, on real database files in temporary folders.

// clippy.toml allows these inside `#[test]` functions only; the shared helpers below are test
// code too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::Connection;
use serde_json::json;
use weaver_core::{
    Block, Callout, Diagnostic, DiagnosticCode, ExternalLink, Fragment, Heading, Link, LinkKind,
    ParsedNote, Tag, TagSource, Task, VaultPath,
};
use weaver_store::{ChangeSet, FileMeta, NoteRecord, OpenOutcome, SqliteStore, Store, StoreError};

fn vp(s: &str) -> VaultPath {
    VaultPath::new(s).unwrap()
}

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join(".weaver").join("cache.db")
}

fn open(path: &Path) -> (SqliteStore, OpenOutcome) {
    SqliteStore::open(path).unwrap()
}

fn upsert(store: &mut SqliteStore, records: &[&NoteRecord]) {
    let changes = ChangeSet {
        upserts: records.to_vec(),
        ..ChangeSet::default()
    };
    store.apply(&changes).unwrap();
}

fn sorted(mut records: Vec<NoteRecord>) -> Vec<NoteRecord> {
    records.sort_by(|a, b| a.path.cmp(&b.path));
    records
}

/// Rows in `table`, read through a separate connection.
fn count(path: &Path, table: &str) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .unwrap()
}

const CHILD_TABLES: &[&str] = &[
    "tags",
    "headings",
    "blocks",
    "tasks",
    "callouts",
    "links",
    "external_links",
];

/// A record with every field populated, unicode included.
fn full_record(path: &str) -> NoteRecord {
    let frontmatter = json!({
        "title": "Über Graphen 📈",
        "aliases": ["Graph theory", "グラフ"],
        "tags": ["math/graphs", "ideas"],
        "nested": {"deep": [1, 2.5, -3, {"x": null, "y": "z"}], "flag": true},
        "date": "2024-01-31",
        "big": 18_446_744_073_709_551_615_u64
    });
    let serde_json::Value::Object(frontmatter) = frontmatter else {
        unreachable!()
    };
    let links = vec![
        Link {
            kind: LinkKind::Wikilink,
            target: "Plan".into(),
            fragment: Some(Fragment::Heading("Goals#Sub goal".into())),
            display: Some("the plan ✓".into()),
            line: 9,
            range: 120..145,
            target_range: 122..126,
        },
        Link {
            kind: LinkKind::Embed,
            target: "Diagrams/Überblick".into(),
            fragment: Some(Fragment::Block("fig-1".into())),
            display: None,
            line: 10,
            range: 150..180,
            target_range: 153..171,
        },
        Link {
            kind: LinkKind::Markdown,
            target: "Missing note.md".into(),
            fragment: None,
            display: Some("missing".into()),
            line: 11,
            range: 190..215,
            target_range: 200..214,
        },
        Link {
            kind: LinkKind::MarkdownEmbed,
            target: "img/photo 1.png".into(),
            fragment: None,
            display: Some(String::new()),
            line: 12,
            range: 220..245,
            target_range: 224..244,
        },
        Link {
            kind: LinkKind::Wikilink,
            target: String::new(),
            fragment: Some(Fragment::Heading("Intro".into())),
            display: None,
            line: 13,
            range: 250..262,
            target_range: 252..252,
        },
    ];
    let resolved = vec![
        Some(vp("Projects/Plan.md")),
        Some(vp("Diagrams/Überblick.md")),
        None,
        Some(vp("img/photo 1.png")),
        Some(vp(path)),
    ];
    NoteRecord {
        path: vp(path),
        meta: FileMeta {
            mtime_ns: 1_706_700_000_123_456_789,
            size: 4321,
            hash: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262".into(),
        },
        note: ParsedNote {
            title: "Über Graphen 📈".into(),
            aliases: vec!["Graph theory".into(), "グラフ".into()],
            tags: vec![
                Tag {
                    name: "math/graphs".into(),
                    source: TagSource::Frontmatter,
                    line: 1,
                },
                Tag {
                    name: "ideas".into(),
                    source: TagSource::Frontmatter,
                    line: 1,
                },
                Tag {
                    name: "idée".into(),
                    source: TagSource::Inline,
                    line: 14,
                },
                Tag {
                    name: "ideas".into(),
                    source: TagSource::Inline,
                    line: 15,
                },
            ],
            frontmatter: Some(frontmatter),
            frontmatter_range: Some(0..98),
            headings: vec![
                Heading {
                    level: 1,
                    text: "Über Graphen".into(),
                    anchor: "Über Graphen".into(),
                    line: 8,
                    range: 98..113,
                },
                Heading {
                    level: 6,
                    text: "Intro: a/b".into(),
                    anchor: "Intro a/b".into(),
                    line: 16,
                    range: 270..288,
                },
            ],
            blocks: vec![Block {
                id: "fig-1".into(),
                line: 17,
                range: 289..320,
            }],
            tasks: vec![
                Task {
                    status: ' ',
                    done: false,
                    text: "read [[Plan]]".into(),
                    line: 18,
                },
                Task {
                    status: 'x',
                    done: true,
                    text: "draw".into(),
                    line: 19,
                },
                Task {
                    status: '→',
                    done: false,
                    text: "forwarded ✨".into(),
                    line: 20,
                },
            ],
            callouts: vec![
                Callout {
                    kind: "warning".into(),
                    title: "Achtung – heiß".into(),
                    line: 21,
                },
                Callout {
                    kind: "note".into(),
                    title: String::new(),
                    line: 23,
                },
            ],
            links,
            external_links: vec![
                ExternalLink {
                    url: "https://example.org/ü?q=1#x".into(),
                    display: Some("example".into()),
                    line: 24,
                },
                ExternalLink {
                    url: "mailto:a@b.c".into(),
                    display: None,
                    line: 25,
                },
            ],
            text: String::new(),
            word_count: 321,
            diagnostics: vec![
                Diagnostic {
                    code: DiagnosticCode::UnresolvedLink,
                    message: "link target `Missing note.md` matches no file".into(),
                    line: Some(11),
                },
                Diagnostic {
                    code: DiagnosticCode::InvalidUtf8,
                    message: "invalid UTF-8 replaced".into(),
                    line: None,
                },
            ],
        },
        resolved,
    }
}

/// A small record: title, one tag, one link (resolved to `target` when given).
fn small_record(path: &str, tag: &str, target: Option<&str>) -> NoteRecord {
    NoteRecord {
        path: vp(path),
        meta: FileMeta {
            mtime_ns: 7,
            size: 70,
            hash: format!("hash-of-{path}"),
        },
        note: ParsedNote {
            title: vp(path).stem().to_owned(),
            tags: vec![Tag {
                name: tag.into(),
                source: TagSource::Inline,
                line: 1,
            }],
            links: vec![Link {
                kind: LinkKind::Wikilink,
                target: "x".into(),
                fragment: None,
                display: None,
                line: 2,
                range: 10..15,
                target_range: 12..13,
            }],
            word_count: 3,
            ..ParsedNote::default()
        },
        resolved: vec![target.map(vp)],
    }
}

mod round_trip {
    use super::*;

    #[test]
    fn full_record_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        let mut record = full_record("Ideas/Über Graphen.md");
        {
            let (mut store, outcome) = open(&path);
            assert_eq!(outcome, OpenOutcome::Created);
            upsert(&mut store, &[&record]);
            assert_eq!(store.load_all().unwrap(), vec![record.clone()]);
        }
        let (store, outcome) = open(&path);
        assert_eq!(outcome, OpenOutcome::Opened);
        assert_eq!(store.load_all().unwrap(), vec![record.clone()]);

        // The body text is not cached.
        record.note.text = "some searchable text".into();
        let mut store = store;
        upsert(&mut store, &[&record]);
        assert_eq!(store.load_all().unwrap()[0].note.text, "");
    }

    #[test]
    fn empty_note_round_trips() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let record = NoteRecord {
            path: vp("empty.md"),
            meta: FileMeta {
                mtime_ns: -5,
                size: 0,
                hash: String::new(),
            },
            note: ParsedNote {
                diagnostics: vec![Diagnostic {
                    code: DiagnosticCode::EmptyFile,
                    message: "empty".into(),
                    line: None,
                }],
                ..ParsedNote::default()
            },
            resolved: Vec::new(),
        };
        upsert(&mut store, &[&record]);
        assert_eq!(store.load_all().unwrap(), vec![record]);
    }

    #[test]
    fn children_stay_with_their_notes() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let records: Vec<NoteRecord> = (0..20)
            .map(|i| {
                if i % 3 == 0 {
                    full_record(&format!("n{i:02}.md"))
                } else {
                    small_record(&format!("n{i:02}.md"), &format!("t{i}"), Some("n00.md"))
                }
            })
            .collect();
        // Insert in reverse so row ids and path order disagree.
        let refs: Vec<&NoteRecord> = records.iter().rev().collect();
        upsert(&mut store, &refs);
        assert_eq!(sorted(store.load_all().unwrap()), records);
    }
}

mod writes {
    use super::*;

    #[test]
    fn upsert_replaces_children() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        let (mut store, _) = open(&path);
        let full = full_record("a.md");
        upsert(&mut store, &[&full, &small_record("b.md", "keep", None)]);
        let replacement = small_record("a.md", "only", Some("b.md"));
        upsert(&mut store, &[&replacement]);
        upsert(&mut store, &[&replacement]);

        let loaded = sorted(store.load_all().unwrap());
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[0], replacement);
        assert_eq!(count(&path, "notes"), 2);
        assert_eq!(count(&path, "tags"), 2);
        assert_eq!(count(&path, "links"), 2);
        for table in ["headings", "blocks", "tasks", "callouts", "external_links"] {
            assert_eq!(count(&path, table), 0, "{table}");
        }
    }

    #[test]
    fn delete_cascades() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        let (mut store, _) = open(&path);
        let a = full_record("a.md");
        let b = small_record("b.md", "t", Some("a.md"));
        upsert(&mut store, &[&a, &b]);
        let gone = vp("a.md");
        let never_stored = vp("nope.md");
        store
            .apply(&ChangeSet {
                deletes: vec![&gone, &never_stored],
                ..ChangeSet::default()
            })
            .unwrap();
        assert_eq!(store.load_all().unwrap(), vec![b]);
        assert_eq!(count(&path, "notes"), 1);
        for table in CHILD_TABLES {
            let expected = i64::from(matches!(*table, "tags" | "links"));
            assert_eq!(count(&path, table), expected, "{table}");
        }
    }

    #[test]
    fn delete_then_upsert_of_one_path_keeps_it() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let old = full_record("a.md");
        upsert(&mut store, &[&old]);
        let new = small_record("a.md", "new", None);
        store
            .apply(&ChangeSet {
                deletes: vec![&old.path],
                upserts: vec![&new],
                ..ChangeSet::default()
            })
            .unwrap();
        assert_eq!(store.load_all().unwrap(), vec![new]);
    }

    #[test]
    fn resolutions_update() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        let mut record = full_record("a.md");
        {
            let (mut store, _) = open(&path);
            upsert(&mut store, &[&record]);
            let source = vp("a.md");
            let created = vp("Missing note.md");
            store
                .apply(&ChangeSet {
                    resolutions: vec![(&source, 2, Some(&created)), (&source, 0, None)],
                    ..ChangeSet::default()
                })
                .unwrap();
        }
        record.resolved[2] = Some(vp("Missing note.md"));
        record.resolved[0] = None;
        let (store, _) = open(&path);
        assert_eq!(store.load_all().unwrap(), vec![record]);
    }

    #[test]
    fn unknown_link_fails_the_whole_change_set() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let record = small_record("a.md", "t", None);
        upsert(&mut store, &[&record]);
        let source = vp("a.md");
        let target = vp("b.md");
        let stranger = vp("stranger.md");
        let later = small_record("later.md", "t", None);
        for bad in [(&source, 1_u32), (&stranger, 0)] {
            let err = store
                .apply(&ChangeSet {
                    upserts: vec![&later],
                    resolutions: vec![(&source, 0, Some(&target)), (bad.0, bad.1, None)],
                    meta: vec![("k", "v".into())],
                    ..ChangeSet::default()
                })
                .unwrap_err();
            assert!(
                matches!(&err, StoreError::UnknownLink { note, index, .. }
                    if note == bad.0.as_str() && *index == bad.1),
                "{err:?}"
            );
            assert!(err.to_string().contains(&format!("`{}`", bad.0)), "{err}");
        }
        // Nothing from the failed change sets was kept.
        assert_eq!(store.load_all().unwrap(), vec![record]);
        assert_eq!(store.meta("k").unwrap(), None);
    }

    #[test]
    fn resolved_must_match_links() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let mut record = small_record("a.md", "t", None);
        record.resolved.push(None);
        let err = store
            .apply(&ChangeSet {
                upserts: vec![&record],
                ..ChangeSet::default()
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidRecord { .. }), "{err:?}");
        assert!(err.to_string().contains("`2`"), "{err}");
        assert!(!err.is_damaged());
        assert!(store.load_all().unwrap().is_empty());
    }

    #[test]
    fn meta_set_get_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        {
            let (mut store, _) = open(&path);
            assert_eq!(store.meta("search_generation").unwrap(), None);
            store
                .apply(&ChangeSet {
                    meta: vec![("search_generation", "1".into()), ("vault", "ü".into())],
                    ..ChangeSet::default()
                })
                .unwrap();
            store
                .apply(&ChangeSet {
                    meta: vec![("search_generation", "2".into())],
                    ..ChangeSet::default()
                })
                .unwrap();
        }
        let (store, _) = open(&path);
        assert_eq!(
            store.meta("search_generation").unwrap().as_deref(),
            Some("2")
        );
        assert_eq!(store.meta("vault").unwrap().as_deref(), Some("ü"));
        assert_eq!(count(&path, "meta"), 2);
    }

    #[test]
    fn clear_removes_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        let (mut store, _) = open(&path);
        let a = full_record("a.md");
        store
            .apply(&ChangeSet {
                upserts: vec![&a],
                meta: vec![("search_generation", "1".into())],
                ..ChangeSet::default()
            })
            .unwrap();
        store.clear().unwrap();
        assert!(store.load_all().unwrap().is_empty());
        assert_eq!(store.meta("search_generation").unwrap(), None);
        for table in CHILD_TABLES.iter().chain(&["notes", "meta"]) {
            assert_eq!(count(&path, table), 0, "{table}");
        }
        // Still usable afterwards.
        upsert(&mut store, &[&a]);
        assert_eq!(store.load_all().unwrap(), vec![a]);
    }

    #[test]
    fn trait_object_works() {
        let mut store: Box<dyn Store> = Box::new(SqliteStore::open_in_memory().unwrap());
        let a = small_record("a.md", "t", None);
        store
            .apply(&ChangeSet {
                upserts: vec![&a],
                ..ChangeSet::default()
            })
            .unwrap();
        assert_eq!(store.load_all().unwrap(), vec![a]);
    }
}

mod recovery {
    use super::*;

    fn reason(outcome: OpenOutcome) -> String {
        match outcome {
            OpenOutcome::Rebuilt { reason } => reason,
            other => panic!("expected Rebuilt, got {other:?}"),
        }
    }

    /// Opens the rebuilt store and checks it is fresh and usable.
    fn assert_fresh_and_usable(mut store: SqliteStore) {
        assert!(store.load_all().unwrap().is_empty());
        let a = small_record("a.md", "t", None);
        upsert(&mut store, &[&a]);
        assert_eq!(store.load_all().unwrap(), vec![a]);
    }

    #[test]
    fn creates_missing_parent_folders() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b").join("c").join("cache.db");
        let (_store, outcome) = open(&path);
        assert_eq!(outcome, OpenOutcome::Created);
        assert!(path.is_file());
    }

    #[test]
    fn environmental_failures_are_errors_not_rebuilds() {
        // A folder where the database should be cannot be fixed by deleting files: the open
        // fails, naming the path, and the folder and its contents are left alone.
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        std::fs::create_dir_all(path.join("keep")).unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Database { .. }), "{err:?}");
        assert!(!err.is_damaged());
        assert!(
            err.to_string().contains(&format!("`{}`", path.display())),
            "{err}"
        );
        assert!(path.join("keep").is_dir());
    }

    #[test]
    fn garbage_file_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            "this is not a database, just some text\n".repeat(100),
        )
        .unwrap();
        std::fs::write(path.with_file_name("cache.db-wal"), b"stale wal garbage").unwrap();
        let (store, outcome) = open(&path);
        let reason = reason(outcome);
        assert!(reason.contains("not a SQLite database"), "{reason}");
        assert!(reason.contains(&path.display().to_string()), "{reason}");
        assert_fresh_and_usable(store);
    }

    #[test]
    fn newer_schema_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        {
            let (mut store, _) = open(&path);
            upsert(&mut store, &[&small_record("old.md", "t", None)]);
        }
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 9999).unwrap();
        drop(conn);
        let (store, outcome) = open(&path);
        let reason = reason(outcome);
        assert!(reason.contains("`9999`"), "{reason}");
        assert!(reason.contains("newer"), "{reason}");
        assert_fresh_and_usable(store);
    }

    #[test]
    fn foreign_database_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA application_id = 42; CREATE TABLE other (x);")
            .unwrap();
        drop(conn);
        let (store, outcome) = open(&path);
        let reason = reason(outcome);
        assert!(reason.contains("another application"), "{reason}");
        assert_fresh_and_usable(store);
    }

    #[test]
    fn failing_migration_is_rebuilt() {
        // A schema-less database whose tables clash with ours: the first migration fails.
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (x);").unwrap();
        drop(conn);
        let (store, outcome) = open(&path);
        let reason = reason(outcome);
        assert!(reason.contains("migration `0001_init` failed"), "{reason}");
        assert_fresh_and_usable(store);
    }

    #[test]
    fn damaged_pages_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        {
            let (mut store, _) = open(&path);
            let records: Vec<NoteRecord> =
                (0..200).map(|i| full_record(&format!("n{i}.md"))).collect();
            upsert(&mut store, &records.iter().collect::<Vec<_>>());
        }
        // Closing the last connection checkpointed the WAL into the main file.
        let mut bytes = std::fs::read(&path).unwrap();
        let page = 4096;
        assert!(
            bytes.len() > 20 * page,
            "database is only {} bytes",
            bytes.len()
        );
        let end = bytes.len() - 2 * page;
        for byte in &mut bytes[3 * page..end] {
            *byte = 0xA5;
        }
        std::fs::write(&path, &bytes).unwrap();
        let (store, outcome) = open(&path);
        let reason = reason(outcome);
        assert!(reason.contains(&path.display().to_string()), "{reason}");
        assert_fresh_and_usable(store);
    }

    #[test]
    fn altered_values_are_reported_as_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        let (mut store, _) = open(&path);
        upsert(&mut store, &[&full_record("a.md")]);
        let conn = Connection::open(&path).unwrap();
        conn.execute("UPDATE links SET kind = 'bogus' WHERE ord = 1", [])
            .unwrap();
        let err = store.load_all().unwrap_err();
        assert!(err.is_damaged(), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("`bogus`"), "{message}");
        assert!(message.contains("`a.md`"), "{message}");

        // The documented way out: delete the files and open again.
        drop(store);
        drop(conn);
        SqliteStore::delete_files(&path).unwrap();
        let (store, outcome) = open(&path);
        assert_eq!(outcome, OpenOutcome::Created);
        assert!(store.load_all().unwrap().is_empty());
    }

    /// Copies the database and its side files, as a crash would leave them, into `to`.
    fn snapshot(from: &Path, to: &Path) -> Vec<String> {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        let mut copied = Vec::new();
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let source = PathBuf::from(format!("{}{suffix}", from.display()));
            if source.exists() {
                std::fs::copy(&source, format!("{}{suffix}", to.display())).unwrap();
                copied.push(suffix.to_owned());
            }
        }
        copied
    }

    /// Starts a large write on `path` that spills uncommitted pages to disk, and leaves it open.
    fn start_unfinished_write(conn: &Connection) {
        conn.execute_batch("PRAGMA cache_size = 10; BEGIN IMMEDIATE;")
            .unwrap();
        let filler = "x".repeat(2000);
        for i in 0..500 {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                (format!("uncommitted-{i}"), &filler),
            )
            .unwrap();
        }
    }

    #[test]
    fn crashed_writer_in_wal_mode_leaves_a_usable_cache() {
        // A writer process that dies leaves `cache.db`, `cache.db-wal` (committed frames not
        // yet checkpointed, plus frames of its unfinished transaction) and `cache.db-shm`; the
        // operating system releases its locks. Copying the files while the writer is still
        // inside its transaction reproduces exactly that state at another path. SQLite's WAL
        // recovery then keeps the committed frames and ignores the rest.
        let dir = tempfile::tempdir().unwrap();
        let live = db_path(&dir);
        let (mut store, _) = open(&live);
        let committed = full_record("committed.md");
        store
            .apply(&ChangeSet {
                upserts: vec![&committed],
                meta: vec![("search_generation", "5".into())],
                ..ChangeSet::default()
            })
            .unwrap();
        let writer = Connection::open(&live).unwrap();
        start_unfinished_write(&writer);

        let crashed = dir.path().join("crashed").join("cache.db");
        let copied = snapshot(&live, &crashed);
        assert!(copied.contains(&"-wal".to_owned()), "{copied:?}");
        let wal_len = std::fs::metadata(format!("{}-wal", crashed.display()))
            .unwrap()
            .len();
        assert!(
            wal_len > 500 * 2000,
            "the unfinished write did not spill: {wal_len}"
        );
        drop(writer);
        drop(store);

        let (store, outcome) = open(&crashed);
        assert_eq!(outcome, OpenOutcome::Opened);
        assert_eq!(store.load_all().unwrap(), vec![committed]);
        assert_eq!(
            store.meta("search_generation").unwrap().as_deref(),
            Some("5")
        );
        assert_eq!(store.meta("uncommitted-0").unwrap(), None);
    }

    #[test]
    fn hot_rollback_journal_is_rolled_back() {
        // A cache last written in rollback-journal mode by a writer that died mid-transaction:
        // the main file already holds some uncommitted pages and `cache.db-journal` holds the
        // originals. SQLite treats such a "hot" journal as a crash and rolls it back on the
        // first read, before our open validates the file.
        let dir = tempfile::tempdir().unwrap();
        let live = db_path(&dir);
        let committed = full_record("committed.md");
        {
            let (mut store, _) = open(&live);
            upsert(&mut store, &[&committed]);
        }
        let writer = Connection::open(&live).unwrap();
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "DELETE", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        start_unfinished_write(&writer);

        let crashed = dir.path().join("crashed").join("cache.db");
        let copied = snapshot(&live, &crashed);
        assert!(copied.contains(&"-journal".to_owned()), "{copied:?}");
        let main_len = std::fs::metadata(&crashed).unwrap().len();
        assert!(
            main_len > 500 * 2000,
            "the unfinished write did not spill: {main_len}"
        );
        drop(writer);

        let (store, outcome) = open(&crashed);
        assert_eq!(outcome, OpenOutcome::Opened);
        assert_eq!(store.load_all().unwrap(), vec![committed]);
        assert_eq!(store.meta("uncommitted-0").unwrap(), None);
        assert_eq!(count(&crashed, "meta"), 0);
    }
}

mod scale {
    use super::*;

    /// A synthetic note shaped like an average vault note: 7 links, 3 tags, 4 headings.
    fn synthetic(i: usize, notes: usize) -> NoteRecord {
        let path = format!("folder{}/note {i}.md", i % 50);
        let links = (0..7)
            .map(|k| Link {
                kind: if k == 6 {
                    LinkKind::Embed
                } else {
                    LinkKind::Wikilink
                },
                target: format!("note {}", (i * 7 + k) % notes),
                fragment: (k == 3).then(|| Fragment::Heading("Section 2".into())),
                display: (k % 2 == 0).then(|| format!("display {k}")),
                line: 10 + u32::try_from(k).unwrap(),
                range: 100 + k * 30..120 + k * 30,
                target_range: 102 + k * 30..110 + k * 30,
            })
            .collect();
        let resolved = (0..7)
            .map(|k| {
                let t = (i * 7 + k) % notes;
                (k != 5).then(|| vp(&format!("folder{}/note {t}.md", t % 50)))
            })
            .collect();
        NoteRecord {
            path: vp(&path),
            meta: FileMeta {
                mtime_ns: 1_700_000_000_000_000_000 + i64::try_from(i).unwrap(),
                size: 1500,
                hash: format!("{i:064x}"),
            },
            note: ParsedNote {
                title: format!("note {i}"),
                tags: (0..3)
                    .map(|k| Tag {
                        name: format!("tag{}", (i + k) % 40),
                        source: if k == 0 {
                            TagSource::Frontmatter
                        } else {
                            TagSource::Inline
                        },
                        line: 2 + u32::try_from(k).unwrap(),
                    })
                    .collect(),
                frontmatter: i.is_multiple_of(2).then(|| {
                    let mut map = serde_json::Map::new();
                    map.insert("tags".into(), json!([format!("tag{}", i % 40)]));
                    map
                }),
                frontmatter_range: i.is_multiple_of(2).then_some(0..30),
                headings: (0..4)
                    .map(|k| Heading {
                        level: 1 + u8::try_from(k).unwrap(),
                        text: format!("Section {k}"),
                        anchor: format!("Section {k}"),
                        line: 20 + u32::try_from(k).unwrap() * 5,
                        range: 300 + k * 100..315 + k * 100,
                    })
                    .collect(),
                links,
                word_count: 250,
                ..ParsedNote::default()
            },
            resolved,
        }
    }

    #[test]
    fn ten_thousand_notes_round_trip() {
        const NOTES: usize = 10_000;
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        let records: Vec<NoteRecord> = (0..NOTES).map(|i| synthetic(i, NOTES)).collect();
        let (mut store, _) = open(&path);

        let started = Instant::now();
        upsert(&mut store, &records.iter().collect::<Vec<_>>());
        eprintln!("apply of {NOTES} notes: {:?}", started.elapsed());

        let started = Instant::now();
        let loaded = store.load_all().unwrap();
        eprintln!("load_all of {NOTES} notes (warm): {:?}", started.elapsed());
        assert_eq!(loaded.len(), NOTES);
        drop(store);

        let started = Instant::now();
        let (store, outcome) = open(&path);
        eprintln!("reopen: {:?}", started.elapsed());
        assert_eq!(outcome, OpenOutcome::Opened);
        let started = Instant::now();
        let loaded = store.load_all().unwrap();
        eprintln!(
            "load_all of {NOTES} notes (after reopen): {:?}",
            started.elapsed()
        );

        assert_eq!(count(&path, "links"), 7 * 10_000);
        assert_eq!(count(&path, "tags"), 3 * 10_000);
        assert_eq!(count(&path, "headings"), 4 * 10_000);
        assert_eq!(sorted(loaded), sorted(records));
    }
}

mod embeddings {
    use super::*;

    fn hash(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn kept_by_model_and_hash_across_clear_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        {
            let (mut store, _) = open(&path);
            let (a, b) = (vec![0.5f32, -1.0, 2.25], vec![1.0f32, 0.0, 0.0]);
            store
                .put_embeddings("minilm", &[(hash(1), &a), (hash(2), &b)])
                .unwrap();
            store.put_embeddings("other", &[(hash(1), &b)]).unwrap();
            assert_eq!(
                store
                    .embeddings("minilm", &[hash(2), hash(3), hash(1)])
                    .unwrap(),
                [Some(b.clone()), None, Some(a.clone())]
            );
            // Replacing one keeps the others.
            store.put_embeddings("minilm", &[(hash(2), &a)]).unwrap();
            assert_eq!(store.embeddings("minilm", &[hash(2)]).unwrap(), [Some(a)]);
            store.clear().unwrap();
        }
        let (mut store, outcome) = open(&path);
        assert_eq!(outcome, OpenOutcome::Opened);
        assert!(store.embeddings("minilm", &[hash(1)]).unwrap()[0].is_some());
        // Pruning drops other models and hashes not kept.
        let keep: std::collections::HashSet<[u8; 32]> = [hash(1)].into_iter().collect();
        assert_eq!(store.prune_embeddings("minilm", &keep).unwrap(), 2);
        assert!(store.embeddings("minilm", &[hash(1)]).unwrap()[0].is_some());
        assert!(store.embeddings("minilm", &[hash(2)]).unwrap()[0].is_none());
        assert!(store.embeddings("other", &[hash(1)]).unwrap()[0].is_none());
    }

    #[test]
    fn a_vector_of_broken_length_reads_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir);
        let (store, _) = open(&path);
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO embeddings (model, hash, vector) VALUES ('m', ?1, x'010203')",
            [&hash(9)[..]],
        )
        .unwrap();
        assert_eq!(store.embeddings("m", &[hash(9)]).unwrap(), [None]);
    }
}
