//! The search query language through the public `SearchIndex::search`, over a small in-memory
//! index: any query text and filters run without a panic, answer with results or a refusal of
//! the query (`InvalidQuery`), never an index failure, and every snippet highlight slices its
//! snippet on character boundaries.
#![no_main]

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use weaver_fuzz::split;
use weaver_search::{MAX_LIMIT, SearchDoc, SearchError, SearchIndex, SearchQuery};

#[derive(Debug, Default, Arbitrary)]
struct Filters {
    tags: Vec<String>,
    folder: Option<String>,
    fields: Vec<(String, String)>,
    modified_after: Option<i64>,
    modified_before: Option<i64>,
    limit: u16,
    offset: u16,
}

fn index() -> &'static SearchIndex {
    static INDEX: OnceLock<SearchIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let index = SearchIndex::in_memory().expect("in-memory index");
        let long =
            "Weaver weaves notes. ".repeat(40) + "café Ünïcode 東京に住んでいます alpha-beta gamma";
        let fm: Map<String, Value> =
            json!({"status": "draft", "tags": ["a", "b"], "n": 2.5, "ok": true})
                .as_object()
                .cloned()
                .unwrap_or_default();
        let aliases = vec!["Alias one".to_owned(), "Zweiter Name".to_owned()];
        let docs = [
            (
                "Welcome.md",
                "Welcome",
                "Start here with [[Weaver]] and alpha gamma.",
                vec!["intro"],
            ),
            (
                "Projects/Plan.md",
                "Plan",
                "Ship the café menu before Friday. alpha beta",
                vec!["area/work"],
            ),
            (
                "Projects/Sub/Deep.md",
                "Deep note",
                long.as_str(),
                vec!["area/work/deep", "x"],
            ),
            (
                "Daily/2024-01-01.md",
                "2024-01-01",
                "私は東京に住んでいます\nline two\ttab",
                vec![],
            ),
            (
                "Café.md",
                "Café",
                "Résumé naïve façade ÆØÅ ß ﬁ",
                vec!["Ünï"],
            ),
            ("empty.md", "", "", vec![]),
        ];
        let mut batch = index.batch().expect("batch");
        for (i, (path, title, body, tags)) in docs.iter().enumerate() {
            batch
                .upsert(&SearchDoc {
                    path,
                    title,
                    aliases: if i == 1 { &aliases } else { &[] },
                    headings: vec!["Goals", "Part two"],
                    tags: tags.clone(),
                    body,
                    frontmatter: (i % 2 == 0).then_some(&fm),
                    modified: 1_700_000_000_000 + i64::try_from(i).unwrap_or(0) * 1000,
                })
                .expect("upsert");
        }
        batch.commit(1).expect("commit");
        index.reload().expect("reload");
        index
    })
}

fuzz_target!(|data: &[u8]| {
    let (choices, text) = split(data);
    let mut u = Unstructured::new(choices);
    let filters = Filters::arbitrary(&mut u).unwrap_or_default();
    let query = SearchQuery {
        text: String::from_utf8_lossy(text).into_owned(),
        tags: filters.tags,
        folder: filters.folder,
        fields: filters.fields,
        modified_after: filters.modified_after,
        modified_before: filters.modified_before,
        limit: usize::from(filters.limit),
        offset: usize::from(filters.offset),
    };
    match index().search(&query) {
        Ok(results) => {
            assert!(results.hits.len() <= MAX_LIMIT, "more hits than the limit");
            assert!(
                results.hits.len() <= results.total,
                "more hits than matches"
            );
            for hit in &results.hits {
                for range in &hit.highlights {
                    assert!(
                        hit.snippet.get(range.clone()).is_some(),
                        "highlight {range:?} does not slice snippet {:?}",
                        hit.snippet
                    );
                }
            }
        }
        // The index itself failing is a finding; refusing the query (with a clear error) is not.
        Err(
            err @ (SearchError::Io(_)
            | SearchError::Index(_)
            | SearchError::NotAnIndex { .. }
            | SearchError::WriterUnavailable),
        ) => panic!("query {query:?} failed: {err}"),
        Err(_) => {}
    }
});
