//! Search modes (keyword, semantic, hybrid), similar notes and unlinked mentions through
//! `Vault::find`, `Vault::similar` and `Vault::unlinked_mentions`, on the real model where one
//! is needed (skipped with a message without it, see `semantic.rs`).

use std::sync::Arc;
use std::time::Duration;

use weaver_app::{
    AppError, ModelState, Page, SearchAnswer, SearchMode, SearchQuery, SemanticModel, Vault,
};

use crate::fixture::{eventually_within, never, open, vault};
use crate::semantic::embedder;

const NOTES: &str = "\
//- Billing/Refunds.md
---
tags: [billing]
---
# Refund policy
If you bought a license by mistake, ask for your money back within 30 days.
## Who to write to
Send the order number to the billing team.
//- Billing/Licenses.md
---
tags: [billing]
---
# Commercial license
A company with two or more people using the app needs a commercial license per seat.
//- Guides/Graph view.md
# Graph view
The graph view draws your notes as dots and their links as lines between them.
//- Guides/Sync.md
# Sync
Sync keeps the vault the same on your phone, tablet and computer. See [[Graph view]].
//- Guides/Themes.md
# Themes
Change colours and fonts with a theme. A draft about the colours of the graph view.
";

fn query(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.to_owned(),
        limit: 10,
        ..SearchQuery::default()
    }
}

fn paths(answer: &SearchAnswer) -> Vec<&str> {
    answer.hits.iter().map(|h| h.path.as_str()).collect()
}

/// A vault of `NOTES` with semantic search on and every note embedded; `None` without a model.
fn embedded() -> Option<(tempfile::TempDir, Arc<Vault>)> {
    let embedder = embedder()?;
    let dir = vault(NOTES);
    let vault = Arc::new(open(dir.path()).0);
    let model = SemanticModel::loaded(embedder);
    model.attach(&vault);
    eventually_within(Duration::from_secs(300), "every note embedded", || {
        vault.semantic_status().is_some_and(|s| s.complete())
    });
    Some((dir, vault))
}

#[test]
fn without_a_model_search_is_keyword_and_semantic_modes_are_refused() {
    let dir = vault(NOTES);
    let vault = open(dir.path()).0;
    let answer = vault.find(&query("graph view"), None).unwrap();
    assert_eq!(answer.mode, SearchMode::Keyword);
    assert!(!answer.partial);
    assert_eq!(paths(&answer)[0], "Guides/Graph view.md");
    assert!(answer.hits.iter().all(|h| h.keyword && h.chunk.is_none()));
    for mode in [SearchMode::Semantic, SearchMode::Hybrid] {
        let error = vault.find(&query("graph view"), Some(mode)).unwrap_err();
        assert!(matches!(error, AppError::SemanticOff), "{error:?}");
        assert_eq!(error.code().as_str(), "semantic_unavailable");
    }
    // A model that is off or missing attaches to nothing.
    let off = SemanticModel::off("none here");
    let vault = Arc::new(vault);
    off.attach(&vault);
    assert!(vault.semantic_status().is_none());
    assert_eq!(off.state(), ModelState::Off("none here".to_owned()));
}

#[test]
fn a_missing_or_broken_model_folder_fails_by_name_and_keyword_search_goes_on() {
    let missing = tempfile::tempdir().unwrap();
    let model = SemanticModel::load_in_background(missing.path().join("nothing-here"));
    let ModelState::Failed(error) = model.wait(Duration::from_secs(60)) else {
        panic!("{:?}", model.state());
    };
    assert!(error.contains("config.json"), "{error}");
    // A truncated weights file is named too.
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("config.json"), "{}").unwrap();
    std::fs::write(broken.path().join("tokenizer.json"), "{}").unwrap();
    std::fs::write(broken.path().join("model.safetensors"), b"\x08\x00").unwrap();
    let model = SemanticModel::load_in_background(broken.path().to_owned());
    let ModelState::Failed(error) = model.wait(Duration::from_secs(60)) else {
        panic!("{:?}", model.state());
    };
    assert!(
        error.contains("config.json")
            || error.contains("tokenizer.json")
            || error.contains("model.safetensors"),
        "{error}"
    );
    let dir = vault(NOTES);
    let vault = Arc::new(open(dir.path()).0);
    model.attach(&vault);
    assert!(vault.semantic_status().is_none());
    assert_eq!(
        vault.find(&query("sync"), None).unwrap().mode,
        SearchMode::Keyword
    );
}

