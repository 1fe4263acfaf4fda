//! Behaviour of the search index through its public API, on real tantivy indexes (in memory
//! and in temporary directories).

// clippy.toml allows these in `#[test]` functions and `#[cfg(test)]` modules, which does not
// cover the shared fixture helpers of an integration-test crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use weaver_search::{SearchDoc, SearchError, SearchIndex, SearchQuery, SearchResults};

/// The error of a search that must fail.
fn refused(index: &SearchIndex, query: &SearchQuery) -> SearchError {
    match index.search(query) {
        Ok(results) => panic!("query {query:?} ran: {} hits", results.total),
        Err(error) => error,
    }
}

/// A note for fixtures; `doc()` borrows it as a [`SearchDoc`].
#[derive(Default, Clone)]
struct Note {
    path: String,
    title: String,
    aliases: Vec<String>,
    headings: Vec<String>,
    tags: Vec<String>,
    body: String,
    frontmatter: Option<serde_json::Map<String, serde_json::Value>>,
    modified: i64,
}

impl Note {
    fn new(path: &str, body: &str) -> Note {
        let title = path
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".md")
            .to_owned();
        Note {
            path: path.to_owned(),
            title,
            body: body.to_owned(),
            ..Note::default()
        }
    }

    fn title(mut self, title: &str) -> Note {
        self.title = title.to_owned();
        self
    }

    fn tags(mut self, tags: &[&str]) -> Note {
        self.tags = tags.iter().map(|t| (*t).to_owned()).collect();
        self
    }

    fn aliases(mut self, aliases: &[&str]) -> Note {
        self.aliases = aliases.iter().map(|t| (*t).to_owned()).collect();
        self
    }

    fn headings(mut self, headings: &[&str]) -> Note {
        self.headings = headings.iter().map(|t| (*t).to_owned()).collect();
        self
    }

    fn frontmatter(mut self, value: serde_json::Value) -> Note {
        self.frontmatter = Some(value.as_object().unwrap().clone());
        self
    }

    fn modified(mut self, modified: i64) -> Note {
        self.modified = modified;
        self
    }

    fn doc(&self) -> SearchDoc<'_> {
        SearchDoc {
            path: &self.path,
            title: &self.title,
            aliases: &self.aliases,
            headings: self.headings.iter().map(String::as_str).collect(),
            tags: self.tags.iter().map(String::as_str).collect(),
            body: &self.body,
            frontmatter: self.frontmatter.as_ref(),
            modified: self.modified,
        }
    }
}

fn add(index: &SearchIndex, notes: &[Note], generation: u64) {
    let mut batch = index.batch().unwrap();
    for note in notes {
        batch.upsert(&note.doc()).unwrap();
    }
    batch.commit(generation).unwrap();
}

fn index_with(notes: &[Note]) -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    add(&index, notes, 1);
    index
}

fn text(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.to_owned(),
        ..SearchQuery::default()
    }
}

fn run(index: &SearchIndex, query: &SearchQuery) -> SearchResults {
    index
        .search(query)
        .unwrap_or_else(|e| panic!("query {query:?} failed: {e}"))
}

/// Paths of all hits, in result order.
fn paths(index: &SearchIndex, query: &SearchQuery) -> Vec<String> {
    let results = run(index, query);
    assert!(results.hits.len() <= results.total);
    results.hits.into_iter().map(|hit| hit.path).collect()
}

/// Paths of all hits, sorted (for queries where the order is not the point).
fn sorted_paths(index: &SearchIndex, query: &SearchQuery) -> Vec<String> {
    let mut found = paths(index, query);
    found.sort();
    found
}

mod query_language {
    use super::*;

    fn check(index: &SearchIndex, query: &str, expected: &[&str]) {
        assert_eq!(
            sorted_paths(index, &text(query)),
            expected,
            "query: {query:?}"
        );
    }

    #[test]
    fn any_word_matches_and_notes_with_every_word_rank_first() {
        let index = index_with(&[
            Note::new("n1.md", "alpha and beta"),
            Note::new("n2.md", "only alpha here"),
            Note::new("n3.md", "only beta here"),
        ]);
        check(&index, "alpha beta", &["n1.md", "n2.md", "n3.md"]);
        assert_eq!(paths(&index, &text("alpha beta"))[0], "n1.md");
        check(&index, "alpha", &["n1.md", "n2.md"]);
        check(&index, "alpha gamma", &["n1.md", "n2.md"]);
        check(&index, "gamma", &[]);
    }

    #[test]
    fn plus_requires_a_word() {
        let index = index_with(&[
            Note::new("n1.md", "alpha and beta"),
            Note::new("n2.md", "only alpha here"),
            Note::new("n3.md", "only beta here"),
        ]);
        check(&index, "+alpha +beta", &["n1.md"]);
        check(&index, "+alpha beta", &["n1.md", "n2.md"]);
        assert_eq!(paths(&index, &text("+alpha beta"))[0], "n1.md");
        check(&index, "+alpha +gamma", &[]);
        check(&index, "+alp* beta", &["n1.md", "n2.md"]);
    }

    #[test]
    fn terms_may_match_in_different_fields() {
        let index = index_with(&[
            Note::new("a.md", "the body mentions kiwi")
                .title("Fruit")
                .aliases(&["Orchard"])
                .headings(&["Harvest"])
                .tags(&["garden/trees"]),
            Note::new("b.md", "kiwi alone"),
        ]);
        check(&index, "+fruit +kiwi", &["a.md"]);
        check(&index, "+orchard +harvest +trees +kiwi", &["a.md"]);
        assert_eq!(
            paths(&index, &text("orchard harvest trees kiwi")),
            ["a.md", "b.md"]
        );
        check(&index, "garden", &["a.md"]);
    }

