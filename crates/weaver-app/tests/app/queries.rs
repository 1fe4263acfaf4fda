//! Graph queries, note details, tags, stats, check and search through the vault service.

use weaver_app::{AppError, Page, SearchQuery};
use weaver_core::{DiagnosticCode, Direction};

use crate::fixture::{never, open_in_memory, paths, vault};

/// hub links to a, b and (by path) x/dup; a -> b -> c; c embeds img.png; d is an orphan;
/// two notes share the name `dup`.
const GRAPH: &str = "
//- hub.md
---
tags: [area/sub, top]
---
# Hub
- [[a]] first
- [[B|bee]] second
- [[x/dup]] third
- [[#Hub]] self
//- a.md
Alpha links to [[b#Beta heading]] and [[b#Nope]] and [[Missing]]. #area
//- b.md
# Beta heading
Beta goes to [[c#^blk]]. #Area/Other
//- c.md
Gamma paragraph. ^blk

![[img.png]]
//- d.md
Lonely delta. #top
//- x/dup.md
Dup in x, links [[dup]].
//- y/dup.md
Dup in y.
//- img.png
not really a png
";

#[test]
fn backlinks_with_context_lines() {
    let dir = vault(GRAPH);
    let v = open_in_memory(dir.path());
    let s = v.snapshot();
    let page = s.backlinks("b", Page::ALL, &never()).unwrap();
    assert_eq!(page.total, 3);
    let got: Vec<(String, u32, String)> = page
        .items
        .iter()
        .map(|b| (b.source.to_string(), b.line, b.context.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "a.md".into(),
                1,
                "Alpha links to [[b#Beta heading]] and [[b#Nope]] and [[Missing]]. #area".into()
            ),
            (
                "a.md".into(),
                1,
                "Alpha links to [[b#Beta heading]] and [[b#Nope]] and [[Missing]]. #area".into()
            ),
            ("hub.md".into(), 6, "- [[B|bee]] second".into()),
        ]
    );
    let first = s
        .backlinks(
            "b",
            Page {
                limit: 1,
                offset: 2,
            },
            &never(),
        )
        .unwrap();
    assert_eq!(first.total, 3);
    assert_eq!(paths(&first.items, |b| b.source.as_str()), vec!["hub.md"]);
}

#[test]
fn duplicate_names_resolve_from_the_source_folder() {
    let dir = vault(GRAPH);
    let v = open_in_memory(dir.path());
    let s = v.snapshot();
    // From x/dup.md, [[dup]] is itself (own folder wins).
    let links = s.outgoing("x/dup.md").unwrap();
    assert_eq!(links[0].resolved.as_ref().unwrap().as_str(), "x/dup.md");
    // By name from the vault root: the shortest path, ties by path order.
    assert_eq!(s.find_note("dup").unwrap().path.as_str(), "x/dup.md");
}

#[test]
fn outgoing_links_report_anchors() {
    let dir = vault(GRAPH);
    let v = open_in_memory(dir.path());
    let s = v.snapshot();
    let links = s.outgoing("a").unwrap();
    let got: Vec<(&str, Option<&str>, Option<bool>)> = links
        .iter()
        .map(|l| {
            (
                l.target.as_str(),
                l.resolved.as_ref().map(|p| p.as_str()),
                l.anchor_exists,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("b", Some("b.md"), Some(true)),
            ("b", Some("b.md"), Some(false)),
            ("Missing", None, None),
        ]
    );
}

#[test]
fn neighbors_and_paths() {
    let dir = vault(GRAPH);
    let v = open_in_memory(dir.path());
    let s = v.snapshot();
    let one = s.neighbors("hub", 1, Direction::Out, Page::ALL).unwrap();
    assert_eq!(
        paths(&one.items, |n| n.path.as_str()),
        vec!["a.md", "b.md", "x/dup.md"]
    );
    let two = s.neighbors("hub", 2, Direction::Out, Page::ALL).unwrap();
    assert_eq!(
        two.items
            .iter()
            .map(|n| (n.path.as_str(), n.distance))
            .collect::<Vec<_>>(),
        vec![("a.md", 1), ("b.md", 1), ("x/dup.md", 1), ("c.md", 2)]
    );
    let incoming = s.neighbors("c", 2, Direction::In, Page::ALL).unwrap();
    assert_eq!(
        paths(&incoming.items, |n| n.path.as_str()),
        vec!["b.md", "a.md", "hub.md"]
    );
    let path = s
        .shortest_path("hub", "c", Direction::Out)
        .unwrap()
        .unwrap();
    assert_eq!(
        paths(&path, |n| n.path.as_str()),
        vec!["hub.md", "b.md", "c.md"]
    );
    assert!(
        s.shortest_path("c", "hub", Direction::Out)
            .unwrap()
            .is_none()
    );
    assert!(
        s.shortest_path("d", "hub", Direction::Both)
            .unwrap()
            .is_none()
    );
}

#[test]
fn orphans_unresolved_tags_stats() {
    let dir = vault(GRAPH);
    let v = open_in_memory(dir.path());
    let s = v.snapshot();
    assert_eq!(
        paths(&s.orphans(Page::ALL).items, |n| n.path.as_str()),
        vec!["d.md", "y/dup.md"]
    );
    let unresolved = s.unresolved(Page::ALL);
    assert_eq!(unresolved.total, 1);
    assert_eq!(unresolved.items[0].target, "Missing");
    assert_eq!(unresolved.items[0].source.as_str(), "a.md");
    assert_eq!(unresolved.items[0].line, 1);

    let tags: Vec<(String, usize, usize)> = s
        .tags()
        .into_iter()
        .map(|t| (t.name, t.direct, t.notes))
        .collect();
    assert_eq!(
        tags,
        vec![
            ("area".into(), 1, 3),
            ("Area/Other".into(), 1, 1),
            ("area/sub".into(), 1, 1),
            ("top".into(), 2, 2),
        ]
    );

    let stats = s.stats();
    assert_eq!(stats.notes, 7);
    assert_eq!(stats.attachments, 1);
    assert_eq!(stats.links, 10);
    assert_eq!(stats.unresolved_links, 1);
    assert_eq!(stats.resolved_links, 9);
    assert_eq!(stats.embeds, 1);
    assert_eq!(stats.orphans, 2);
    assert_eq!(stats.tags, 4);
}

#[test]
fn check_reports_broken_links_and_anchors() {
    let dir = vault(GRAPH);
    let v = open_in_memory(dir.path());
    let problems = v.snapshot().check();
    let got: Vec<(&str, DiagnosticCode, Option<u32>)> = problems
        .iter()
        .map(|p| (p.path.as_str(), p.code, p.line))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a.md", DiagnosticCode::BrokenAnchor, Some(1)),
            ("a.md", DiagnosticCode::UnresolvedLink, Some(1)),
        ]
    );
    assert!(
        problems[0].message.contains("Nope"),
        "{}",
        problems[0].message
    );
}

#[test]
fn note_details_and_not_found_suggestions() {
    let dir = vault(GRAPH);
    let v = open_in_memory(dir.path());
    let s = v.snapshot();
    let hub = s.details("hub.md", &never()).unwrap();
    assert_eq!(hub.title, "hub");
    assert_eq!(hub.tags, vec!["area/sub", "top"]);
    assert_eq!(hub.links.len(), 4);
    assert_eq!(hub.headings[0].text, "Hub");
    assert!(hub.backlinks.iter().all(|b| b.source.as_str() == "hub.md"));
    assert_eq!(hub.hash.len(), 64);
    let by_name = s.details("HUB", &never()).unwrap();
    assert_eq!(by_name.path.as_str(), "hub.md");

    match s.details("hubb", &never()).unwrap_err() {
        AppError::NoteNotFound { path, suggestions } => {
            assert_eq!(path, "hubb");
            assert_eq!(suggestions, vec!["hub.md"]);
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = s.find("zz/nothing-like-it").unwrap_err();
    assert_eq!(err.to_string(), "note not found: `zz/nothing-like-it`");
}

#[test]
fn list_notes_by_folder() {
    let dir = vault(GRAPH);
    let v = open_in_memory(dir.path());
    let s = v.snapshot();
    assert_eq!(s.list_notes(None, Page::ALL).total, 7);
    assert_eq!(
        paths(&s.list_notes(Some("x"), Page::ALL).items, |n| n
            .path
            .as_str()),
        vec!["x/dup.md"]
    );
    assert_eq!(s.list_notes(Some("X/"), Page::ALL).total, 1);
    assert_eq!(s.list_notes(Some("xx"), Page::ALL).total, 0);
}

#[test]
fn search_through_the_vault() {
    let dir = vault(GRAPH);
    let v = open_in_memory(dir.path());
    let hits = v
        .search(&SearchQuery {
            text: "lonely".into(),
            limit: 10,
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(paths(&hits.hits, |h| h.path.as_str()), vec!["d.md"]);
    let tagged = v
        .search(&SearchQuery {
            tags: vec!["#area".into()],
            limit: 10,
            ..SearchQuery::default()
        })
        .unwrap();
    let mut got = paths(&tagged.hits, |h| h.path.as_str());
    got.sort();
    assert_eq!(got, vec!["a.md", "b.md", "hub.md"]);
}

#[test]
fn notes_are_found_by_alias_after_names() {
    let dir = vault(
        "//- Plan.md\n---\naliases: [Roadmap, Home]\n---\n//- sub/Long.md\n---\naliases: Home\n---\n//- Roadmap.md\nThe real Roadmap note.\n",
    );
    let v = open_in_memory(dir.path());
    let s = v.snapshot();
    // A note's own name wins over another note's alias.
    assert_eq!(s.find_note("roadmap").unwrap().path.as_str(), "Roadmap.md");
    // Shared aliases go to the shortest path.
    assert_eq!(s.find_note("HOME").unwrap().path.as_str(), "Plan.md");
}

/// The case: a 2 MB note with 190,000 links to one target, on lines of ten and on one
/// line of 10,000. A page of 1,000 is 1,000 bounded lines, and the note's details list only the
/// first backlinks.
#[test]
fn backlinks_of_a_note_linked_190k_times_are_bounded() {
    let mut text = format!("{}\n", "[[Weaver]] ".repeat(10).trim_end()).repeat(18_000);
    text.push_str(&"[[Weaver]] ".repeat(10_000));
    let dir = vault("//- Weaver.md\n# Weaver\n//- Other.md\nAlso [[Weaver]].\n");
    std::fs::write(dir.path().join("Hub.md"), &text).unwrap();
    let v = open_in_memory(dir.path());
    let s = v.snapshot();
    let page = s.backlinks("Weaver", Page::first(1000), &never()).unwrap();
    assert_eq!(page.total, 190_001);
    assert_eq!(page.items.len(), 1000);
    assert!(
        page.items
            .iter()
            .all(|b| b.context == "[[Weaver]] ".repeat(10).trim_end())
    );
    let last = s
        .backlinks(
            "Weaver",
            Page {
                limit: 2,
                offset: 189_999,
            },
            &never(),
        )
        .unwrap();
    let long = &last.items[0].context;
    assert!(
        long.starts_with('…') && long.ends_with("[[Weaver]]"),
        "{long}"
    );
    assert!(long.len() <= weaver_app::CONTEXT_LINE_BYTES + 2 * '…'.len_utf8());
    assert_eq!(last.items[1].context, "Also [[Weaver]].");

    let everything = s.backlinks("Weaver", Page::ALL, &never()).unwrap();
    assert_eq!(everything.items.len(), 190_001);
    let bytes: usize = everything.items.iter().map(|b| b.context.len()).sum();
    assert!(bytes <= weaver_app::CONTEXT_BUDGET_BYTES, "{bytes}");

    let details = s.details("Weaver", &never()).unwrap();
    assert_eq!(details.backlinks.len(), weaver_app::DETAIL_BACKLINKS);
    assert_eq!(details.backlinks_total, 190_001);
}

#[test]
fn a_cancelled_backlinks_query_stops() {
    let dir = vault(GRAPH);
    let v = open_in_memory(dir.path());
    let cancelled = weaver_app::CancellationToken::new();
    cancelled.cancel();
    let err = v
        .snapshot()
        .backlinks("b", Page::ALL, &cancelled)
        .unwrap_err();
    assert!(matches!(err, AppError::Cancelled), "{err:?}");
}
