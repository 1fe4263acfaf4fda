//! Wikilinks, embeds, Markdown links and external links: targets, fragments, display text
//! and exact byte ranges.

use weaver_core::LinkKind;

use super::{fragment, parse};

/// One expected link: kind, `src[range]`, target, `src[target_range]`, fragment, display.
type Expected<'a> = (
    LinkKind,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
);

fn check(src: &str, expected: &[Expected<'_>]) {
    type Owned = (LinkKind, String, String, String, String, Option<String>);
    let note = parse(src);
    let got: Vec<Owned> = note
        .links
        .iter()
        .map(|l| {
            (
                l.kind,
                src[l.range.clone()].to_owned(),
                l.target.clone(),
                src[l.target_range.clone()].to_owned(),
                fragment(l.fragment.as_ref()),
                l.display.clone(),
            )
        })
        .collect();
    let want: Vec<Owned> = expected
        .iter()
        .map(|&(kind, range, target, target_src, frag, display)| {
            (
                kind,
                range.to_owned(),
                target.to_owned(),
                target_src.to_owned(),
                frag.to_owned(),
                display.map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(got, want, "input {src:?}");
}

use LinkKind::{Embed, Markdown, MarkdownEmbed, Wikilink};

#[test]
fn wikilinks() {
    check("[[a]]", &[(Wikilink, "[[a]]", "a", "a", "", None)]);
    check(
        "x [[a|alias]] y",
        &[(Wikilink, "[[a|alias]]", "a", "a", "", Some("alias"))],
    );
    check(
        "[[a#Heading]]",
        &[(Wikilink, "[[a#Heading]]", "a", "a", "#Heading", None)],
    );
    check(
        "[[a#^block]]",
        &[(Wikilink, "[[a#^block]]", "a", "a", "#^block", None)],
    );
    check(
        "[[#Heading]]",
        &[(Wikilink, "[[#Heading]]", "", "", "#Heading", None)],
    );
    check(
        "[[a#H|alias]]",
        &[(Wikilink, "[[a#H|alias]]", "a", "a", "#H", Some("alias"))],
    );
    check(
        "[[a#H1#H2]]",
        &[(Wikilink, "[[a#H1#H2]]", "a", "a", "#H1#H2", None)],
    );
    check(
        "[[a.md]]",
        &[(Wikilink, "[[a.md]]", "a.md", "a.md", "", None)],
    );
    check(
        "[[folder/a]]",
        &[(Wikilink, "[[folder/a]]", "folder/a", "folder/a", "", None)],
    );
    check(
        "[[ spaced  name |  shown ]]",
        &[(
            Wikilink,
            "[[ spaced  name |  shown ]]",
            "spaced  name",
            "spaced  name",
            "",
            Some("shown"),
        )],
    );
    check("[[a|]]", &[(Wikilink, "[[a|]]", "a", "a", "", None)]);
    check(
        "[[Café ☕]]",
        &[(Wikilink, "[[Café ☕]]", "Café ☕", "Café ☕", "", None)],
    );
    check(
        "[[a]] and [[b]]",
        &[
            (Wikilink, "[[a]]", "a", "a", "", None),
            (Wikilink, "[[b]]", "b", "b", "", None),
        ],
    );
    check(
        "**[[a]]** _[[b|c]]_",
        &[
            (Wikilink, "[[a]]", "a", "a", "", None),
            (Wikilink, "[[b|c]]", "b", "b", "", Some("c")),
        ],
    );
}

#[test]
fn not_wikilinks() {
    check("[[ ]]", &[]);
    check("[[]]", &[]);
    check("[[#]]", &[]);
    check("[[a\nb]]", &[]);
    check("[a]", &[]);
    check("\\[[a]]", &[]);
}

#[test]
fn same_note_target_range_sits_after_the_brackets() {
    let note = parse("see [[#Heading]] and ![[#^b]]");
    assert_eq!(note.links[0].target_range, 6..6);
    assert_eq!(note.links[1].target_range, 24..24);
}

#[test]
fn embeds() {
    check("![[a]]", &[(Embed, "![[a]]", "a", "a", "", None)]);
    check(
        "![[img.png]]",
        &[(Embed, "![[img.png]]", "img.png", "img.png", "", None)],
    );
    check(
        "![[a#^blk]]",
        &[(Embed, "![[a#^blk]]", "a", "a", "#^blk", None)],
    );
    check(
        "![[img.png|100x200]]",
        &[(
            Embed,
            "![[img.png|100x200]]",
            "img.png",
            "img.png",
            "",
            Some("100x200"),
        )],
    );
}

#[test]
fn escaped_pipe_in_tables() {
    let src = "| Link | Note |\n|---|---|\n| [[a\\|b]] | [[c#H\\|d]] |\n";
    check(
        src,
        &[
            (Wikilink, "[[a\\|b]]", "a", "a", "", Some("b")),
            (Wikilink, "[[c#H\\|d]]", "c", "c", "#H", Some("d")),
        ],
    );
}

#[test]
fn links_in_code_comments_html_and_math_are_ignored() {
    let cases = [
        "`[[a]]` and `[b](b.md)`",
        "```\n[[a]]\n[b](b.md)\n```",
        "~~~md\n![[a]]\n~~~",
        "para\n\n    [[a]] indented code",
        "%%[[a]]%%",
        "text %% hidden [[a]] %% text",
        "%%\n# Heading\n[[a]]\n\n- [b](b.md)\n%%",
        "%% never closed\n\n[[a]]",
        "<div>\n[[a]] [b](b.md)\n</div>",
        "$[[a]]$",
        "$$\n[[a]]\n$$",
    ];
    for src in cases {
        check(src, &[]);
    }
    check(
        "%%x%% [[a]] %%y%%",
        &[(Wikilink, "[[a]]", "a", "a", "", None)],
    );
    check(
        "`%%` [[a]] `%%`",
        &[(Wikilink, "[[a]]", "a", "a", "", None)],
    );
}

#[test]
fn markdown_links() {
    check(
        "[t](path/a.md)",
        &[(
            Markdown,
            "[t](path/a.md)",
            "path/a.md",
            "path/a.md",
            "",
            Some("t"),
        )],
    );
    check(
        "[t](a%20b.md#h)",
        &[(
            Markdown,
            "[t](a%20b.md#h)",
            "a b.md",
            "a%20b.md",
            "#h",
            Some("t"),
        )],
    );
    check(
        "[t](<a b.md>)",
        &[(Markdown, "[t](<a b.md>)", "a b.md", "a b.md", "", Some("t"))],
    );
    check(
        "[t](<a b.md#my heading> \"title\")",
        &[(
            Markdown,
            "[t](<a b.md#my heading> \"title\")",
            "a b.md",
            "a b.md",
            "#my heading",
            Some("t"),
        )],
    );
    check(
        "[t](../x/y.md)",
        &[(
            Markdown,
            "[t](../x/y.md)",
            "../x/y.md",
            "../x/y.md",
            "",
            Some("t"),
        )],
    );
    check(
        "[t](#heading)",
        &[(Markdown, "[t](#heading)", "", "", "#heading", Some("t"))],
    );
    check(
        "[t](a.md#^blk)",
        &[(
            Markdown,
            "[t](a.md#^blk)",
            "a.md",
            "a.md",
            "#^blk",
            Some("t"),
        )],
    );
    check(
        "![alt](img.png)",
        &[(
            MarkdownEmbed,
            "![alt](img.png)",
            "img.png",
            "img.png",
            "",
            Some("alt"),
        )],
    );
    check(
        "[](a.md)",
        &[(Markdown, "[](a.md)", "a.md", "a.md", "", None)],
    );
    check(
        "[a *b* `c`](x.md)",
        &[(
            Markdown,
            "[a *b* `c`](x.md)",
            "x.md",
            "x.md",
            "",
            Some("a b c"),
        )],
    );
    check(
        "[a [b] c](x(1).md)",
        &[(
            Markdown,
            "[a [b] c](x(1).md)",
            "x(1).md",
            "x(1).md",
            "",
            Some("a [b] c"),
        )],
    );
    check(
        "[![i](i.png)](n.md)",
        &[
            (
                Markdown,
                "[![i](i.png)](n.md)",
                "n.md",
                "n.md",
                "",
                Some("i"),
            ),
            (
                MarkdownEmbed,
                "![i](i.png)",
                "i.png",
                "i.png",
                "",
                Some("i"),
            ),
        ],
    );
    check("[t]()", &[]);
    check("[t](#)", &[]);
}

#[test]
fn reference_links_point_into_their_definition() {
    let src = "[t][r] and [s] and [u][]\n\n[r]: x/y.md\n[s]: <z z.md#h>\n[u]:\n  u.md \"title\"\n";
    check(
        src,
        &[
            (Markdown, "[t][r]", "x/y.md", "x/y.md", "", Some("t")),
            (Markdown, "[s]", "z z.md", "z z.md", "#h", Some("s")),
            (Markdown, "[u][]", "u.md", "u.md", "", Some("u")),
        ],
    );
}

#[test]
fn external_links() {
    type Urls<'a> = &'a [(&'a str, Option<&'a str>)];
    let cases: &[(&str, Urls<'_>)] = &[
        (
            "[t](https://x.com/a#b)",
            &[("https://x.com/a#b", Some("t"))],
        ),
        ("[t](http://x.com)", &[("http://x.com", Some("t"))]),
        ("[mail](mailto:a@b.c)", &[("mailto:a@b.c", Some("mail"))]),
        (
            "[o](obsidian://open?vault=v)",
            &[("obsidian://open?vault=v", Some("o"))],
        ),
        ("[f](file:///tmp/x)", &[("file:///tmp/x", Some("f"))]),
        ("[c](//cdn.example/x)", &[("//cdn.example/x", Some("c"))]),
        (
            "![pic](https://x.com/p.png)",
            &[("https://x.com/p.png", Some("pic"))],
        ),
        ("<https://auto.link/x>", &[("https://auto.link/x", None)]),
        ("<a@b.c>", &[("a@b.c", None)]),
        (
            "see https://bare.example/p?q=1#f. ok",
            &[("https://bare.example/p?q=1#f", None)],
        ),
        ("(https://x.com/a_(b))", &[("https://x.com/a_(b)", None)]),
        ("`https://code.example`", &[]),
        ("[[https://not.external]]", &[]),
    ];
    for (src, expected) in cases {
        let note = parse(src);
        let got: Vec<(&str, Option<&str>)> = note
            .external_links
            .iter()
            .map(|l| (l.url.as_str(), l.display.as_deref()))
            .collect();
        assert_eq!(&got, expected, "input {src:?}");
        if src.starts_with("[[") {
            assert_eq!(note.links.len(), 1, "input {src:?}");
        } else {
            assert!(note.links.is_empty(), "input {src:?}: {:?}", note.links);
        }
    }
}

#[test]
fn crlf_ranges_and_lines() {
    let src = "# T\r\n\r\nline [[a|b]]\r\n![[c]] [d](e.md)\r\n";
    check(
        src,
        &[
            (Wikilink, "[[a|b]]", "a", "a", "", Some("b")),
            (Embed, "![[c]]", "c", "c", "", None),
            (Markdown, "[d](e.md)", "e.md", "e.md", "", Some("d")),
        ],
    );
    let lines: Vec<u32> = parse(src).links.iter().map(|l| l.line).collect();
    assert_eq!(lines, [3, 4, 4]);
}

#[test]
fn ranges_survive_frontmatter_and_bom() {
    let src = "\u{feff}---\ntitle: x\n---\nA [[b|c]] and [d](e.md)\n";
    check(
        src,
        &[
            (Wikilink, "[[b|c]]", "b", "b", "", Some("c")),
            (Markdown, "[d](e.md)", "e.md", "e.md", "", Some("d")),
        ],
    );
    assert_eq!(parse(src).links[0].line, 4);
}

#[test]
fn links_in_nested_blocks() {
    let src = "> quote [[a]]\n\n- item [[b]]\n  - nested [c](c.md)\n\n> [!note] Title\n> - [ ] [[d]]\n\n[^1]: note [[e]]\n";
    let targets: Vec<String> = parse(src).links.iter().map(|l| l.target.clone()).collect();
    assert_eq!(targets, ["a", "b", "c.md", "d", "e"]);
}