    #[test]
    fn quoted_phrases_need_consecutive_words() {
        let index = index_with(&[
            Note::new("exact.md", "we want exact words here"),
            Note::new("swapped.md", "words exact are swapped"),
            Note::new("apart.md", "exact and then words"),
        ]);
        check(&index, "\"exact words\"", &["exact.md"]);
        check(
            &index,
            "exact words",
            &["apart.md", "exact.md", "swapped.md"],
        );
        // Unquoted, the words near each other rank first.
        assert_eq!(paths(&index, &text("exact words"))[0], "exact.md");
        // A quoted phrase is required; the words beside it only rank.
        check(&index, "\"EXACT words\" want", &["exact.md"]);
        check(&index, "\"words exact\" want", &["swapped.md"]);
    }

    #[test]
    fn prefixes_expand_over_the_dictionary() {
        let index = index_with(&[
            Note::new("a.md", "planning the launch"),
            Note::new("b.md", "the planet is round"),
            Note::new("c.md", "a plain note"),
        ]);
        check(&index, "plan*", &["a.md", "b.md"]);
        check(&index, "planni*", &["a.md"]);
        check(&index, "+plan* +launch", &["a.md"]);
        assert_eq!(paths(&index, &text("plan* launch")), ["a.md", "b.md"]);
        check(&index, "zzz*", &[]);
        check(&index, "PLAN*", &["a.md", "b.md"]);
    }

    #[test]
    fn minus_excludes() {
        let index = index_with(&[
            Note::new("a.md", "alpha beta"),
            Note::new("b.md", "alpha gamma"),
            Note::new("c.md", "delta"),
        ]);
        check(&index, "alpha -beta", &["b.md"]);
        check(&index, "alpha -\"alpha gamma\"", &["a.md"]);
        check(&index, "alpha -gam*", &["a.md"]);
        // Only exclusions: everything else, unranked.
        check(&index, "-alpha", &["c.md"]);
    }

    #[test]
    fn accents_fold_both_ways() {
        let index = index_with(&[
            Note::new("accented.md", "un café crème"),
            Note::new("plain.md", "a cafe latte"),
        ]);
        check(&index, "cafe", &["accented.md", "plain.md"]);
        check(&index, "café", &["accented.md", "plain.md"]);
        check(&index, "CAFÉ", &["accented.md", "plain.md"]);
        check(&index, "creme", &["accented.md"]);
        check(&index, "cre\u{0300}me", &["accented.md"]);
    }

    #[test]
    fn case_does_not_matter() {
        let index = index_with(&[Note::new("a.md", "Rust and TANTIVY")]);
        check(&index, "rust", &["a.md"]);
        check(&index, "RUST tantivy", &["a.md"]);
        check(&index, "rUsT", &["a.md"]);
    }

    #[test]
    fn cjk_words_are_found_inside_sentences() {
        let index = index_with(&[
            Note::new("tokyo.md", "私は東京に住んでいます"),
            Note::new("kyoto.md", "京都と東の話"),
            Note::new("seoul.md", "서울특별시에 살아요"),
        ]);
        check(&index, "東京", &["tokyo.md"]);
        check(&index, "東", &["kyoto.md", "tokyo.md"]);
        check(&index, "住んで", &["tokyo.md"]);
        check(&index, "서울", &["seoul.md"]);
        check(&index, "東京 -住", &[]);
        // A sentence typed without spaces matches by its character pairs.
        assert_eq!(paths(&index, &text("東京に行きたい")), ["tokyo.md"]);
        check(&index, "\"東京に行きたい\"", &[]);
    }

    #[test]
    fn path_words_are_searchable_but_not_the_extension() {
        let index = index_with(&[
            Note::new("Projects/Plan.md", "nothing").title("Roadmap"),
            Note::new("other.md", "nothing"),
        ]);
        check(&index, "plan", &["Projects/Plan.md"]);
        check(&index, "projects", &["Projects/Plan.md"]);
        check(&index, "md", &[]);
    }

    #[test]
    fn odd_queries_never_fail() {
        let index = index_with(&[
            Note::new("a.md", "some unbalanced text"),
            Note::new("b.md", "other"),
        ]);
        for query in [
            "",
            " ",
            "\"",
            "\"unbalanced",
            "***",
            "*",
            "-",
            "--",
            "((",
            "))",
            "a AND OR NOT",
            "field:value",
            "\"\"",
            "-\"",
            "^~!@#$%&",
            "\u{0000}\u{FFFF}",
            "\u{0301}",
            "x*y*z*",
            "[[link]]",
            "#tag",
            // One word longer than any token: nothing to search for, like an empty query.
            &"a".repeat(weaver_search::MAX_QUERY_BYTES),
            &"word ".repeat(weaver_search::MAX_QUERY_CLAUSES),
        ] {
            let results = index.search(&text(query));
            assert!(results.is_ok(), "query {query:?}: {results:?}");
        }
        check(&index, "\"unbalanced", &["a.md"]);
        // Nothing searchable in the text: behaves like an empty query.
        check(&index, "***", &["a.md", "b.md"]);
        check(&index, "((", &["a.md", "b.md"]);
    }

    #[test]
    fn title_matches_rank_above_body_matches() {
        let index = index_with(&[
            Note::new("body.md", "a few words about gardening and other things").title("Misc"),
            Note::new("title.md", "a few words about plants and other things").title("Gardening"),
            Note::new("alias.md", "a few words about soil and other things")
                .title("Dirt")
                .aliases(&["Gardening notes"]),
        ]);
        assert_eq!(
            paths(&index, &text("gardening")),
            ["title.md", "alias.md", "body.md"]
        );
        let results = run(&index, &text("gardening"));
        assert!(results.hits[0].score > results.hits[2].score);
    }
}

