//! Markdown to HTML the way Obsidian shows a note, from the same pulldown-cmark parse the
//! engine indexes with (same options, same frontmatter split, same `%%comment%%` ranges), so
//! the outline, the links and the HTML never disagree.
//!
//! The events are rewritten before pulldown-cmark's HTML writer sees them:
//! - wikilinks become links to the note they resolve to (through [`LinkTargets`]), marked
//!   `is-unresolved` when they resolve to nothing; Markdown links to vault files likewise;
//! - embeds (`![[note]]`, `![[note#Section]]`, `![[image.png|300]]`) become an image for image
//!   files and an `embed` placeholder naming the note otherwise (the client fetches it);
//! - callouts (`> [!tip] Title`) become `div.callout` with a title and a content box;
//! - `#tags` become links, `==highlights==` become `<mark>`, trailing `^block-ids` are hidden;
//! - headings get the anchor `[[note#anchor]]` links use as their `id`.
//!
//! The output is **not** safe to show: raw HTML in the note passes through. The caller
//! sanitises it (weaver-app runs it through ammonia), which keeps this crate free of an HTML
//! parser.

use std::ops::Range;

use pulldown_cmark::{CowStr, Event, LinkType, Parser, Tag as MdTag, TagEnd};

use super::syntax::{self, slice};
use super::{body, frontmatter};
use crate::{Fragment, heading_anchor};

/// How the rendered HTML points at notes, files and tags: the caller knows the vault (to
/// resolve link targets) and the URLs its client understands.
pub trait LinkTargets {
    /// The vault path `target` (a wikilink target or a decoded relative Markdown link, without
    /// fragment) resolves to from the rendered note; the rendered note itself for `""`.
    fn resolve(&self, target: &str) -> Option<String>;
    /// The `href` of a link to the note (or attachment) at `path`, scrolled to `heading`.
    fn note_href(&self, path: &str, heading: Option<&str>) -> String;
    /// The `src` of an embedded file at `path`.
    fn file_src(&self, path: &str) -> String;
    /// The `href` of a tag (without `#`).
    fn tag_href(&self, tag: &str) -> String;
}

/// File extensions shown as images when embedded.
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "gif", "webp", "bmp", "avif", "svg"];

/// True when `path` names an image by its extension.
pub fn is_image_path(path: &str) -> bool {
    path.rsplit_once('.').is_some_and(|(_, ext)| {
        IMAGE_EXTENSIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(ext))
    })
}

