//! Semantic search on the real all-MiniLM-L6-v2 (see `weaver-embed`'s tests for where it
//! comes from); skipped with a message without it, unless `WEAVER_TEST_MODEL_DIR` names one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use weaver_app::{AppError, Embedder, Scope, SemanticStatus, SharedEmbeddings, Vault};
use weaver_core::VaultPath;

use crate::fixture::{eventually_within, open, vault, write};

pub fn embedder() -> Option<Arc<Embedder>> {
    static EMBEDDER: OnceLock<Option<Arc<Embedder>>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            let dir = weaver_testkit::test_model_dir()?;
            Some(Arc::new(Embedder::load(&dir).unwrap()))
        })
        .clone()
}

const NOTES: &str = "\
//- Refunds.md
# Refund policy
If you bought a license by mistake, ask for your money back within 30 days.
## Who to write to
Send the order number to the billing team.
//- Licenses.md
# Commercial license
A company with two or more people using the app needs a commercial license per seat.
//- Graph.md
# Graph view
The graph view draws your notes as dots and their links as lines between them.
//- Sync.md
# Sync
Sync keeps the vault the same on your phone, tablet and computer.
";

fn complete(vault: &Vault) -> SemanticStatus {
    let mut status = SemanticStatus::default();
    eventually_within(Duration::from_secs(300), "every note embedded", || {
        status = vault.semantic_status().unwrap();
        status.complete() && status.chunks > 0
    });
    status
}

fn paths(hits: &[weaver_app::SemanticHit]) -> Vec<&str> {
    hits.iter().map(|h| h.path.as_str()).collect()
}

#[test]
fn questions_find_notes_by_meaning_and_restarts_reuse_the_cache() {
    let Some(embedder) = embedder() else { return };
    let dir = vault(NOTES);
    let vault = Arc::new(open(dir.path()).0);
    vault.enable_semantic(Arc::clone(&embedder));
    let first = complete(&vault);
    assert_eq!(first.notes, 4);
    // Refunds has two sections; the others one each.
    assert_eq!(first.chunks, 5);
    assert_eq!((first.chunks_computed, first.chunks_cached), (5, 0));

    let hits = vault
        .semantic_search("how can I get a reimbursement for my purchase", 3, |_| {
            false
        })
        .unwrap();
    assert_eq!(paths(&hits)[0], "Refunds.md", "{hits:?}");
    assert!(
        hits[0].text.starts_with("Refunds > Refund policy"),
        "{:?}",
        hits[0]
    );
    let hits = vault
        .semantic_search("a picture of how my pages connect", 2, |_| false)
        .unwrap();
    assert_eq!(paths(&hits)[0], "Graph.md", "{hits:?}");
    let skipped = vault
        .semantic_search("a picture of how my pages connect", 2, |p| {
            p.as_str() == "Graph.md"
        })
        .unwrap();
    assert!(!paths(&skipped).contains(&"Graph.md"));

    // Similar notes: the license note is nearer to the refund note than the graph one.
    let refunds = VaultPath::new("Refunds.md").unwrap();
    let similar = vault.similar_notes(&refunds, 3, |_| false).unwrap();
    assert!(!paths(&similar).contains(&"Refunds.md"));
    assert_eq!(paths(&similar)[0], "Licenses.md", "{similar:?}");

    // A restart embeds nothing: every chunk comes from the cache.
    drop(vault);
    let vault = Arc::new(open(dir.path()).0);
    vault.enable_semantic(Arc::clone(&embedder));
    let again = complete(&vault);
    assert_eq!((again.chunks_computed, again.chunks_cached), (0, 5));

    // An edit of one section embeds that chunk only; a deleted note is forgotten.
    write(
        dir.path(),
        "Refunds.md",
        "# Refund policy\nIf you bought a license by mistake, ask for your money back within 30 days.\n## Who to write to\nWrite to support with your receipt.\n",
    );
    std::fs::remove_file(dir.path().join("Sync.md")).unwrap();
    vault.sync(&Scope::All).unwrap();
    eventually_within(Duration::from_secs(300), "the edit embedded", || {
        let status = vault.semantic_status().unwrap();
        status.complete() && status.chunks == 4
    });
    let status = vault.semantic_status().unwrap();
    assert_eq!(status.chunks_computed, 1, "{status:?}");
    let hits = vault
        .semantic_search("keep my devices in step", 4, |_| false)
        .unwrap();
    assert!(!paths(&hits).contains(&"Sync.md"));
}

/// A model id and a chunk text hash.
type ShareKey = (String, [u8; 32]);

/// A shared cache in memory, as another process would hold it (cluster mode keeps one in
/// PostgreSQL, tested in `weaver-cluster`).
#[derive(Debug, Default)]
struct MemoryShare {
    vectors: Mutex<HashMap<ShareKey, Vec<f32>>>,
    fail: AtomicBool,
}