/// Questions in plain words: any word matches, the best answer first.
mod relaxed {
    use super::*;

    fn help_vault() -> SearchIndex {
        index_with(&[
            Note::new(
                "Refunds.md",
                "If you bought a license by mistake, ask for your money back within 30 days.",
            )
            .title("Refund policy"),
            Note::new(
                "Licenses.md",
                "A commercial license is needed when a company with two or more people uses it.",
            )
            .title("Commercial license"),
            Note::new(
                "Graph.md",
                "The graph view shows how your notes link to each other.",
            )
            .title("Graph view"),
            Note::new("Sync.md", "Sync keeps your vault the same on every device.").title("Sync"),
        ])
    }

    #[test]
    fn a_question_finds_its_answer_first() {
        let index = help_vault();
        let hits = paths(
            &index,
            &text("how do I get my money back after buying a license?"),
        );
        assert_eq!(hits[0], "Refunds.md", "{hits:?}");
        assert!(hits.contains(&"Licenses.md".to_owned()));
        assert_eq!(
            paths(&index, &text("see how notes link to each other"))[0],
            "Graph.md"
        );
    }

    #[test]
    fn stop_words_alone_do_not_match_but_a_query_of_them_still_works() {
        let index = index_with(&[
            Note::new("zebra.md", "a zebra"),
            Note::new("other.md", "the other one is not here"),
            Note::new("hamlet.md", "to be or not to be"),
        ]);
        // `the` and `is` are stop words: only the zebra note answers.
        check(&index, "the zebra is", &["zebra.md"]);
        // Nothing but stop words: they are the question.
        assert_eq!(paths(&index, &text("to be or not to be"))[0], "hamlet.md");
        // Quoted or required, a stop word is a word.
        check(&index, "zebra +the", &["other.md"]);
        check(&index, "\"not to be\"", &["hamlet.md"]);
    }

    #[test]
    fn stop_words_of_another_language_need_evidence() {
        let index = index_with(&[
            Note::new("export.md", "Notizen exportieren geht so"),
            Note::new("die.md", "die hard is a film"),
            Note::new("wie.md", "wie"),
        ]);
        // Three German stop words turn German on: `wie` no longer matches alone.
        check(&index, "wie kann ich notizen exportieren", &["export.md"]);
        // A lone `die` in an English query is a word.
        check(&index, "die film", &["die.md"]);
    }

    #[test]
    fn only_punctuation_or_empty_lists_newest_notes() {
        let index = help_vault();
        assert_eq!(run(&index, &text("?!")).total, 4);
        assert_eq!(run(&index, &text("")).total, 4);
    }

    fn check(index: &SearchIndex, query: &str, expected: &[&str]) {
        assert_eq!(
            sorted_paths(index, &text(query)),
            expected,
            "query: {query:?}"
        );
    }
}

mod limits {
    use weaver_search::{
        MAX_FILTER_BYTES, MAX_FILTERS, MAX_PREFIX_CLAUSES, MAX_PREFIX_EXPANSIONS, MAX_QUERY_BYTES,
        MAX_QUERY_CLAUSES, MAX_QUERY_TOKENS,
    };

    use super::*;

    fn small() -> SearchIndex {
        index_with(&[
            Note::new("a.md", "alpha beta gamma"),
            Note::new("b.md", "alpha delta"),
        ])
    }

    /// `count` space-separated copies of `clause`.
    fn repeated(clause: &str, count: usize) -> String {
        vec![clause; count].join(" ")
    }

    fn too_complex(error: &SearchError, expected: usize, limit: usize) -> bool {
        matches!(error, SearchError::QueryTooComplex { count, max, .. }
            if *count == expected && *max == limit)
    }