#[test]
fn questions_without_shared_words_are_answered_by_meaning_and_hybrid_is_the_default() {
    let Some((_dir, vault)) = embedded() else {
        return;
    };
    let question = "reimburse my purchase";
    // No note has these words: keyword search finds nothing...
    let keyword = vault
        .find(&query(question), Some(SearchMode::Keyword))
        .unwrap();
    assert_eq!(keyword.total, 0, "{keyword:?}");
    // ... meaning finds the refund policy first, and says which part matched.
    let semantic = vault
        .find(&query(question), Some(SearchMode::Semantic))
        .unwrap();
    assert_eq!(semantic.mode, SearchMode::Semantic);
    assert!(!semantic.partial);
    assert_eq!(paths(&semantic)[0], "Billing/Refunds.md", "{semantic:?}");
    let best = &semantic.hits[0];
    assert!(!best.keyword);
    let chunk = best.chunk.as_ref().unwrap();
    assert!(chunk.heading.starts_with("Refund policy"), "{chunk:?}");
    assert!((-1.0..=1.0).contains(&chunk.similarity));
    assert!(
        !best.snippet.is_empty() && best.highlights.is_empty(),
        "{best:?}"
    );
    // With a model, no mode means hybrid.
    let hybrid = vault.find(&query(question), None).unwrap();
    assert_eq!(hybrid.mode, SearchMode::Hybrid);
    assert_eq!(paths(&hybrid)[0], "Billing/Refunds.md", "{hybrid:?}");

    // A note both rankings find is marked by both.
    let both = vault.find(&query("graph view of links"), None).unwrap();
    let graph = both
        .hits
        .iter()
        .find(|h| h.path == "Guides/Graph view.md")
        .unwrap();
    assert!(graph.keyword && graph.chunk.is_some(), "{graph:?}");
    assert!(!graph.highlights.is_empty());
    // Scores are the fused ones, best first.
    assert!(both.hits.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn filters_and_explicit_syntax_hold_in_every_mode() {
    let Some((_dir, vault)) = embedded() else {
        return;
    };
    for mode in [SearchMode::Semantic, SearchMode::Hybrid] {
        let in_folder = SearchQuery {
            folder: Some("Guides".to_owned()),
            ..query("get my money back")
        };
        let answer = vault.find(&in_folder, Some(mode)).unwrap();
        assert!(!answer.hits.is_empty());
        assert!(
            paths(&answer).iter().all(|p| p.starts_with("Guides/")),
            "{mode:?}: {answer:?}"
        );
        let tagged = SearchQuery {
            tags: vec!["billing".to_owned()],
            ..query("pictures of connections")
        };
        let answer = vault.find(&tagged, Some(mode)).unwrap();
        assert_eq!(answer.total, 2, "{mode:?}: {answer:?}");
        // `-excluded` keeps a note out; `+required` keeps only notes that have the word.
        let answer = vault
            .find(&query("money back -mistake"), Some(mode))
            .unwrap();
        assert!(
            !paths(&answer).contains(&"Billing/Refunds.md"),
            "{answer:?}"
        );
        let answer = vault.find(&query("money back +theme"), Some(mode)).unwrap();
        assert_eq!(paths(&answer), ["Guides/Themes.md"], "{mode:?}");
        let answer = vault
            .find(&query("\"commercial license\""), Some(mode))
            .unwrap();
        assert_eq!(paths(&answer), ["Billing/Licenses.md"], "{mode:?}");
    }
    // Nothing to rank by: a keyword listing whatever the mode.
    for text in ["", "?!", "-graph"] {
        let answer = vault
            .find(&query(text), Some(SearchMode::Semantic))
            .unwrap();
        assert_eq!(answer.mode, SearchMode::Keyword, "{text:?}");
    }
    // Paging walks the same ranking.
    let all = vault.find(&query("notes and licenses"), None).unwrap();
    let second = vault
        .find(
            &SearchQuery {
                limit: 2,
                offset: 2,
                ..query("notes and licenses")
            },
            None,
        )
        .unwrap();
    assert_eq!(paths(&second), paths(&all)[2..4]);
    // Over-long queries are refused in every mode, as keyword search refuses them.
    let long = query(&"word ".repeat(300));
    let error = vault.find(&long, Some(SearchMode::Hybrid)).unwrap_err();
    assert_eq!(error.code().as_str(), "query_too_long");
}

#[test]
fn similar_notes_leave_out_the_note_and_what_it_links_to() {
    let Some((_dir, vault)) = embedded() else {
        return;
    };
    let similar = vault.similar("Refunds", 10).unwrap();
    assert_eq!(similar.path.as_str(), "Billing/Refunds.md");
    assert!(!similar.partial);
    let found: Vec<&str> = similar.items.iter().map(|n| n.path.as_str()).collect();
    assert!(!found.contains(&"Billing/Refunds.md"));
    assert_eq!(found[0], "Billing/Licenses.md", "{similar:?}");
    assert!(
        similar
            .items
            .iter()
            .all(|n| (-1.0..=1.0001).contains(&n.similarity)),
        "{similar:?}"
    );
    // Sync links to Graph view: never suggested for it.
    let similar = vault.similar("Sync", 10).unwrap();
    assert!(
        !similar
            .items
            .iter()
            .any(|n| n.path.as_str() == "Guides/Graph view.md"),
        "{similar:?}"
    );
    assert!(matches!(
        vault.similar("No such note", 3).unwrap_err(),
        AppError::NoteNotFound { .. }
    ));
}

const MENTIONS: &str = "\
//- Zettelkasten.md
---
aliases: [slip box]
---
# Zettelkasten
A method of notes.
//- Linked.md
I use the [[Zettelkasten]] method, and I say Zettelkasten again.
//- Plain.md
Some text.
Luhmann's zettelkasten had 90,000 cards.
//- By alias.md
My Slip Box is full.
//- Inside a link.md
See [[Other note|the zettelkasten way]] for more.
//- Part of a word.md
Zettelkastens and MyZettelkasten are other words.
//- Code.md
Nothing about it here.
";

#[test]
fn unlinked_mentions_by_title_and_alias_outside_links_and_whole_words_only() {
    let dir = vault(MENTIONS);
    let vault = open(dir.path()).0;
    let found = vault
        .unlinked_mentions(
            "Zettelkasten",
            Page {
                limit: 50,
                offset: 0,
            },
            &never(),
        )
        .unwrap();
    let sources: Vec<(&str, &str, u32)> = found
        .items
        .iter()
        .map(|m| (m.source.as_str(), m.name.as_str(), m.line))
        .collect();
    assert_eq!(
        sources,
        [
            ("By alias.md", "slip box", 1),
            ("Plain.md", "Zettelkasten", 2)
        ],
        "{found:?}"
    );
    assert_eq!(found.total, 2);
    let plain = &found.items[1];
    assert_eq!(plain.context, "Luhmann's zettelkasten had 90,000 cards.");
    // Paging.
    let second = vault
        .unlinked_mentions(
            "Zettelkasten",
            Page {
                limit: 1,
                offset: 1,
            },
            &never(),
        )
        .unwrap();
    assert_eq!(second.total, 2);
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].source.as_str(), "Plain.md");
    // A cancelled request stops.
    let cancel = never();
    cancel.cancel();
    assert!(matches!(
        vault
            .unlinked_mentions(
                "Zettelkasten",
                Page {
                    limit: 50,
                    offset: 0
                },
                &cancel
            )
            .unwrap_err(),
        AppError::Cancelled
    ));
}