/// Renders the note `src` (the whole file, frontmatter included) to HTML. Never fails; the
/// result must be sanitised before a browser sees it (see the module documentation).
///
/// ```
/// use weaver_core::{LinkTargets, render_html};
///
/// struct Links;
/// impl LinkTargets for Links {
///     fn resolve(&self, target: &str) -> Option<String> {
///         (target == "Plan").then(|| "Plan.md".to_owned())
///     }
///     fn note_href(&self, path: &str, _: Option<&str>) -> String { format!("/n/{path}") }
///     fn file_src(&self, path: &str) -> String { format!("/f/{path}") }
///     fn tag_href(&self, tag: &str) -> String { format!("/t/{tag}") }
/// }
/// let html = render_html("See [[Plan]] and [[Nowhere]] #idea", &Links);
/// assert!(html.contains(r#"<a class="internal-link" href="/n/Plan.md" data-note="Plan.md">Plan</a>"#));
/// assert!(html.contains(r#"class="internal-link is-unresolved""#));
/// assert!(html.contains(r#"<a class="tag" href="/t/idea">#idea</a>"#));
/// ```
pub fn render_html(src: &str, links: &dyn LinkTargets) -> String {
    let start = if src.starts_with('\u{feff}') { 3 } else { 0 };
    let body_start = frontmatter::find(src, start).map_or(start, |block| block.range.end);
    let body = src.get(body_start..).unwrap_or("");
    let options = body::markdown_options() | pulldown_cmark::Options::ENABLE_TASKLISTS;
    let events: Vec<(Event<'_>, Range<usize>)> = Parser::new_ext(body, options)
        .into_offset_iter()
        .map(|(event, range)| (event, range.start + body_start..range.end + body_start))
        .collect();
    let comments = if body.contains("%%") {
        body::comment_ranges(src, 0, &events)
    } else {
        Vec::new()
    };
    let mut renderer = Renderer {
        src,
        links,
        out: Vec::with_capacity(events.len()),
        frames: Vec::new(),
        code_depth: 0,
        skip_until: None,
        callout_header: None,
    };
    let mut iter = events.into_iter().peekable();
    while let Some((event, range)) = iter.next() {
        if in_comment(&comments, &range) {
            continue;
        }
        let event = match event {
            Event::Text(_) if overlaps_comment(&comments, &range) => {
                Event::Text(CowStr::from(outside_comments(src, &comments, &range)))
            }
            other => other,
        };
        let next_ends_block = matches!(
            iter.peek(),
            Some((Event::End(TagEnd::Paragraph | TagEnd::Item), _)) | None
        );
        renderer.event(event, range, next_ends_block);
    }
    let mut html = String::with_capacity(body.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, renderer.out.into_iter());
    html
}

/// True when `range` lies inside one of the sorted comment ranges.
fn in_comment(comments: &[Range<usize>], range: &Range<usize>) -> bool {
    comments
        .iter()
        .any(|c| c.start <= range.start && range.end <= c.end && c.start < c.end)
}

fn overlaps_comment(comments: &[Range<usize>], range: &Range<usize>) -> bool {
    comments
        .iter()
        .any(|c| c.start < range.end && range.start < c.end)
}

/// The source of `range` without the parts inside comments.
fn outside_comments(src: &str, comments: &[Range<usize>], range: &Range<usize>) -> String {
    let mut text = String::new();
    let mut at = range.start;
    for c in comments
        .iter()
        .filter(|c| c.start < range.end && range.start < c.end)
    {
        if c.start > at {
            text.push_str(slice(src, at..c.start));
        }
        at = at.max(c.end);
    }
    if at < range.end {
        text.push_str(slice(src, at..range.end));
    }
    text
}

/// What an open `Start` event became, so its `End` closes the same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// A wikilink or a resolved Markdown link, closed with `</a>`.
    Anchor,
    /// A link passed through to pulldown-cmark.
    PassLink,
    /// A callout: `</div></div>` closes its content and itself.
    Callout,
    /// A plain block quote.
    Quote,
}

struct Renderer<'s, 'l> {
    src: &'s str,
    links: &'l dyn LinkTargets,
    out: Vec<Event<'s>>,
    frames: Vec<Frame>,
    code_depth: usize,
    /// Inside an image or embed (its alt text is written from the source), or a heading being
    /// collected: events are dropped or buffered until the matching end.
    skip_until: Option<Skip<'s>>,
    /// The source range of the callout header line being hidden.
    callout_header: Option<Range<usize>>,
}

enum Skip<'s> {
    Image,
    Heading {
        level: pulldown_cmark::HeadingLevel,
        text: String,
        inner: Vec<Event<'s>>,
    },
}