    #[test]
    fn the_adversarial_prefix_flood_is_refused_before_any_work() {
        // Finding 9 of issue 10: 24 KB of `a* ` took 10 s and 500 MB.
        let query = text(&"a* ".repeat(8_000));
        let error = refused(&small(), &query);
        assert!(
            matches!(
                error,
                SearchError::QueryTooLong { what: "query text", bytes: 24_000, max }
                    if max == MAX_QUERY_BYTES
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("query text of `24000` bytes is over the limit of {MAX_QUERY_BYTES} bytes")
        );
        // The same flood within the byte limit is refused for its clauses.
        let error = refused(&small(), &text(&"a* ".repeat(MAX_QUERY_BYTES / 3)));
        assert!(
            too_complex(&error, MAX_QUERY_BYTES / 3, MAX_QUERY_CLAUSES),
            "{error:?}"
        );
    }

    #[test]
    fn queries_at_each_limit_run_and_one_more_is_refused() {
        let index = small();
        let at_limit = [
            format!("alpha {}", "x".repeat(MAX_QUERY_BYTES - 6)),
            repeated("alpha", MAX_QUERY_CLAUSES),
            format!("\"{}\"", repeated("alpha", MAX_QUERY_TOKENS)),
            repeated("alp*", MAX_PREFIX_CLAUSES),
            format!("{} -zzz", repeated("alpha", MAX_QUERY_CLAUSES - 1)),
        ];
        for query in &at_limit {
            assert!(index.search(&text(query)).is_ok(), "query {query:?}");
        }
        assert_eq!(run(&index, &text(&at_limit[3])).total, 2);

        let long = refused(&index, &text(&format!("{} ", at_limit[0])));
        assert!(matches!(long, SearchError::QueryTooLong { .. }), "{long:?}");
        let clauses = refused(&index, &text(&repeated("alpha", MAX_QUERY_CLAUSES + 1)));
        assert!(too_complex(
            &clauses,
            MAX_QUERY_CLAUSES + 1,
            MAX_QUERY_CLAUSES
        ));
        // Exclusions count as clauses too.
        let excluded = format!("{} -zzz", repeated("alpha", MAX_QUERY_CLAUSES));
        assert!(too_complex(
            &refused(&index, &text(&excluded)),
            MAX_QUERY_CLAUSES + 1,
            MAX_QUERY_CLAUSES
        ));
        let phrase = format!("\"{}\"", repeated("alpha", MAX_QUERY_TOKENS + 1));
        let tokens = refused(&index, &text(&phrase));
        assert!(
            too_complex(&tokens, MAX_QUERY_TOKENS + 1, MAX_QUERY_TOKENS),
            "{tokens:?}"
        );
        // CJK characters are a word each.
        let cjk = "東".repeat(MAX_QUERY_TOKENS + 1);
        assert!(too_complex(
            &refused(&index, &text(&cjk)),
            MAX_QUERY_TOKENS + 1,
            MAX_QUERY_TOKENS
        ));
        let prefixes = refused(&index, &text(&repeated("alp*", MAX_PREFIX_CLAUSES + 1)));
        assert!(too_complex(
            &prefixes,
            MAX_PREFIX_CLAUSES + 1,
            MAX_PREFIX_CLAUSES
        ));
        assert_eq!(
            prefixes.to_string(),
            format!(
                "query has `{}` prefix terms, over the limit of {MAX_PREFIX_CLAUSES}",
                MAX_PREFIX_CLAUSES + 1
            )
        );
    }

    #[test]
    fn filters_are_bounded_in_number_and_length() {
        let index = small();
        let tags = |count: usize| SearchQuery {
            tags: vec!["tag".to_owned(); count],
            ..SearchQuery::default()
        };
        assert!(index.search(&tags(MAX_FILTERS)).is_ok());
        let error = refused(&index, &tags(MAX_FILTERS + 1));
        assert!(
            too_complex(&error, MAX_FILTERS + 1, MAX_FILTERS),
            "{error:?}"
        );
        let mixed = SearchQuery {
            fields: vec![("k".to_owned(), "v".to_owned())],
            ..tags(MAX_FILTERS)
        };
        assert!(too_complex(
            &refused(&index, &mixed),
            MAX_FILTERS + 1,
            MAX_FILTERS
        ));

        let huge = "x".repeat(MAX_FILTER_BYTES + 1);
        let queries = [
            (
                "tag filter",
                SearchQuery {
                    tags: vec![huge.clone()],
                    ..SearchQuery::default()
                },
            ),
            (
                "folder filter",
                SearchQuery {
                    folder: Some(huge.clone()),
                    ..SearchQuery::default()
                },
            ),
            (
                "field filter key",
                SearchQuery {
                    fields: vec![(huge.clone(), "v".to_owned())],
                    ..SearchQuery::default()
                },
            ),
            (
                "field filter value",
                SearchQuery {
                    fields: vec![("k".to_owned(), huge.clone())],
                    ..SearchQuery::default()
                },
            ),
        ];
        for (expected, query) in &queries {
            let error = refused(&index, query);
            assert!(
                matches!(error, SearchError::QueryTooLong { what, .. } if what == *expected),
                "{expected}: {error:?}"
            );
        }
    }

    #[test]
    fn a_prefix_matching_fifty_thousand_terms_is_bounded() {
        // 5,000 notes with 10 distinct words each, all starting with `zeta`, in two segments.
        let index = SearchIndex::in_memory().unwrap();
        for (generation, notes) in [(1, 0..2_500), (2, 2_500..5_000)] {
            let notes: Vec<Note> = notes
                .map(|n: usize| {
                    let words: Vec<String> =
                        (0..10).map(|w| format!("zeta{:05}", n * 10 + w)).collect();
                    Note::new(&format!("n{n:04}.md"), &words.join(" "))
                })
                .collect();
            add(&index, &notes, generation);
        }
        assert_eq!(index.num_docs(), 5_000);

        let results = run(
            &index,
            &SearchQuery {
                text: "zeta*".to_owned(),
                limit: weaver_search::MAX_LIMIT,
                ..SearchQuery::default()
            },
        );
        // Each term is in one note; at most MAX_PREFIX_EXPANSIONS terms are searched for.
        assert!(results.total > 0);
        assert!(results.total <= MAX_PREFIX_EXPANSIONS, "{}", results.total);
        assert_eq!(results.hits.len(), results.total);
        for hit in &results.hits {
            assert!(!hit.highlights.is_empty(), "{hit:?}");
        }
        // As many such prefixes as allowed still run (and here match nothing together).
        let many = repeated("zeta*", MAX_PREFIX_CLAUSES);
        assert!(run(&index, &text(&many)).total <= MAX_PREFIX_EXPANSIONS);
        let one_more = refused(&index, &text(&repeated("zeta*", MAX_PREFIX_CLAUSES + 1)));
        assert!(too_complex(
            &one_more,
            MAX_PREFIX_CLAUSES + 1,
            MAX_PREFIX_CLAUSES
        ));
    }
}

mod filters {
    use super::*;

    fn notes() -> Vec<Note> {
        vec![
            Note::new("Projects/a.md", "shared words")
                .tags(&["Area/Sub"])
                .modified(100)
                .frontmatter(serde_json::json!({
                    "status": "Done",
                    "authors": ["Ann", "Bob"],
                    "priority": 2,
                    "draft": true,
                })),
            Note::new("Projects/x/b.md", "shared words")
                .tags(&["area"])
                .modified(200)
                .frontmatter(serde_json::json!({ "status": "open", "priority": 2.5 })),
            Note::new("Projects2/c.md", "shared words")
                .tags(&["areas", "other/area"])
                .modified(300),
            Note::new("root.md", "shared words").modified(400),
        ]
    }