#[test]
fn answers_are_partial_from_a_change_until_it_is_embedded() {
    let Some(embedder) = embedder() else { return };
    let dir = vault(NOTES);
    let vault = Arc::new(open(dir.path()).0);
    let handle = vault.enable_semantic(embedder);
    eventually_within(Duration::from_secs(300), "every note embedded", || {
        vault.semantic_status().is_some_and(|s| s.complete())
    });
    let ask = || {
        vault
            .find(&query("money back"), Some(SearchMode::Hybrid))
            .unwrap()
    };
    assert!(!ask().partial);
    // Asked again on the same snapshot: still complete (the kept answer).
    assert!(!ask().partial);
    // With the worker stopped, a new note is never embedded: every answer says so.
    handle.stop();
    crate::fixture::write(
        dir.path(),
        "Guides/Export.md",
        "# Export\nSave notes as PDF.\n",
    );
    vault.sync(&weaver_app::Scope::All).unwrap();
    assert!(ask().partial);
    assert!(ask().partial);
    assert!(vault.similar("Refunds", 5).unwrap().partial);
    // An edit of an embedded note makes its vectors stale: partial too, even once the new
    // note is gone again.
    std::fs::remove_file(dir.path().join("Guides/Export.md")).unwrap();
    vault.sync(&weaver_app::Scope::All).unwrap();
    crate::fixture::write(dir.path(), "Guides/Sync.md", "# Sync\nNow about backups.\n");
    vault.sync(&weaver_app::Scope::All).unwrap();
    assert!(ask().partial);
}
