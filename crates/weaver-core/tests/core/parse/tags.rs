//! Inline tags: what counts as a tag, where tags may start, and where they are ignored.

use weaver_core::TagSource;

use super::parse;

/// Checks the inline tags of `src` (name and line).
fn check(src: &str, expected: &[(&str, u32)]) {
    let note = parse(src);
    let got: Vec<(&str, u32)> = note
        .tags
        .iter()
        .filter(|t| t.source == TagSource::Inline)
        .map(|t| (t.name.as_str(), t.line))
        .collect();
    assert_eq!(got, expected, "input {src:?}");
}

#[test]
fn tag_syntax() {
    check("#tag", &[("tag", 1)]);
    check("text #tag more", &[("tag", 1)]);
    check("#a/b/c", &[("a/b/c", 1)]);
    check("#trailing/ slash", &[("trailing", 1)]);
    check(
        "#snake_case #kebab-case #CamelCase",
        &[("snake_case", 1), ("kebab-case", 1), ("CamelCase", 1)],
    );
    check(
        "#日本語 #café #emoji🎉",
        &[("日本語", 1), ("café", 1), ("emoji🎉", 1)],
    );
    check("#123 #1a #2024", &[("1a", 1)]);
    check("#Title", &[("Title", 1)]);
    check(
        "(#paren) [#bracket] \"#quoted\"",
        &[("paren", 1), ("bracket", 1), ("quoted", 1)],
    );
    check("#a, #b. #c!", &[("a", 1), ("b", 1), ("c", 1)]);
    check("#dup #dup", &[("dup", 1), ("dup", 1)]);
    check("line\n#second\n\n#fourth", &[("second", 2), ("fourth", 4)]);
    check("crlf\r\n#second\r\n", &[("second", 2)]);
    check("*#emph* **#strong**", &[("emph", 1), ("strong", 1)]);
    check("# Heading #inheading", &[("inheading", 1)]);
    check(
        "| #cell | x |\n|---|---|\n| #row | y |",
        &[("cell", 1), ("row", 3)],
    );
    check("- #item\n  > #quote", &[("item", 1), ("quote", 2)]);
}

#[test]
fn not_tags() {
    let cases = [
        "# Heading",
        "## Heading",
        "a#b",
        "x1#b",
        "é#b",
        "https://x.com/#frag",
        "see https://x.com/page#frag here",
        "##double",
        "\\#escaped",
        "&#35;entity",
        "#",
        "# ",
        "`#code`",
        "```\n#fenced\n```",
        "para\n\n    #indented code",
        "%%#comment%%",
        "%%\n#multi\nline\n%%",
        "<div>\n#html\n</div>",
        "[#text](url.md)",
        "[t](a.md#frag)",
        "[[note#heading]]",
        "[[#heading]]",
        "![[a#^b]]",
        "$#math$",
        "#/",
    ];
    for src in cases {
        check(src, &[]);
    }
}

#[test]
fn inline_span_html_keeps_surrounding_tags() {
    check("<span>x</span> #after", &[("after", 1)]);
    check("<span>#inside</span>", &[("inside", 1)]);
}

#[test]
fn frontmatter_body_is_not_scanned() {
    let src = "---\ntitle: \"#not\"\nnote: '[[not]]'\n---\n#body";
    let note = parse(src);
    check(src, &[("body", 5)]);
    assert!(note.links.is_empty());
    assert!(note.headings.is_empty());
}