    fn query(build: impl FnOnce(&mut SearchQuery)) -> SearchQuery {
        let mut query = SearchQuery::default();
        build(&mut query);
        query
    }

    /// What semantic search asks of the index: which of its candidates the filters and the
    /// explicit syntax keep, whatever the optional words.
    #[test]
    fn matching_paths_keeps_filters_and_required_and_excluded_clauses_only() {
        let mut all = notes();
        all.push(Note::new("Projects/d.md", "other text entirely").modified(500));
        let index = index_with(&all);
        let every: Vec<&str> = all.iter().map(|n| n.path.as_str()).collect();
        let matching = |query: &SearchQuery, paths: &[&str]| {
            let mut found: Vec<String> = index
                .matching_paths(query, paths)
                .unwrap()
                .into_iter()
                .collect();
            found.sort();
            found
        };
        // Optional words do not restrict: every candidate is kept.
        assert_eq!(matching(&text("nothing matches this"), &every).len(), 5);
        assert_eq!(
            matching(&text("anything +entirely"), &every),
            ["Projects/d.md"]
        );
        assert_eq!(matching(&text("-shared"), &every), ["Projects/d.md"]);
        assert_eq!(
            matching(&text("\"shared words\""), &every),
            [
                "Projects/a.md",
                "Projects/x/b.md",
                "Projects2/c.md",
                "root.md"
            ]
        );
        let in_projects = query(|q| {
            q.text = "words".to_owned();
            q.folder = Some("Projects".to_owned());
        });
        assert_eq!(
            matching(&in_projects, &every),
            ["Projects/a.md", "Projects/d.md", "Projects/x/b.md"]
        );
        // Only the candidates asked about, and unknown paths are no error.
        assert_eq!(
            matching(&in_projects, &["root.md", "Projects/a.md", "gone.md"]),
            ["Projects/a.md"]
        );
        assert!(matching(&in_projects, &[]).is_empty());
        let since = query(|q| q.modified_after = Some(300));
        assert_eq!(
            matching(&since, &every),
            ["Projects/d.md", "Projects2/c.md", "root.md"]
        );
        // Bounded as a search is.
        let long = text(&"x ".repeat(600));
        assert!(matches!(
            index.matching_paths(&long, &every),
            Err(SearchError::QueryTooLong { .. })
        ));
    }

    #[test]
    fn tags_match_nested_prefixes_by_whole_segments() {
        let index = index_with(&notes());
        let by_tags = |tags: &[&str]| {
            sorted_paths(
                &index,
                &query(|q| q.tags = tags.iter().map(|t| (*t).to_owned()).collect()),
            )
        };
        assert_eq!(by_tags(&["#area"]), ["Projects/a.md", "Projects/x/b.md"]);
        assert_eq!(by_tags(&["AREA"]), ["Projects/a.md", "Projects/x/b.md"]);
        assert_eq!(by_tags(&["area/sub"]), ["Projects/a.md"]);
        assert_eq!(by_tags(&["#Area/SUB/"]), ["Projects/a.md"]);
        assert_eq!(by_tags(&["are"]), Vec::<String>::new());
        assert_eq!(by_tags(&["sub"]), Vec::<String>::new());
        assert_eq!(by_tags(&["other"]), ["Projects2/c.md"]);
        assert_eq!(by_tags(&["areas", "other/area"]), ["Projects2/c.md"]);
        assert_eq!(by_tags(&["area", "areas"]), Vec::<String>::new());
    }

    #[test]
    fn tags_are_also_searchable_as_text() {
        let index = index_with(&notes());
        assert_eq!(sorted_paths(&index, &text("sub")), ["Projects/a.md"]);
    }

    #[test]
    fn folder_matches_the_folder_and_below_only() {
        let index = index_with(&notes());
        let in_folder =
            |folder: &str| sorted_paths(&index, &query(|q| q.folder = Some(folder.to_owned())));
        assert_eq!(in_folder("Projects"), ["Projects/a.md", "Projects/x/b.md"]);
        assert_eq!(in_folder("projects/"), ["Projects/a.md", "Projects/x/b.md"]);
        assert_eq!(in_folder("/PROJECTS/X"), ["Projects/x/b.md"]);
        assert_eq!(in_folder("Projects2"), ["Projects2/c.md"]);
        assert_eq!(in_folder("Proj"), Vec::<String>::new());
        assert_eq!(in_folder("").len(), 4);
        assert_eq!(in_folder("/").len(), 4);
    }

    #[test]
    fn frontmatter_fields_match_values_and_list_elements() {
        let index = index_with(&notes());
        let with_fields = |fields: &[(&str, &str)]| {
            sorted_paths(
                &index,
                &query(|q| {
                    q.fields = fields
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect();
                }),
            )
        };
        assert_eq!(with_fields(&[("status", "done")]), ["Projects/a.md"]);
        assert_eq!(with_fields(&[("Status", "DONE")]), ["Projects/a.md"]);
        assert_eq!(with_fields(&[("authors", "bob")]), ["Projects/a.md"]);
        assert_eq!(
            with_fields(&[("authors", "ann"), ("status", "done")]),
            ["Projects/a.md"]
        );
        assert_eq!(
            with_fields(&[("authors", "ann"), ("status", "open")]),
            Vec::<String>::new()
        );
        assert_eq!(with_fields(&[("priority", "2")]), ["Projects/a.md"]);
        assert_eq!(with_fields(&[("priority", "2.5")]), ["Projects/x/b.md"]);
        assert_eq!(with_fields(&[("draft", "true")]), ["Projects/a.md"]);
        assert_eq!(with_fields(&[("status", "do")]), Vec::<String>::new());
    }