impl<'s> Renderer<'s, '_> {
    fn html(&mut self, html: String) {
        self.out.push(Event::InlineHtml(CowStr::from(html)));
    }

    fn event(&mut self, event: Event<'s>, range: Range<usize>, next_ends_block: bool) {
        if let Some(header) = &self.callout_header {
            match &event {
                Event::Text(_)
                | Event::Code(_)
                | Event::SoftBreak
                | Event::HardBreak
                | Event::InlineHtml(_)
                    if range.start < header.end =>
                {
                    return;
                }
                Event::Start(_) | Event::End(_) if range.start < header.end => {}
                _ => self.callout_header = None,
            }
        }
        match &mut self.skip_until {
            Some(Skip::Image) => {
                if matches!(event, Event::End(TagEnd::Image)) {
                    self.skip_until = None;
                }
                return;
            }
            Some(Skip::Heading { level, text, inner }) => {
                if let Event::End(TagEnd::Heading(_)) = event {
                    let level = *level;
                    let id = heading_anchor(text);
                    let inner = std::mem::take(inner);
                    self.skip_until = None;
                    self.out.push(Event::Start(MdTag::Heading {
                        level,
                        id: (!id.is_empty()).then(|| CowStr::from(id)),
                        classes: Vec::new(),
                        attrs: Vec::new(),
                    }));
                    self.out.extend(inner);
                    self.out.push(event);
                    return;
                }
                if let Event::Text(t) | Event::Code(t) = &event {
                    text.push_str(t);
                }
                let before = self.out.len();
                self.inline(event, range, next_ends_block);
                let produced: Vec<_> = self.out.drain(before..).collect();
                if let Some(Skip::Heading { inner, .. }) = &mut self.skip_until {
                    inner.extend(produced);
                }
                return;
            }
            None => {}
        }
        match event {
            Event::Start(MdTag::Heading { level, .. }) => {
                self.skip_until = Some(Skip::Heading {
                    level,
                    text: String::new(),
                    inner: Vec::new(),
                });
            }
            Event::Start(MdTag::BlockQuote(_)) => {
                match syntax::callout_marker(self.src, range.start) {
                    Some(marker) => {
                        let kind = slice(self.src, marker.kind.clone()).to_lowercase();
                        let title = slice(self.src, marker.title.clone());
                        let title = if title.is_empty() {
                            let mut chars = kind.chars();
                            chars.next().map_or_else(String::new, |c| {
                                c.to_uppercase().chain(chars).collect::<String>()
                            })
                        } else {
                            title.to_owned()
                        };
                        self.html(format!(
                        "<div class=\"callout\" data-callout=\"{}\"><div class=\"callout-title\">{}</div><div class=\"callout-content\">",
                        escape(&kind),
                        escape(&title)
                    ));
                        self.callout_header =
                            Some(marker.marker.start..marker.title.end.max(marker.marker.end));
                        self.frames.push(Frame::Callout);
                    }
                    None => {
                        self.frames.push(Frame::Quote);
                        self.out.push(Event::Start(MdTag::BlockQuote(None)));
                    }
                }
            }
            Event::End(TagEnd::BlockQuote(_)) => match self.frames.pop() {
                Some(Frame::Callout) => self.html("</div></div>".to_owned()),
                _ => self.out.push(Event::End(TagEnd::BlockQuote(None))),
            },
            Event::Start(MdTag::CodeBlock(_)) => {
                self.code_depth += 1;
                self.out.push(event);
            }
            Event::End(TagEnd::CodeBlock) => {
                self.code_depth = self.code_depth.saturating_sub(1);
                self.out.push(event);
            }
            other => self.inline(other, range, next_ends_block),
        }
    }

    fn inline(&mut self, event: Event<'s>, range: Range<usize>, next_ends_block: bool) {
        match event {
            Event::Start(MdTag::Link {
                link_type: LinkType::WikiLink { .. },
                ..
            }) => {
                let html = match syntax::wikilink(self.src, range.clone()) {
                    Some(wiki) => self.wikilink_open(wiki.target, wiki.fragment.as_ref()),
                    None => "<a class=\"internal-link is-unresolved\">".to_owned(),
                };
                self.frames.push(Frame::Anchor);
                self.html(html);
            }
            Event::Start(MdTag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => match self.vault_link(&dest_url) {
                Some((path, heading)) => {
                    self.frames.push(Frame::Anchor);
                    let href = self.links.note_href(&path, heading.as_deref());
                    self.html(format!(
                        "<a class=\"internal-link\" href=\"{}\" data-note=\"{}\">",
                        escape(&href),
                        escape(&path)
                    ));
                }
                None => {
                    self.frames.push(Frame::PassLink);
                    self.out.push(Event::Start(MdTag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }));
                }
            },
            Event::End(TagEnd::Link) => match self.frames.pop() {
                Some(Frame::Anchor) => self.html("</a>".to_owned()),
                _ => self.out.push(Event::End(TagEnd::Link)),
            },
            Event::Start(MdTag::Image {
                link_type: LinkType::WikiLink { .. },
                ..
            }) => {
                let html = match syntax::wikilink(self.src, range.clone()) {
                    Some(wiki) => self.embed(wiki.target, wiki.fragment.as_ref(), wiki.display),
                    None => String::new(),
                };
                self.html(html);
                self.skip_until = Some(Skip::Image);
            }
            Event::Start(MdTag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                if let Some((path, _)) = self.vault_link(&dest_url) {
                    let alt = image_alt(self.src, &range);
                    self.html(format!(
                        "<img src=\"{}\" alt=\"{}\">",
                        escape(&self.links.file_src(&path)),
                        escape(&alt)
                    ));
                    self.skip_until = Some(Skip::Image);
                } else {
                    self.out.push(Event::Start(MdTag::Image {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }));
                }
            }
            Event::Text(text) if self.code_depth == 0 => {
                self.text(&text, next_ends_block);
            }
            other => self.out.push(other),
        }
    }

    /// Resolves a Markdown link destination that is not a URL to a vault file.
    fn vault_link(&self, dest: &str) -> Option<(String, Option<String>)> {
        if dest.is_empty() || dest.starts_with('#') || dest.contains(':') || dest.starts_with("//")
        {
            return None;
        }
        let (file, heading) = match dest.split_once('#') {
            Some((file, heading)) => (file, Some(heading)),
            None => (dest, None),
        };
        let decoded = percent_encoding::percent_decode_str(file)
            .decode_utf8()
            .ok()?;
        let path = self.links.resolve(&decoded)?;
        let heading = heading
            .and_then(|h| percent_encoding::percent_decode_str(h).decode_utf8().ok())
            .map(|h| heading_anchor(&h));
        Some((path, heading))
    }

    fn wikilink_open(&self, target: &str, fragment: Option<&Fragment>) -> String {
        let heading = match fragment {
            Some(Fragment::Heading(h)) => Some(heading_anchor(h)),
            _ => None,
        };
        match self.links.resolve(target) {
            Some(path) => {
                let href = self.links.note_href(&path, heading.as_deref());
                format!(
                    "<a class=\"internal-link\" href=\"{}\" data-note=\"{}\">",
                    escape(&href),
                    escape(&path)
                )
            }
            None => format!(
                "<a class=\"internal-link is-unresolved\" data-target=\"{}\" title=\"{}\">",
                escape(target),
                escape(&format!("Not created yet: {target}"))
            ),
        }
    }

    fn embed(&self, target: &str, fragment: Option<&Fragment>, display: Option<&str>) -> String {
        let Some(path) = self.links.resolve(target) else {
            return format!(
                "<span class=\"embed is-unresolved\" data-target=\"{}\">{}</span>",
                escape(target),
                escape(target)
            );
        };
        if is_image_path(&path) {
            // `![[image.png|300]]` and `![[image.png|300x200]]` size the image; other text is
            // its alternative text.
            let (width, alt) = match display {
                Some(d) if d.split('x').all(|n| n.parse::<u32>().is_ok()) => (
                    d.split('x').next().map(str::to_owned),
                    path.rsplit('/').next().unwrap_or(&path).to_owned(),
                ),
                Some(d) => (None, d.to_owned()),
                None => (None, path.rsplit('/').next().unwrap_or(&path).to_owned()),
            };
            let width = width.map_or_else(String::new, |w| format!(" width=\"{}\"", escape(&w)));
            return format!(
                "<img src=\"{}\" alt=\"{}\"{width}>",
                escape(&self.links.file_src(&path)),
                escape(&alt)
            );
        }
        let heading = match fragment {
            Some(Fragment::Heading(h)) => Some(heading_anchor(h)),
            _ => None,
        };
        let (fragment_attr, label) = match fragment {
            Some(Fragment::Heading(h)) => (
                format!(" data-fragment=\"{}\"", escape(&heading_anchor(h))),
                format!("{target} > {h}"),
            ),
            Some(Fragment::Block(b)) => (
                format!(" data-block=\"{}\"", escape(b)),
                format!("{target} > ^{b}"),
            ),
            None => (String::new(), target.to_owned()),
        };
        format!(
            "<span class=\"embed\" data-note=\"{}\"{fragment_attr}><a class=\"internal-link\" href=\"{}\" data-note=\"{}\">{}</a></span>",
            escape(&path),
            escape(&self.links.note_href(&path, heading.as_deref())),
            escape(&path),
            escape(display.unwrap_or(&label))
        )
    }

    /// Writes a text run with tags, highlights and a trailing block id rewritten.
    fn text(&mut self, text: &str, ends_block: bool) {
        let mut text = text;
        if ends_block && let Some((id, _)) = syntax::trailing_block_id(text, 0..text.len()) {
            text = text.get(..id.start).unwrap_or(text).trim_end();
        }
        if !text.contains('#') && !text.contains("==") {
            self.out.push(Event::Text(CowStr::from(text.to_owned())));
            return;
        }
        let mut html = String::with_capacity(text.len() + 16);
        let mut plain_from = 0;
        let mut i = 0;
        while i < text.len() {
            let rest = text.get(i..).unwrap_or("");
            if rest.starts_with("==")
                && let Some(close) = rest.get(2..).and_then(|r| r.find("=="))
                && close > 0
            {
                html.push_str(&escape(text.get(plain_from..i).unwrap_or("")));
                let inner = rest.get(2..2 + close).unwrap_or("");
                html.push_str("<mark>");
                html.push_str(&escape(inner));
                html.push_str("</mark>");
                i += close + 4;
                plain_from = i;
                continue;
            }
            if rest.starts_with('#')
                && let Some((name, resume)) = syntax::tag_at(text, i, text.len())
            {
                let name = slice(text, name);
                html.push_str(&escape(text.get(plain_from..i).unwrap_or("")));
                html.push_str(&format!(
                    "<a class=\"tag\" href=\"{}\">#{}</a>",
                    escape(&self.links.tag_href(name)),
                    escape(name)
                ));
                // The trailing `/` of `#a/` is not part of the tag but stays in the text.
                plain_from = name.len() + i + 1;
                i = resume.max(i + 1);
                continue;
            }
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
        html.push_str(&escape(text.get(plain_from..).unwrap_or("")));
        self.html(html);
    }
}

