//! `weaver search`: query syntax, filters, paging, and both output forms.

use crate::cli::support::{TestVault, owned, sorted};

#[test]
fn a_word_finds_notes_ranked_with_the_best_match_first() {
    let vault = TestVault::demo();
    let value = vault.json(&["search", "milliseconds"]);
    assert_eq!(value["total"], 1);
    let hit = &value["items"][0];
    assert_eq!(hit["path"], "Daily/2026/11/2026-11-27.md");
    assert_eq!(hit["title"], "2026-11-27");
    assert!(hit["score"].as_f64().unwrap() > 0.0);
    // The highlight ranges point at the word inside the snippet.
    let snippet = hit["snippet"].as_str().unwrap();
    let range = &hit["highlights"][0];
    let (start, end) = (
        range["start"].as_u64().unwrap() as usize,
        range["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&snippet[start..end], "milliseconds");
}

#[test]
fn accents_and_case_are_folded() {
    let vault = TestVault::demo();
    let expected = owned(&[
        "Concepts/Café culture.md",
        "Concepts/Wikilinks.md",
        "Daily/2026/11/2026-11-27.md",
    ]);
    for query in ["cafe", "café", "CAFÉ", "Cafe"] {
        let (hits, total) = vault.search(&[query]);
        assert_eq!(total, 3, "{query}");
        assert_eq!(sorted(hits.clone()), expected, "{query}");
        // The note named after the word ranks first.
        assert_eq!(hits[0], "Concepts/Café culture.md", "{query}");
    }
}

#[test]
fn a_phrase_matches_words_in_order() {
    let vault = TestVault::demo();
    let (hits, total) = vault.search(&["\"knowledge graph\""]);
    assert_eq!(total, 2);
    assert_eq!(
        sorted(hits),
        owned(&["Projects/Knowledge garden.md", "Welcome.md"])
    );
    let (_, reversed) = vault.search(&["\"graph knowledge\""]);
    assert_eq!(reversed, 0);
}

#[test]
fn any_word_matches_plus_requires_and_minus_excludes() {
    let vault = TestVault::demo();
    // Any word: the note with both (and in its title) first.
    let (any, _) = vault.search(&["cafe culture"]);
    assert_eq!(any[0], "Concepts/Café culture.md");
    assert!(any.contains(&"Concepts/Wikilinks.md".to_owned()), "{any:?}");
    let (both, _) = vault.search(&["+cafe +culture"]);
    assert_eq!(
        sorted(both),
        owned(&["Concepts/Café culture.md", "Daily/2026/11/2026-11-27.md"])
    );
    let (excluded, total) = vault.search(&["cafe -culture"]);
    assert_eq!(total, 1);
    assert_eq!(excluded, owned(&["Concepts/Wikilinks.md"]));
}

#[test]
fn a_trailing_star_matches_a_prefix() {
    let vault = TestVault::demo();
    let (_, exact) = vault.search(&["zettel"]);
    assert_eq!(exact, 0);
    let (hits, total) = vault.search(&["zettel*"]);
    assert!(total >= 1);
    assert!(
        hits.contains(&"Concepts/Zettelkasten.md".to_owned()),
        "{hits:?}"
    );
    assert_eq!(hits.len() as u64, total);
}

#[test]
fn cjk_text_is_searchable() {
    let vault = TestVault::demo();
    let (hits, total) = vault.search(&["東京"]);
    assert_eq!(total, 1);
    assert_eq!(hits, owned(&["Concepts/Café culture.md"]));
}

#[test]
fn tag_filter_includes_nested_tags() {
    let vault = TestVault::demo();
    let (hits, total) = vault.search(&["--tag", "weaver"]);
    assert_eq!(total, 2);
    assert_eq!(sorted(hits), owned(&["Weaver.md", "Welcome.md"]));
    let (hits, _) = vault.search(&["--tag", "weaver/demo"]);
    assert_eq!(hits, owned(&["Welcome.md"]));
    // A tag filter matches whole path segments, not a string prefix.
    let (_, partial) = vault.search(&["--tag", "wea"]);
    assert_eq!(partial, 0);
    // Frontmatter and inline tags both count.
    let (hits, _) = vault.search(&["--tag", "method"]);
    assert_eq!(
        sorted(hits),
        owned(&["Concepts/Wikilinks.md", "Concepts/Zettelkasten.md"])
    );
    // Two tag filters must both match.
    let (hits, _) = vault.search(&["--tag", "method", "--tag", "method/zettelkasten"]);
    assert_eq!(hits, owned(&["Concepts/Zettelkasten.md"]));
}

#[test]
fn folder_filter_includes_subfolders() {
    let vault = TestVault::demo();
    let (hits, total) = vault.search(&["--folder", "Concepts"]);
    assert_eq!(total, 3);
    assert_eq!(
        sorted(hits),
        owned(&[
            "Concepts/Café culture.md",
            "Concepts/Wikilinks.md",
            "Concepts/Zettelkasten.md"
        ])
    );
    let (hits, _) = vault.search(&["--folder", "Daily"]);
    assert_eq!(
        sorted(hits),
        owned(&["Daily/2026/11/2026-11-26.md", "Daily/2026/11/2026-11-27.md"])
    );
    let (_, partial) = vault.search(&["--folder", "Concept"]);
    assert_eq!(partial, 0);
    // Combined with words.
    let (hits, _) = vault.search(&["cafe", "--folder", "Daily"]);
    assert_eq!(hits, owned(&["Daily/2026/11/2026-11-27.md"]));
}

#[test]
fn field_filter_matches_frontmatter() {
    let vault = TestVault::demo();
    let (hits, _) = vault.search(&["--field", "status:active"]);
    assert_eq!(hits, owned(&["Projects/Knowledge garden.md"]));
    let (hits, _) = vault.search(&["--field", "status:evergreen"]);
    assert_eq!(hits, owned(&["Concepts/Zettelkasten.md"]));
    let (_, none) = vault.search(&["--field", "status:archived"]);
    assert_eq!(none, 0);

    let bad = vault.run(&["search", "--field", "status"]).exit(2);
    assert!(bad.stderr.contains("`status`"), "{}", bad.stderr);
}

/// 2020-01-01, 2021-01-01 and 2022-01-01 at midnight UTC, in Unix seconds.
const Y2020: u64 = 1_577_836_800;
const Y2021: u64 = 1_609_459_200;
const Y2022: u64 = 1_640_995_200;

/// The demo vault with distinct modification times on the three `Concepts/` notes, oldest
/// first: Café culture (2020), Wikilinks (2021), Zettelkasten (2022).
fn dated_demo() -> TestVault {
    let vault = TestVault::demo();
    vault.set_mtime("Concepts/Café culture.md", Y2020);
    vault.set_mtime("Concepts/Wikilinks.md", Y2021);
    vault.set_mtime("Concepts/Zettelkasten.md", Y2022);
    vault
}

#[test]
fn modification_date_filters() {
    let vault = dated_demo();
    let (hits, _) = vault.search(&["--folder", "Concepts", "--after", "2021-01-01"]);
    assert_eq!(
        hits,
        owned(&["Concepts/Zettelkasten.md", "Concepts/Wikilinks.md"])
    );
    let (hits, _) = vault.search(&["--folder", "Concepts", "--before", "2021-01-01"]);
    assert_eq!(hits, owned(&["Concepts/Café culture.md"]));
    let (hits, _) = vault.search(&["--after", "2020-06-01", "--before", "2021-06-01T12:00:00Z"]);
    assert_eq!(hits, owned(&["Concepts/Wikilinks.md"]));
    let (_, future) = vault.search(&["--after", "2999-01-01"]);
    assert_eq!(future, 0);
    let (_, past) = vault.search(&["--before", "2999-01-01"]);
    assert_eq!(past, 9);

    let bad = vault.run(&["search", "--after", "2024-13-01"]).exit(2);
    assert!(
        bad.one_stderr_line().contains("`2024-13-01`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn filter_only_results_are_newest_first_and_page_consistently() {
    let vault = dated_demo();
    let (all, total) = vault.search(&["--folder", "Concepts"]);
    assert_eq!(total, 3);
    assert_eq!(
        all,
        owned(&[
            "Concepts/Zettelkasten.md",
            "Concepts/Wikilinks.md",
            "Concepts/Café culture.md"
        ])
    );
    let (first, first_total) = vault.search(&["--folder", "Concepts", "--limit", "2"]);
    let (rest, rest_total) =
        vault.search(&["--folder", "Concepts", "--limit", "2", "--offset", "2"]);
    assert_eq!((first_total, rest_total), (3, 3));
    assert_eq!(first.len(), 2);
    assert_eq!(rest.len(), 1);
    let paged: Vec<String> = first.into_iter().chain(rest).collect();
    assert_eq!(paged, all);
    let (beyond, beyond_total) = vault.search(&["--folder", "Concepts", "--offset", "10"]);
    assert!(beyond.is_empty());
    assert_eq!(beyond_total, 3);
}

#[test]
fn ranked_results_page_consistently() {
    let vault = TestVault::demo();
    // Three hits with clearly different scores.
    let (all, total) = vault.search(&["cafe"]);
    assert_eq!(total, 3);
    let (first, _) = vault.search(&["cafe", "--limit", "1"]);
    let (rest, _) = vault.search(&["cafe", "--limit", "5", "--offset", "1"]);
    let paged: Vec<String> = first.into_iter().chain(rest).collect();
    assert_eq!(paged, all);
}

#[test]
fn an_empty_query_lists_every_note() {
    let vault = TestVault::demo();
    let (hits, total) = vault.search(&[]);
    assert_eq!(total, 9);
    assert_eq!(hits.len(), 9);
}

#[test]
fn no_results_is_success() {
    let vault = TestVault::demo();
    let value = vault.json(&["search", "zqxnothingmatches"]);
    assert_eq!(
        value,
        serde_json::json!({ "mode": "keyword", "partial": false, "items": [], "total": 0 })
    );
    let text = vault.run(&["search", "zqxnothingmatches"]).success();
    assert_eq!(text.stdout, "0 of 0 results, keyword ranking\n");
}

#[test]
fn text_output_marks_highlights() {
    let vault = TestVault::demo();
    let run = vault.run(&["search", "milliseconds"]).success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[0].starts_with("Daily/2026/11/2026-11-27.md  2026-11-27  ("));
    assert!(lines[1].contains("**milliseconds**"), "{}", lines[1]);
    assert_eq!(lines[2], "1 of 1 results, keyword ranking");
}

#[test]
fn oversized_queries_fail_with_the_stable_code() {
    let vault = TestVault::demo();
    let flood = "a* ".repeat(8_000);
    let run = vault.run(&["search", &flood]).exit(2);
    assert_eq!(
        run.one_stderr_line(),
        "error: [query_too_long] query text of `24000` bytes is over the limit of 1024 bytes"
    );
    let run = vault.run(&["search", "a* b* c* d* e* f* g* h* i*"]).exit(2);
    assert!(
        run.one_stderr_line()
            .starts_with("error: [query_too_complex] query has `9` prefix terms"),
        "{}",
        run.one_stderr_line()
    );
}