    #[test]
    fn empty_field_key_is_an_invalid_query() {
        let index = index_with(&notes());
        let error = index
            .search(&query(|q| {
                q.fields = vec![(" ".to_owned(), "x".to_owned())]
            }))
            .unwrap_err();
        assert!(matches!(error, SearchError::InvalidQuery(_)), "{error}");
        assert!(error.to_string().contains("`=x`"), "{error}");
    }

    #[test]
    fn modified_range_is_inclusive_then_exclusive() {
        let index = index_with(&notes());
        let between = |after: Option<i64>, before: Option<i64>| {
            paths(
                &index,
                &query(|q| {
                    q.modified_after = after;
                    q.modified_before = before;
                }),
            )
        };
        assert_eq!(
            between(Some(200), None),
            ["root.md", "Projects2/c.md", "Projects/x/b.md"]
        );
        assert_eq!(between(None, Some(200)), ["Projects/a.md"]);
        assert_eq!(between(Some(150), Some(300)), ["Projects/x/b.md"]);
        assert_eq!(between(Some(300), Some(100)), Vec::<String>::new());
    }

    #[test]
    fn filters_combine_with_text() {
        let index = index_with(&notes());
        let results = run(
            &index,
            &SearchQuery {
                text: "shared".to_owned(),
                tags: vec!["area".to_owned()],
                folder: Some("Projects".to_owned()),
                modified_after: Some(150),
                ..SearchQuery::default()
            },
        );
        assert_eq!(results.total, 1);
        assert_eq!(results.hits[0].path, "Projects/x/b.md");
        assert!(results.hits[0].score > 0.0);
    }

    #[test]
    fn without_text_newest_notes_come_first() {
        let index = index_with(&notes());
        let results = run(&index, &SearchQuery::default());
        let found: Vec<&str> = results.hits.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(
            found,
            [
                "root.md",
                "Projects2/c.md",
                "Projects/x/b.md",
                "Projects/a.md"
            ]
        );
        assert!(results.hits.iter().all(|hit| hit.score == 0.0));
        assert!(results.hits.iter().all(|hit| hit.highlights.is_empty()));
        assert_eq!(results.hits[0].snippet, "shared words");
    }
}

mod paging {
    use super::*;

    fn many(count: usize) -> SearchIndex {
        let notes: Vec<Note> = (0..count)
            .map(|i| Note::new(&format!("n{i:03}.md"), &"common ".repeat(i + 1)).modified(i as i64))
            .collect();
        index_with(&notes)
    }

    #[test]
    fn total_counts_all_matches_and_pages_partition_them() {
        let index = many(25);
        let mut seen = Vec::new();
        for offset in [0, 10, 20] {
            let results = run(
                &index,
                &SearchQuery {
                    text: "common".to_owned(),
                    limit: 10,
                    offset,
                    ..SearchQuery::default()
                },
            );
            assert_eq!(results.total, 25);
            assert_eq!(results.hits.len(), if offset == 20 { 5 } else { 10 });
            seen.extend(results.hits.into_iter().map(|hit| hit.path));
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 25);
    }

    #[test]
    fn limit_is_defaulted_and_capped_and_offset_may_overshoot() {
        let index = many(25);
        let page = |limit: usize, offset: usize| {
            run(
                &index,
                &SearchQuery {
                    limit,
                    offset,
                    ..SearchQuery::default()
                },
            )
        };
        assert_eq!(page(0, 0).hits.len(), weaver_search::DEFAULT_LIMIT);
        assert_eq!(page(1, 0).hits.len(), 1);
        assert_eq!(page(usize::MAX, 0).hits.len(), 25);
        let beyond = page(10, usize::MAX);
        assert_eq!((beyond.total, beyond.hits.len()), (25, 0));
        // Newest first without text: n024 was modified last.
        assert_eq!(page(2, 1).hits[0].path, "n023.md");
    }
}

mod writes {
    use super::*;

    #[test]
    fn upsert_replaces_the_note_with_the_same_path() {
        let index = SearchIndex::in_memory().unwrap();
        let mut batch = index.batch().unwrap();
        batch
            .upsert(&Note::new("a.md", "first version").doc())
            .unwrap();
        batch
            .upsert(&Note::new("a.md", "second version").doc())
            .unwrap();
        batch.commit(1).unwrap();
        assert_eq!(index.num_docs(), 1);
        assert_eq!(sorted_paths(&index, &text("second")), ["a.md"]);
        assert!(sorted_paths(&index, &text("first")).is_empty());

        add(&index, &[Note::new("a.md", "third version")], 2);
        assert_eq!(index.num_docs(), 1);
        assert_eq!(run(&index, &text("version")).total, 1);
        assert!(sorted_paths(&index, &text("second")).is_empty());
    }

    #[test]
    fn delete_and_delete_all() {
        let index = index_with(&[
            Note::new("a.md", "x"),
            Note::new("b.md", "x"),
            Note::new("c.md", "x"),
        ]);
        let mut batch = index.batch().unwrap();
        batch.delete("b.md").unwrap();
        batch.delete("missing.md").unwrap();
        batch.commit(2).unwrap();
        assert_eq!(sorted_paths(&index, &text("x")), ["a.md", "c.md"]);

        let mut batch = index.batch().unwrap();
        batch.delete_all().unwrap();
        batch.upsert(&Note::new("d.md", "x").doc()).unwrap();
        batch.commit(3).unwrap();
        assert_eq!(sorted_paths(&index, &text("x")), ["d.md"]);
        assert_eq!(index.generation(), Some(3));
    }

