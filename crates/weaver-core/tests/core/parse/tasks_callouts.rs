//! Tasks (any one-character status) and callouts.

use super::parse;

/// Checks tasks as (status, done, text, line).
fn check_tasks(src: &str, expected: &[(char, bool, &str, u32)]) {
    let note = parse(src);
    let got: Vec<(char, bool, &str, u32)> = note
        .tasks
        .iter()
        .map(|t| (t.status, t.done, t.text.as_str(), t.line))
        .collect();
    assert_eq!(got, expected, "input {src:?}");
}

#[test]
fn tasks() {
    check_tasks("- [ ] open", &[(' ', false, "open", 1)]);
    check_tasks("- [x] done", &[('x', true, "done", 1)]);
    check_tasks("* [X] Done", &[('X', true, "Done", 1)]);
    check_tasks("+ [ ] plus", &[(' ', false, "plus", 1)]);
    check_tasks(
        "1. [ ] numbered\n2) [x] paren",
        &[(' ', false, "numbered", 1), ('x', true, "paren", 2)],
    );
    check_tasks(
        "- [/] half\n- [-] cancelled\n- [>] later\n- [!] important",
        &[
            ('/', false, "half", 1),
            ('-', false, "cancelled", 2),
            ('>', false, "later", 3),
            ('!', false, "important", 4),
        ],
    );
    check_tasks(
        "- [ ] parent\n  - [x] child\n    - [ ] grandchild",
        &[
            (' ', false, "parent", 1),
            ('x', true, "child", 2),
            (' ', false, "grandchild", 3),
        ],
    );
    check_tasks(
        "- [ ]   spaced  **bold** [[link]]  \r\n",
        &[(' ', false, "spaced  **bold** [[link]]", 1)],
    );
    check_tasks(
        "- [ ] first line\n  continues",
        &[(' ', false, "first line", 1)],
    );
    check_tasks("- [ ]", &[(' ', false, "", 1)]);
    check_tasks("> - [ ] quoted", &[(' ', false, "quoted", 1)]);
    check_tasks(
        "---\na: 1\n---\n- [ ] after frontmatter",
        &[(' ', false, "after frontmatter", 4)],
    );
}

#[test]
fn not_tasks() {
    let cases = [
        "- [] empty",
        "- [ab] two",
        "- [x](link.md)",
        "[ ] not a list",
        "- plain item",
        "```\n- [ ] code\n```",
        "    - [ ] indented code",
        "%%\n- [ ] commented\n%%",
        "<div>\n- [ ] html\n</div>",
        "- item [ ] later",
    ];
    for src in cases {
        check_tasks(src, &[]);
    }
}

/// Checks callouts as (kind, title, line).
fn check_callouts(src: &str, expected: &[(&str, &str, u32)]) {
    let note = parse(src);
    let got: Vec<(&str, &str, u32)> = note
        .callouts
        .iter()
        .map(|c| (c.kind.as_str(), c.title.as_str(), c.line))
        .collect();
    assert_eq!(got, expected, "input {src:?}");
}

#[test]
fn callouts() {
    check_callouts("> [!note]\n> body", &[("note", "", 1)]);
    check_callouts(
        "> [!WARNING] Be careful \n> body",
        &[("warning", "Be careful", 1)],
    );
    check_callouts("> [!tip]+ Foldable open", &[("tip", "Foldable open", 1)]);
    check_callouts("> [!faq]- Folded", &[("faq", "Folded", 1)]);
    check_callouts("> [!my-type] Custom", &[("my-type", "Custom", 1)]);
    check_callouts(
        "text\n\n> [!info] A\n\n> [!bug] B\r\n",
        &[("info", "A", 3), ("bug", "B", 5)],
    );
    check_callouts(
        "> [!outer] O\n> > [!inner] I",
        &[("outer", "O", 1), ("inner", "I", 2)],
    );
    check_callouts("- > [!note] In list", &[("note", "In list", 1)]);
}

#[test]
fn not_callouts() {
    let cases = [
        "> plain quote",
        "> text\n> [!note] second line",
        "[!note] no quote",
        "```\n> [!note]\n```",
        "%%\n> [!note]\n%%",
        "> [!] empty",
    ];
    for src in cases {
        check_callouts(src, &[]);
    }
}

#[test]
fn markers_are_not_text() {
    let note = parse("> [!note] Title\n> body\n\n- [ ] task\n- [/] other");
    assert_eq!(note.text, "Title body\ntask\nother");
}