impl SharedEmbeddings for MemoryShare {
    fn get(&self, model: &str, hashes: &[[u8; 32]]) -> Result<Vec<Option<Vec<f32>>>, String> {
        if self.fail.load(Ordering::Relaxed) {
            return Err("the shared cache is away".to_owned());
        }
        let vectors = self.vectors.lock().unwrap();
        Ok(hashes
            .iter()
            .map(|h| vectors.get(&(model.to_owned(), *h)).cloned())
            .collect())
    }

    fn put(&self, model: &str, entries: &[([u8; 32], &[f32])]) -> Result<(), String> {
        if self.fail.load(Ordering::Relaxed) {
            return Err("the shared cache is away".to_owned());
        }
        let mut vectors = self.vectors.lock().unwrap();
        for (hash, vector) in entries {
            vectors
                .entry((model.to_owned(), *hash))
                .or_insert_with(|| vector.to_vec());
        }
        Ok(())
    }
}

#[test]
fn a_second_process_takes_the_vectors_another_computed_from_the_shared_cache() {
    let Some(embedder) = embedder() else { return };
    let share = Arc::new(MemoryShare::default());
    let first_dir = vault(NOTES);
    let first = Arc::new(open(first_dir.path()).0);
    first.enable_semantic_sharing(Arc::clone(&embedder), Some(share.clone()));
    let status = complete(&first);
    assert_eq!((status.chunks_computed, status.chunks_shared), (5, 0));
    assert_eq!(share.vectors.lock().unwrap().len(), 5);

    // Another copy of the vault, with a cache of its own that is empty: nothing computed.
    let second_dir = vault(NOTES);
    let second = Arc::new(open(second_dir.path()).0);
    second.enable_semantic_sharing(Arc::clone(&embedder), Some(share.clone()));
    let status = complete(&second);
    assert_eq!(
        (
            status.chunks_computed,
            status.chunks_shared,
            status.chunks_cached
        ),
        (0, 5, 5)
    );
    let question = "how can I get a reimbursement for my purchase";
    let hits = second.semantic_search(question, 1, |_| false).unwrap();
    assert_eq!(paths(&hits), ["Refunds.md"]);

    // A shared cache that fails does not stop embedding: the model computes.
    share.fail.store(true, Ordering::Relaxed);
    let third_dir = vault(NOTES);
    let third = Arc::new(open(third_dir.path()).0);
    third.enable_semantic_sharing(Arc::clone(&embedder), Some(share));
    let status = complete(&third);
    assert_eq!((status.chunks_computed, status.chunks_shared), (5, 0));
}

#[test]
fn without_a_model_semantic_search_is_off() {
    let dir = vault(NOTES);
    let vault = open(dir.path()).0;
    assert!(vault.semantic_status().is_none());
    let error = vault.semantic_search("anything", 3, |_| false).unwrap_err();
    assert!(matches!(error, AppError::SemanticOff), "{error:?}");
    assert_eq!(error.code().as_str(), "semantic_unavailable");
}

#[test]
fn status_reads_while_the_worker_writes_never_deadlock() {
    // Regression: `semantic_status` read one lock twice in one statement, and in the opposite
    // order to the worker; a writer queued in between stopped both for good (a hung `stats`
    // and a stalled embedding). Stand-in vectors make the worker take its write locks many
    // times in a few seconds without running the model.
    let Some(embedder) = embedder() else { return };
    let mut spec = String::new();
    for i in 0..1500 {
        spec.push_str(&format!("//- n/{i}.md\n# Note {i}\nText of note {i}.\n"));
    }
    let dir = vault(&spec);
    let vault = Arc::new(open(dir.path()).0);
    let dimensions = embedder.dimensions();
    vault
        .cache_stand_in_embeddings(&embedder, |hash| {
            (0..dimensions)
                .map(|i| f32::from(hash[i % 32]) - 127.5)
                .collect()
        })
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let vault = Arc::clone(&vault);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    std::hint::black_box(vault.semantic_status());
                }
            })
        })
        .collect();
    vault.enable_semantic(Arc::clone(&embedder));
    // A deadlock hangs `complete` too: it runs on its own thread, watched with a deadline.
    let (sender, receiver) = std::sync::mpsc::channel();
    let watched = Arc::clone(&vault);
    std::thread::spawn(move || sender.send(complete(&watched)));
    let status = receiver
        .recv_timeout(Duration::from_secs(300))
        .expect("semantic_status and the worker stopped each other (deadlock)");
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.join().unwrap();
    }
    assert_eq!((status.notes, status.chunks_computed), (1500, 0));
}