    #[test]
    fn searches_see_the_last_commit_while_a_batch_is_open() {
        let index = index_with(&[Note::new("a.md", "old")]);
        let mut batch = index.batch().unwrap();
        batch.upsert(&Note::new("b.md", "new").doc()).unwrap();
        batch.delete("a.md").unwrap();
        std::thread::scope(|scope| {
            let searches: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| sorted_paths(&index, &text("old"))))
                .collect();
            for search in searches {
                assert_eq!(search.join().unwrap(), ["a.md"]);
            }
        });
        assert!(sorted_paths(&index, &text("new")).is_empty());
        batch.commit(2).unwrap();
        assert_eq!(sorted_paths(&index, &text("new")), ["b.md"]);
        assert!(sorted_paths(&index, &text("old")).is_empty());
    }

    #[test]
    fn index_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SearchIndex>();
    }
}

mod on_disk {
    use super::*;
    use weaver_search::Opened;

    #[test]
    fn new_directory_gives_an_empty_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/index");
        let (index, opened) = SearchIndex::open(&path).unwrap();
        assert_eq!(
            opened,
            Opened {
                generation: None,
                rebuilt: false
            }
        );
        assert_eq!(index.num_docs(), 0);
        assert_eq!(index.generation(), None);
        drop(index);
        // Reopening a never-committed index is not a rebuild either.
        let (_, opened) = SearchIndex::open(&path).unwrap();
        assert_eq!(
            opened,
            Opened {
                generation: None,
                rebuilt: false
            }
        );
    }

    #[test]
    fn documents_and_generation_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (index, _) = SearchIndex::open(dir.path()).unwrap();
            add(&index, &[Note::new("a.md", "persisted words")], 41);
            add(&index, &[Note::new("b.md", "more words")], 42);
            assert_eq!(index.generation(), Some(42));
        }
        let (index, opened) = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(
            opened,
            Opened {
                generation: Some(42),
                rebuilt: false
            }
        );
        assert_eq!(index.generation(), Some(42));
        assert_eq!(sorted_paths(&index, &text("words")), ["a.md", "b.md"]);
    }

    #[test]
    fn corrupt_metadata_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (index, _) = SearchIndex::open(dir.path()).unwrap();
            add(&index, &[Note::new("a.md", "words")], 5);
        }
        std::fs::write(dir.path().join("meta.json"), "{ this is not json").unwrap();
        let (index, opened) = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(
            opened,
            Opened {
                generation: None,
                rebuilt: true
            }
        );
        assert_eq!(index.num_docs(), 0);
        add(&index, &[Note::new("b.md", "words")], 1);
        assert_eq!(sorted_paths(&index, &text("words")), ["b.md"]);
    }

    #[test]
    fn corrupt_segment_file_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (index, _) = SearchIndex::open(dir.path()).unwrap();
            add(&index, &[Note::new("a.md", "words")], 5);
        }
        let store = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| path.extension().is_some_and(|ext| ext == "idx"))
            .unwrap();
        let mut bytes = std::fs::read(&store).unwrap();
        for byte in bytes.iter_mut().take(16) {
            *byte ^= 0xFF;
        }
        std::fs::write(&store, bytes).unwrap();
        let (index, opened) = SearchIndex::open(dir.path()).unwrap();
        assert!(opened.rebuilt);
        assert_eq!(index.num_docs(), 0);
    }

    #[test]
    fn index_with_another_schema_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut builder = tantivy::schema::Schema::builder();
            let body = builder.add_text_field("body", tantivy::schema::TEXT);
            let index = tantivy::Index::create_in_dir(dir.path(), builder.build()).unwrap();
            let mut writer: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
            let mut doc = tantivy::TantivyDocument::new();
            doc.add_text(body, "old format");
            writer.add_document(doc).unwrap();
            writer.commit().unwrap();
        }
        let (index, opened) = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(
            opened,
            Opened {
                generation: None,
                rebuilt: true
            }
        );
        assert_eq!(index.num_docs(), 0);
    }

    #[test]
    fn directory_with_stray_index_files_is_rebuilt_but_other_files_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("0123456789abcdef0123456789abcdef.idx"), "x").unwrap();
        let (_, opened) = SearchIndex::open(dir.path()).unwrap();
        assert!(opened.rebuilt);

        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("meta.json"), "garbage").unwrap();
        std::fs::create_dir(other.path().join("notes")).unwrap();
        let error = SearchIndex::open(other.path()).unwrap_err();
        assert!(matches!(error, SearchError::NotAnIndex { .. }), "{error}");
        assert!(other.path().join("notes").is_dir());
        assert!(error.to_string().contains("`notes`"), "{error}");
    }
}

mod snippets {
    use super::*;

    fn highlighted(index: &SearchIndex, query: &str) -> Vec<(String, Vec<String>)> {
        run(index, &text(query))
            .hits
            .into_iter()
            .map(|hit| {
                let words = hit
                    .highlights
                    .iter()
                    .map(|range| hit.snippet[range.clone()].to_owned())
                    .collect();
                (hit.snippet, words)
            })
            .collect()
    }

    #[test]
    fn highlights_point_at_the_matched_words() {
        let filler = "nothing to see in this sentence at all. ".repeat(10);
        let body = format!("{filler}Here the Quick brown fox jumps.\n{filler}");
        let index = index_with(&[Note::new("a.md", &body)]);
        let found = highlighted(&index, "quick fox");
        let (snippet, words) = &found[0];
        assert_eq!(words, &["Quick", "fox"]);
        assert!(
            snippet.contains("Here the Quick brown fox jumps."),
            "{snippet}"
        );
        assert!(snippet.chars().count() <= 170, "{snippet}");
        assert!(!snippet.contains('\n'));
    }