/// The alternative text of a Markdown image `![alt](dest)` from its source.
fn image_alt(src: &str, range: &Range<usize>) -> String {
    let whole = slice(src, range.clone());
    whole
        .strip_prefix("![")
        .and_then(|rest| rest.split_once("]("))
        .map(|(alt, _)| alt.to_owned())
        .unwrap_or_default()
}

/// Escapes text for HTML content and double-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Links;
    impl LinkTargets for Links {
        fn resolve(&self, target: &str) -> Option<String> {
            match target {
                "" => Some("Self.md".to_owned()),
                "Plan" | "Plan.md" => Some("Projects/Plan.md".to_owned()),
                "garden.png" => Some("attachments/garden.png".to_owned()),
                _ => None,
            }
        }
        fn note_href(&self, path: &str, heading: Option<&str>) -> String {
            match heading {
                Some(h) => format!("#/note/{path}?h={h}"),
                None => format!("#/note/{path}"),
            }
        }
        fn file_src(&self, path: &str) -> String {
            format!("/files/{path}")
        }
        fn tag_href(&self, tag: &str) -> String {
            format!("#/tag/{tag}")
        }
    }

    fn check(src: &str, expected: &[&str]) {
        let html = render_html(src, &Links);
        for e in expected {
            assert!(html.contains(e), "{e:?} not in {html}");
        }
    }

    #[test]
    fn obsidian_syntax_is_rewritten() {
        let cases: &[(&str, &[&str])] = &[
            (
                "[[Plan#Goals: now|the plan]]",
                &[
                    r##"<a class="internal-link" href="#/note/Projects/Plan.md?h=Goals now" data-note="Projects/Plan.md">the plan</a>"##,
                ],
            ),
            (
                "[[Missing]]",
                &[r##"class="internal-link is-unresolved" data-target="Missing""##],
            ),
            (
                "[md](Plan.md#Goals) and [web](https://example.com)",
                &[
                    r##"href="#/note/Projects/Plan.md?h=Goals" data-note="Projects/Plan.md">md</a>"##,
                    r##"<a href="https://example.com">web</a>"##,
                ],
            ),
            (
                "![[garden.png|300]] ![[Plan#Goals]] ![[Nope]]",
                &[
                    r##"<img src="/files/attachments/garden.png" alt="garden.png" width="300">"##,
                    r##"<span class="embed" data-note="Projects/Plan.md" data-fragment="Goals">"##,
                    r##"<span class="embed is-unresolved" data-target="Nope">Nope</span>"##,
                ],
            ),
            (
                "![alt text](garden.png)",
                &[r##"<img src="/files/attachments/garden.png" alt="alt text">"##],
            ),
            (
                "> [!warning]- Careful now\n> Body text\n",
                &[
                    r##"<div class="callout" data-callout="warning"><div class="callout-title">Careful now</div><div class="callout-content">"##,
                    "Body text",
                    "</div></div>",
                ],
            ),
            (
                "> [!note]\n> x\n",
                &[r##"<div class="callout-title">Note</div>"##],
            ),
            ("> plain quote\n", &["<blockquote>", "plain quote"]),
            (
                "a ==marked== b #tag/sub and `#not` ^block-1\n",
                &[
                    "a <mark>marked</mark> b <a class=\"tag\" href=\"#/tag/tag/sub\">#tag/sub</a> and <code>#not</code></p>",
                ],
            ),
            (
                "- [ ] open\n- [x] done\n",
                &[
                    r##"<input disabled="" type="checkbox"/>"##,
                    r##"checked="""##,
                ],
            ),
            (
                "Note[^1].\n\n[^1]: The footnote.\n",
                &["footnote-reference", "The footnote."],
            ),
            (
                "# Goals: now\n",
                &[r##"<h1 id="Goals now">Goals: now</h1>"##],
            ),
            (
                "```rust\nlet x = \"#no\";\n```\n",
                &[r##"<code class="language-rust">let x = "#no";"##],
            ),
            (
                "---\ntitle: x\n---\nbody %%hidden%% shown\n",
                &["body", "shown"],
            ),
        ];
        for (src, expected) in cases {
            check(src, expected);
        }
        let html = render_html("---\ntitle: secret\n---\nbody %%hidden%% shown\n", &Links);
        assert!(
            !html.contains("secret") && !html.contains("hidden"),
            "{html}"
        );
        let html = render_html("> [!tip] Title here\n> content\n", &Links);
        assert!(!html.contains("[!tip]"), "{html}");
        assert_eq!(html.matches("Title here").count(), 1, "{html}");
    }

    #[test]
    fn text_is_escaped_raw_html_passes_for_the_sanitiser() {
        let html = render_html("a <b>bold</b> & ==<x>== #t<y>\n", &Links);
        assert!(html.contains("<b>bold</b>"), "{html}");
        assert!(html.contains("&amp;"), "{html}");
    }

    #[test]
    fn images_are_recognised_by_extension() {
        assert!(is_image_path("a/b.PNG"));
        assert!(is_image_path("x.svg"));
        assert!(!is_image_path("x.md"));
        assert!(!is_image_path("png"));
    }
}