    #[test]
    fn highlights_cover_folded_prefix_and_cjk_matches() {
        let index = index_with(&[
            Note::new("a.md", "Le Café et la planification"),
            Note::new("b.md", "私は東京に住んでいます"),
        ]);
        assert_eq!(
            highlighted(&index, "cafe plan*")[0].1,
            ["Café", "planification"]
        );
        assert_eq!(highlighted(&index, "東京")[0].1, ["東", "京"]);
        assert!(highlighted(&index, "cafe -xyz")[0].1 == ["Café"]);
    }

    #[test]
    fn title_is_the_fallback_then_the_body_start() {
        let index = index_with(&[
            Note::new("a.md", "body without the word").title("Special Title"),
            Note::new("Folder/b.md", "just a body"),
        ]);
        let found = highlighted(&index, "special");
        assert_eq!(
            found[0],
            ("Special Title".to_owned(), vec!["Special".to_owned()])
        );
        // Matched only through the path: the body's start, nothing highlighted.
        let found = highlighted(&index, "folder");
        assert_eq!(found[0], ("just a body".to_owned(), Vec::new()));
    }
}

/// Random queries over random notes, checked against a brute-force evaluation: catches
/// mismatches and tantivy scorer combinations that misbehave (several segments, deletions,
/// phrases and prefixes under exclusion).
mod model {
    use super::*;

    const WORDS: &[&str] = &[
        "alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "zeta",
    ];

    /// xorshift: deterministic, no dependency.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    enum Kind {
        Term(&'static str),
        Phrase(Vec<&'static str>),
        Prefix(String),
    }

    fn matches(kind: &Kind, body: &[&str]) -> bool {
        match kind {
            Kind::Term(word) => body.contains(word),
            Kind::Phrase(words) => body.windows(words.len()).any(|w| w == words.as_slice()),
            Kind::Prefix(prefix) => body.iter().any(|word| word.starts_with(prefix.as_str())),
        }
    }

    #[test]
    fn random_queries_agree_with_brute_force() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let index = SearchIndex::in_memory().unwrap();
        // path -> (body words, modified)
        let mut notes: std::collections::BTreeMap<String, (Vec<&str>, i64)> = Default::default();
        // Three commits (three segments), with updates and deletions in between.
        for generation in 1..=3 {
            let mut batch = index.batch().unwrap();
            for _ in 0..40 {
                let path = format!("f{}/x{}.md", rng.below(2), rng.below(80));
                if rng.below(6) == 0 {
                    batch.delete(&path).unwrap();
                    notes.remove(&path);
                    continue;
                }
                let body: Vec<&str> = (0..rng.below(12))
                    .map(|_| WORDS[rng.below(WORDS.len())])
                    .collect();
                let modified = rng.below(100) as i64;
                let note = Note::new(&path, &body.join(" "))
                    .title("")
                    .modified(modified);
                batch.upsert(&note.doc()).unwrap();
                notes.insert(path, (body, modified));
            }
            batch.commit(generation).unwrap();
        }
        assert_eq!(index.num_docs(), notes.len() as u64);

        for _ in 0..400 {
            let mut query = Vec::new();
            let mut clauses = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let negated = rng.below(5) == 0;
                let word = WORDS[rng.below(WORDS.len())];
                let (kind, written) = match rng.below(10) {
                    0..5 => (Kind::Term(word), word.to_owned()),
                    5..8 => {
                        let words: Vec<&str> = (0..2 + rng.below(2))
                            .map(|_| WORDS[rng.below(WORDS.len())])
                            .collect();
                        let written = format!("\"{}\"", words.join(" "));
                        (Kind::Phrase(words), written)
                    }
                    _ => {
                        let prefix = word[..1 + rng.below(3)].to_owned();
                        let written = format!("{prefix}*");
                        (Kind::Prefix(prefix), written)
                    }
                };
                query.push(format!("{}{written}", if negated { "-" } else { "" }));
                clauses.push((negated, kind));
            }
            let folder = (rng.below(3) == 0).then(|| format!("f{}", rng.below(2)));
            let after = (rng.below(3) == 0).then(|| rng.below(100) as i64);
            let query = query.join(" ");
            let expected: Vec<String> = notes
                .iter()
                .filter(|(path, (body, modified))| {
                    folder
                        .as_ref()
                        .is_none_or(|f| path.starts_with(&format!("{f}/")))
                        && after.is_none_or(|after| *modified >= after)
                        && clauses
                            .iter()
                            .all(|(negated, kind)| !(*negated && matches(kind, body)))
                        && clauses.iter().all(|(negated, kind)| {
                            *negated || !matches!(kind, Kind::Phrase(_)) || matches(kind, body)
                        })
                        && (clauses
                            .iter()
                            .any(|(negated, kind)| !*negated && matches!(kind, Kind::Phrase(_)))
                            || clauses.iter().all(|(negated, _)| *negated)
                            || clauses
                                .iter()
                                .any(|(negated, kind)| !*negated && matches(kind, body)))
                })
                .map(|(path, _)| path.clone())
                .collect();
            let search = SearchQuery {
                text: query.clone(),
                folder,
                modified_after: after,
                limit: 1000,
                ..SearchQuery::default()
            };
            let results = run(&index, &search);
            let mut found: Vec<String> = results.hits.into_iter().map(|hit| hit.path).collect();
            found.sort();
            assert_eq!(found, expected, "query: {search:?}");
            assert_eq!(results.total, expected.len(), "query: {search:?}");
        }
    }
}
