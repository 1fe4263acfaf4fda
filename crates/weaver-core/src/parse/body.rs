//! The body walker: drives pulldown-cmark over the note's body and turns its events into
//! headings, links, tags, block ids, tasks, callouts and searchable text.
//!
//! pulldown-cmark decides structure: what is code, HTML or math (and so holds no links or
//! tags), where blocks start and end, and which `[[...]]` are wikilinks. The walker reads the
//! source bytes under each event for what the events do not carry: exact target ranges, tags
//! in text, block ids, custom task statuses and callout headers. Obsidian's `%%comments%%` can
//! span blocks, so when the body contains `%%` the events are buffered, the comment ranges
//! found from their text, and everything inside a comment skipped while walking the buffer;
//! the source is never rewritten, so comments cannot change the block structure pulldown sees.

use std::ops::Range;

use percent_encoding::percent_decode_str;
use pulldown_cmark::{Event, LinkType, Options, Parser, RefDefs, Tag as MdTag, TagEnd};

use super::LineIndex;
use super::syntax::{self, HtmlText, slice, trim_end_range, trim_range};
use crate::{
    Block, Callout, ExternalLink, Fragment, Heading, Link, LinkKind, ParsedNote, Tag, TagSource,
    Task, heading_anchor,
};

/// The Markdown dialect Obsidian writes: GFM tables and strikethrough, footnotes, `$math$` and
/// wikilinks. Task lists are read by the walker (pulldown only knows `[ ]` and `[x]`), and
/// callouts too (GFM alerts only know five types).
pub(super) fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_MATH
        | Options::ENABLE_WIKILINKS
}

/// Parses the body `src[start..]`, adding what it finds to `note`, and returns the plain text.
pub(super) fn parse(src: &str, start: usize, lines: &LineIndex, note: &mut ParsedNote) -> String {
    let body = src.get(start..).unwrap_or("");
    let mut walker = Walker {
        src,
        lines,
        note,
        comments: Vec::new(),
        text: String::with_capacity(body.len()),
        frames: vec![Frame {
            kind: Kind::Root,
            range: start..src.len(),
            prev: None,
        }],
        leaf: None,
        links: Vec::new(),
        wiki_depth: 0,
        heading: None,
        run: None,
        last_run: 0..0,
        suppress: 0..0,
        code_depth: 0,
        html: HtmlText::default(),
    };
    let mut events = Parser::new_ext(body, markdown_options()).into_offset_iter();
    if body.contains("%%") {
        // Comments can span blocks, so they are only known once every event is: buffer them
        // (one parse either way) and walk the buffer.
        let buffered: Vec<_> = events.by_ref().collect();
        walker.comments = comment_ranges(src, start, &buffered);
        for (event, range) in buffered {
            walker.event(
                event,
                range.start + start..range.end + start,
                events.reference_definitions(),
                start,
            );
        }
    } else {
        while let Some((event, range)) = events.next() {
            walker.event(
                event,
                range.start + start..range.end + start,
                events.reference_definitions(),
                start,
            );
        }
    }
    walker.flush_run();
    walker.close_item_leaf();
    walker.text
}

/// Finds Obsidian comments: `%%` pairs in text (not in code), the last one running to the
/// end of the file when unclosed. Returns sorted, disjoint absolute ranges.
pub(super) fn comment_ranges(
    src: &str,
    start: usize,
    events: &[(Event<'_>, Range<usize>)],
) -> Vec<Range<usize>> {
    let mut marks = Vec::new();
    let mut code_depth = 0usize;
    for (event, range) in events {
        match event {
            Event::Start(MdTag::CodeBlock(_)) => code_depth += 1,
            Event::End(TagEnd::CodeBlock) => code_depth = code_depth.saturating_sub(1),
            Event::Text(_) if code_depth == 0 => {
                let text_start = start + range.start;
                let text = slice(src, text_start..start + range.end);
                let mut from = 0;
                while let Some(found) = text.get(from..).and_then(|rest| rest.find("%%")) {
                    marks.push(text_start + from + found);
                    from += found + 2;
                }
            }
            _ => {}
        }
    }
    marks
        .chunks(2)
        .map(|pair| match pair {
            [open, close] => *open..*close + 2,
            [open] => *open..src.len(),
            _ => 0..0,
        })
        .collect()
}

/// A block container the walker is inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Root,
    Paragraph,
    Heading,
    BlockQuote,
    CodeBlock,
    HtmlBlock,
    List,
    Item,
    FootnoteDefinition,
    Table,
    TableHead,
    TableRow,
    TableCell,
    Other,
}

impl Kind {
    /// True for blocks an own-line `^id` after them can label.
    fn is_labelable(self) -> bool {
        !matches!(
            self,
            Self::Root | Self::TableHead | Self::TableRow | Self::TableCell | Self::Other
        )
    }

    /// True for blocks that start on a new line of the plain text.
    fn breaks_text(self) -> bool {
        !matches!(
            self,
            Self::Root | Self::TableCell | Self::List | Self::Other
        )
    }
}

#[derive(Debug)]
struct Frame {
    kind: Kind,
    range: Range<usize>,
    /// The last block closed directly inside this one: what an own-line `^id` labels.
    prev: Option<Range<usize>>,
}

/// Inline content that can end with a block id: a paragraph, or a tight list item's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LeafKind {
    Paragraph,
    ItemText,
}

#[derive(Debug)]
struct Leaf {
    kind: LeafKind,
    start: usize,
    end: usize,
}

/// An open link or image.
#[derive(Debug)]
enum LinkFrame {
    /// Not a link of ours (an autolink, a rejected wikilink, a link in a comment): children
    /// are ordinary text.
    Plain,
    /// A wikilink whose display text was already emitted: children are skipped.
    Wiki,
    /// A Markdown link to a note or attachment, completed at its end.
    Local {
        index: usize,
        text_end: usize,
        display: String,
        inline: bool,
    },
    /// A Markdown link to a URL, completed at its end.
    External { index: usize, display: String },
}

#[derive(Debug)]
struct HeadingState {
    level: u8,
    range: Range<usize>,
    text: String,
    visible: bool,
}

/// Which part of an event's range is outside comments and markers.
enum Visible {
    All,
    Nothing,
    Parts(Vec<Range<usize>>),
}

struct Walker<'a> {
    src: &'a str,
    lines: &'a LineIndex,
    note: &'a mut ParsedNote,
    comments: Vec<Range<usize>>,
    text: String,
    /// Open blocks; `frames[0]` is the document and is never popped.
    frames: Vec<Frame>,
    leaf: Option<Leaf>,
    links: Vec<LinkFrame>,
    wiki_depth: usize,
    heading: Option<HeadingState>,
    /// The current run of contiguous plain text, scanned for tags and URLs when it ends.
    run: Option<Range<usize>>,
    /// The last scanned run: a block id must lie inside plain text.
    last_run: Range<usize>,
    /// A task checkbox or callout header: syntax, not text.
    suppress: Range<usize>,
    code_depth: usize,
    html: HtmlText,
}

impl Walker<'_> {
    fn event(&mut self, event: Event<'_>, range: Range<usize>, defs: &RefDefs<'_>, base: usize) {
        if !matches!(event, Event::Text(_)) {
            self.flush_run();
        }
        match event {
            Event::Start(tag) => self.start(tag, range, defs, base),
            Event::End(tag) => self.end(tag, range),
            Event::Text(text) => self.text(&text, range),
            Event::Code(text) | Event::InlineMath(text) | Event::DisplayMath(text) => {
                self.inline(&range);
                if self.wiki_depth == 0 && !self.hidden(range.start) {
                    self.emit(text.trim());
                }
            }
            Event::Html(html) => self.html_line(&html, &range),
            Event::InlineHtml(_) | Event::FootnoteReference(_) | Event::TaskListMarker(_) => {
                self.inline(&range);
            }
            Event::SoftBreak | Event::HardBreak => {
                self.inline(&range);
                if self.wiki_depth == 0 {
                    self.emit(" ");
                }
            }
            Event::Rule => {
                self.close_item_leaf();
                self.block_closed(&range);
                self.block_break();
            }
        }
    }

    fn line(&self, pos: usize) -> u32 {
        self.lines.line(pos)
    }

    /// True when `pos` is inside a `%%comment%%`.
    fn hidden(&self, pos: usize) -> bool {
        let i = self.comments.partition_point(|c| c.end <= pos);
        self.comments.get(i).is_some_and(|c| c.start <= pos)
    }

    fn visible(&self, range: &Range<usize>) -> Visible {
        let suppress = &self.suppress;
        let suppressed = suppress.start < range.end && range.start < suppress.end;
        let first = self.comments.partition_point(|c| c.end <= range.start);
        let commented = self
            .comments
            .get(first..)
            .unwrap_or(&[])
            .iter()
            .take_while(|c| c.start < range.end);
        if !suppressed && commented.clone().next().is_none() {
            return Visible::All;
        }
        let mut hidden: Vec<Range<usize>> = commented.cloned().collect();
        if suppressed {
            hidden.push(suppress.clone());
            hidden.sort_by_key(|r| r.start);
        }
        let mut parts = Vec::new();
        let mut cursor = range.start;
        for h in hidden {
            if h.start > cursor {
                parts.push(cursor..h.start.min(range.end));
            }
            cursor = cursor.max(h.end);
        }
        if cursor < range.end {
            parts.push(cursor..range.end);
        }
        if parts.is_empty() {
            Visible::Nothing
        } else {
            Visible::Parts(parts)
        }
    }

    /// Appends text to the note text, the open heading and the open links' display text.
    fn emit(&mut self, s: &str) {
        if let Some(heading) = &mut self.heading {
            heading.text.push_str(s);
        }
        for frame in &mut self.links {
            if let LinkFrame::Local { display, .. } | LinkFrame::External { display, .. } = frame {
                display.push_str(s);
            }
        }
        self.text.push_str(s);
    }

    /// Ends the current line of text, dropping trailing blanks.
    fn block_break(&mut self) {
        let kept = self.text.trim_end_matches([' ', '\t']).len();
        self.text.truncate(kept);
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    /// Records an inline event: it extends the current leaf (opening a tight item's text) and
    /// the innermost link's text.
    fn inline(&mut self, range: &Range<usize>) {
        if self.leaf.is_none() && self.frames.last().is_some_and(|f| f.kind == Kind::Item) {
            self.leaf = Some(Leaf {
                kind: LeafKind::ItemText,
                start: range.start,
                end: range.end,
            });
        }
        if let Some(leaf) = &mut self.leaf {
            leaf.end = leaf.end.max(range.end);
        }
        if let Some(LinkFrame::Local { text_end, .. }) = self.links.last_mut() {
            *text_end = (*text_end).max(range.end);
        }
    }

    fn text(&mut self, text: &str, range: Range<usize>) {
        self.inline(&range);
        if self.wiki_depth > 0 {
            return;
        }
        let scan = self.links.is_empty() && self.code_depth == 0;
        let parts = match self.visible(&range) {
            Visible::Nothing => return,
            Visible::All => {
                self.emit_text(text);
                if scan {
                    self.extend_run(range);
                }
                return;
            }
            Visible::Parts(parts) => parts,
        };
        // Plain text is the source itself; escapes and entities are rare enough that their
        // partly hidden events fall back to the source.
        let plain = text.len() == range.len();
        for part in parts {
            let piece = if plain {
                text.get(part.start - range.start..part.end - range.start)
                    .unwrap_or("")
            } else {
                slice(self.src, part.clone())
            };
            self.emit_text(piece);
            if scan {
                self.extend_run(part);
            }
        }
    }

    /// Adds the text of one line of an HTML block, without tags, as its own line.
    fn html_line(&mut self, html: &str, range: &Range<usize>) {
        if self.hidden(range.start) {
            return;
        }
        let mut line = String::new();
        self.html.push(html, &mut line);
        let line = line.trim();
        if !line.is_empty() {
            self.block_break();
            self.text.push_str(line);
        }
    }

    /// Emits text, dropping the `\r` of CRLF lines inside code blocks and, outside code, the
    /// blanks a removed marker leaves at the start of a line.
    fn emit_text(&mut self, text: &str) {
        let at_line_start = self.text.is_empty() || self.text.ends_with('\n');
        let text = if self.code_depth == 0 && at_line_start {
            text.trim_start_matches([' ', '\t'])
        } else {
            text
        };
        if text.contains('\r') {
            self.emit(&text.replace("\r\n", "\n"));
        } else {
            self.emit(text);
        }
    }

    fn extend_run(&mut self, part: Range<usize>) {
        match &mut self.run {
            Some(run) if run.end == part.start => run.end = part.end,
            _ => {
                self.flush_run();
                self.run = Some(part);
            }
        }
    }

    /// Scans the finished run of plain text for tags and bare URLs.
    fn flush_run(&mut self) {
        let Some(run) = self.run.take() else { return };
        let src = self.src;
        let text = slice(src, run.clone());
        // Next `#` and `:` at or after `from`, found with memchr-backed `find`.
        let next = |c: char, from: usize| {
            text.get(from - run.start..)
                .and_then(|rest| rest.find(c))
                .map(|i| from + i)
        };
        let mut i = run.start;
        let mut hash = next('#', i);
        let mut colon = next(':', i);
        loop {
            if hash.is_some_and(|h| h < i) {
                hash = next('#', i);
            }
            if colon.is_some_and(|c| c < i) {
                colon = next(':', i);
            }
            let at = match (hash, colon) {
                (Some(h), Some(c)) => h.min(c),
                (Some(at), None) | (None, Some(at)) => at,
                (None, None) => break,
            };
            if Some(at) == hash {
                if let Some((name, resume)) = syntax::tag_at(src, at, run.end) {
                    self.note.tags.push(Tag {
                        name: slice(src, name).to_owned(),
                        source: TagSource::Inline,
                        line: self.line(at),
                    });
                    i = resume;
                    continue;
                }
            } else if let Some(url) = syntax::url_at(src, at, i, run.end) {
                self.note.external_links.push(ExternalLink {
                    url: slice(src, url.clone()).to_owned(),
                    display: None,
                    line: self.line(url.start),
                });
                i = url.end;
                continue;
            }
            i = at + 1;
        }
        self.last_run = run;
    }

    fn open_block(&mut self, kind: Kind, range: Range<usize>) {
        self.close_item_leaf();
        if kind.breaks_text() {
            self.block_break();
        }
        self.frames.push(Frame {
            kind,
            range,
            prev: None,
        });
    }

    /// Pops the innermost block (never the document).
    fn close_block(&mut self) -> Option<Frame> {
        if self.frames.len() > 1 {
            self.frames.pop()
        } else {
            None
        }
    }

    /// Remembers a closed block as its parent's last child.
    fn block_closed(&mut self, range: &Range<usize>) {
        let range = trim_end_range(self.src, range.clone());
        if let Some(parent) = self.frames.last_mut() {
            parent.prev = Some(range);
        }
    }

    fn start(&mut self, tag: MdTag<'_>, range: Range<usize>, defs: &RefDefs<'_>, base: usize) {
        match tag {
            MdTag::Paragraph => {
                self.open_block(Kind::Paragraph, range.clone());
                self.leaf = Some(Leaf {
                    kind: LeafKind::Paragraph,
                    start: range.start,
                    end: range.start,
                });
            }
            MdTag::Heading { level, .. } => {
                self.open_block(Kind::Heading, range.clone());
                self.heading = Some(HeadingState {
                    level: level as u8,
                    range: trim_range(self.src, range.clone()),
                    text: String::new(),
                    visible: !self.hidden(range.start),
                });
            }
            MdTag::BlockQuote(_) => {
                self.open_block(Kind::BlockQuote, range.clone());
                self.callout(range.start);
            }
            MdTag::CodeBlock(_) => {
                self.open_block(Kind::CodeBlock, range);
                self.code_depth += 1;
            }
            MdTag::HtmlBlock => {
                self.open_block(Kind::HtmlBlock, range);
                self.html = HtmlText::default();
            }
            MdTag::List(_) => self.open_block(Kind::List, range),
            MdTag::Item => {
                self.open_block(Kind::Item, range.clone());
                self.task(range.start);
            }
            MdTag::FootnoteDefinition(_) => self.open_block(Kind::FootnoteDefinition, range),
            MdTag::Table(_) => self.open_block(Kind::Table, range),
            MdTag::TableHead => self.open_block(Kind::TableHead, range),
            MdTag::TableRow => self.open_block(Kind::TableRow, range),
            MdTag::TableCell => self.open_block(Kind::TableCell, range),
            MdTag::Emphasis
            | MdTag::Strong
            | MdTag::Strikethrough
            | MdTag::Superscript
            | MdTag::Subscript => self.inline(&range),
            MdTag::Link {
                link_type,
                dest_url,
                id,
                ..
            } => {
                self.inline(&range);
                self.start_link(false, link_type, &dest_url, &id, range, defs, base);
            }
            MdTag::Image {
                link_type,
                dest_url,
                id,
                ..
            } => {
                self.inline(&range);
                self.start_link(true, link_type, &dest_url, &id, range, defs, base);
            }
            MdTag::MetadataBlock(_)
            | MdTag::DefinitionList
            | MdTag::DefinitionListTitle
            | MdTag::DefinitionListDefinition => self.open_block(Kind::Other, range),
        }
    }

    fn end(&mut self, tag: TagEnd, range: Range<usize>) {
        match tag {
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript => self.inline(&range),
            TagEnd::Link | TagEnd::Image => {
                self.end_link();
                self.inline(&range);
            }
            TagEnd::Paragraph => {
                let leaf = self.leaf.take();
                let frame = self.close_block();
                if let Some(frame) = frame {
                    if let Some(leaf) = leaf {
                        self.finish_leaf(&leaf, Some(frame.range.clone()));
                    }
                    self.block_closed(&frame.range);
                }
                self.block_break();
            }
            TagEnd::Heading(_) => {
                if let Some(frame) = self.close_block() {
                    self.block_closed(&frame.range);
                }
                if let Some(heading) = self.heading.take()
                    && heading.visible
                {
                    let text = heading.text.trim();
                    self.note.headings.push(Heading {
                        level: heading.level,
                        anchor: heading_anchor(text),
                        text: text.to_owned(),
                        line: self.line(heading.range.start),
                        range: heading.range,
                    });
                }
                self.block_break();
            }
            TagEnd::CodeBlock => {
                self.code_depth = self.code_depth.saturating_sub(1);
                self.end_block();
            }
            TagEnd::Item => {
                self.close_item_leaf();
                self.end_block();
            }
            TagEnd::TableCell => {
                self.close_block();
                if !self.text.is_empty() && !self.text.ends_with(char::is_whitespace) {
                    self.text.push(' ');
                }
            }
            TagEnd::BlockQuote(_)
            | TagEnd::HtmlBlock
            | TagEnd::List(_)
            | TagEnd::FootnoteDefinition
            | TagEnd::Table
            | TagEnd::TableHead
            | TagEnd::TableRow
            | TagEnd::MetadataBlock(_)
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition => self.end_block(),
        }
    }

    /// Closes the innermost block, recording it as its parent's last child if an own-line
    /// `^id` can label it.
    fn end_block(&mut self) {
        if let Some(frame) = self.close_block() {
            if frame.kind.is_labelable() {
                self.block_closed(&frame.range);
            }
            if frame.kind.breaks_text() {
                self.block_break();
            }
        }
    }

    /// Ends a tight list item's text when a block starts inside the item or the item ends.
    fn close_item_leaf(&mut self) {
        if self
            .leaf
            .as_ref()
            .is_some_and(|l| l.kind == LeafKind::ItemText)
            && let Some(leaf) = self.leaf.take()
        {
            self.finish_leaf(&leaf, None);
        }
    }

    /// Looks for a block id at the end of a finished leaf. `own` is the paragraph's range;
    /// the parent block is `frames.last()` (the paragraph's frame is already popped; a tight
    /// item's text has no frame of its own, so its parent is the item).
    fn finish_leaf(&mut self, leaf: &Leaf, own: Option<Range<usize>>) {
        let Some((id, alone)) = syntax::trailing_block_id(self.src, leaf.start..leaf.end) else {
            return;
        };
        if !(self.last_run.start <= id.start && id.end <= self.last_run.end) {
            return;
        }
        let Some(parent) = self.frames.last() else {
            return;
        };
        let labelled = match (leaf.kind, own) {
            (LeafKind::Paragraph, Some(own)) if alone => {
                parent.prev.clone().unwrap_or(if parent.kind == Kind::Item {
                    parent.range.clone()
                } else {
                    own
                })
            }
            (LeafKind::Paragraph, Some(own)) => {
                if parent.kind == Kind::Item && parent.prev.is_none() {
                    parent.range.clone()
                } else {
                    own
                }
            }
            _ => parent.range.clone(),
        };
        let id_text = slice(self.src, id.clone());
        if let Some(kept) = self.text.strip_suffix(id_text) {
            let kept = kept.trim_end_matches([' ', '\t']).len();
            self.text.truncate(kept);
        }
        self.note.blocks.push(Block {
            id: id_text.get(1..).unwrap_or("").to_owned(),
            line: self.line(id.start),
            range: trim_end_range(self.src, labelled),
        });
    }

    fn callout(&mut self, quote: usize) {
        if self.hidden(quote) {
            return;
        }
        if let Some(marker) = syntax::callout_marker(self.src, quote) {
            self.note.callouts.push(Callout {
                kind: slice(self.src, marker.kind).to_lowercase(),
                title: slice(self.src, marker.title).to_owned(),
                line: self.line(quote),
            });
            self.suppress = marker.marker;
        }
    }

    fn task(&mut self, item: usize) {
        if self.hidden(item) {
            return;
        }
        if let Some(marker) = syntax::task_marker(self.src, item) {
            self.note.tasks.push(Task {
                status: marker.status,
                done: matches!(marker.status, 'x' | 'X'),
                text: slice(self.src, marker.text).to_owned(),
                line: self.line(item),
            });
            self.suppress = marker.marker;
        }
    }

    #[allow(clippy::too_many_arguments)] // One call site per link tag; a struct adds nothing.
    fn start_link(
        &mut self,
        image: bool,
        link_type: LinkType,
        dest: &str,
        id: &str,
        range: Range<usize>,
        defs: &RefDefs<'_>,
        base: usize,
    ) {
        if self.wiki_depth > 0 || self.hidden(range.start) {
            self.links.push(LinkFrame::Plain);
            return;
        }
        match link_type {
            LinkType::WikiLink { .. } => self.start_wikilink(range),
            LinkType::Autolink | LinkType::Email => {
                self.note.external_links.push(ExternalLink {
                    url: dest.to_owned(),
                    display: None,
                    line: self.line(range.start),
                });
                self.links.push(LinkFrame::Plain);
            }
            LinkType::Inline
            | LinkType::Reference
            | LinkType::ReferenceUnknown
            | LinkType::Collapsed
            | LinkType::CollapsedUnknown
            | LinkType::Shortcut
            | LinkType::ShortcutUnknown => {
                // pulldown-cmark's range for `[text][]` stops before the empty `[]`.
                let mut range = range;
                if matches!(link_type, LinkType::Collapsed | LinkType::CollapsedUnknown)
                    && slice(self.src, range.end..range.end + 2) == "[]"
                {
                    range.end += 2;
                }
                let definition = if link_type == LinkType::Inline {
                    None
                } else {
                    match defs.get(id) {
                        Some(def) => Some(def.span.start + base..def.span.end + base),
                        None => {
                            self.links.push(LinkFrame::Plain);
                            return;
                        }
                    }
                };
                self.start_markdown_link(image, dest, range, definition);
            }
        }
    }

    fn start_wikilink(&mut self, range: Range<usize>) {
        let Some(wiki) = syntax::wikilink(self.src, range.clone()) else {
            self.links.push(LinkFrame::Plain);
            return;
        };
        let label = wiki_label(&wiki);
        self.note.links.push(Link {
            kind: if wiki.embed {
                LinkKind::Embed
            } else {
                LinkKind::Wikilink
            },
            target: wiki.target.to_owned(),
            fragment: wiki.fragment,
            display: wiki.display.map(str::to_owned),
            line: self.line(range.start),
            target_range: wiki.target_range,
            range,
        });
        if let Some(label) = label {
            self.emit(&label);
        }
        self.links.push(LinkFrame::Wiki);
        self.wiki_depth += 1;
    }

    /// Starts a Markdown link or image. `definition` is the span of the reference definition
    /// for reference-style links (whose target is written there); inline links find their
    /// destination when they end, once the link text's extent is known.
    fn start_markdown_link(
        &mut self,
        image: bool,
        dest: &str,
        range: Range<usize>,
        definition: Option<Range<usize>>,
    ) {
        let line = self.line(range.start);
        if is_external(dest) {
            self.links.push(LinkFrame::External {
                index: self.note.external_links.len(),
                display: String::new(),
            });
            self.note.external_links.push(ExternalLink {
                url: dest.to_owned(),
                display: None,
                line,
            });
            return;
        }
        let (path, fragment) = match dest.split_once('#') {
            Some((path, fragment)) => {
                (path, Some(percent_decode_str(fragment).decode_utf8_lossy()))
            }
            None => (dest, None),
        };
        let target = percent_decode_str(path)
            .decode_utf8_lossy()
            .trim()
            .to_owned();
        let fragment = fragment.and_then(|f| syntax::fragment(&f));
        if target.is_empty() && fragment.is_none() {
            self.links.push(LinkFrame::Plain);
            return;
        }
        let inline = definition.is_none();
        let target_range = match definition {
            Some(span) => match syntax::definition_destination(self.src, span) {
                Some(written) => self.target_part(written, target.is_empty()),
                None => {
                    self.links.push(LinkFrame::Plain);
                    return;
                }
            },
            // Placeholder until the link ends.
            None => range.start..range.start,
        };
        self.links.push(LinkFrame::Local {
            index: self.note.links.len(),
            text_end: range.start + if image { 2 } else { 1 },
            display: String::new(),
            inline,
        });
        self.note.links.push(Link {
            kind: if image {
                LinkKind::MarkdownEmbed
            } else {
                LinkKind::Markdown
            },
            target,
            fragment,
            display: None,
            line,
            range,
            target_range,
        });
    }

    /// The target part (before `#`, trimmed) of a destination written at `written`; empty at
    /// its start for same-note links.
    fn target_part(&self, written: Range<usize>, same_note: bool) -> Range<usize> {
        if same_note {
            return written.start..written.start;
        }
        let raw = slice(self.src, written.clone());
        let path_len = raw.find('#').unwrap_or(raw.len());
        trim_range(self.src, written.start..written.start + path_len)
    }

    fn end_link(&mut self) {
        let Some(frame) = self.links.pop() else {
            return;
        };
        match frame {
            LinkFrame::Plain => {}
            LinkFrame::Wiki => self.wiki_depth = self.wiki_depth.saturating_sub(1),
            LinkFrame::Local {
                index,
                text_end,
                display,
                inline,
            } => {
                let Some(link) = self.note.links.get(index) else {
                    return;
                };
                let link_end = link.range.end;
                let same_note = link.target.is_empty();
                if inline {
                    match syntax::inline_destination(self.src, text_end, link_end) {
                        Some(written) => {
                            let target_range = self.target_part(written, same_note);
                            if let Some(link) = self.note.links.get_mut(index) {
                                link.target_range = target_range;
                            }
                        }
                        None => {
                            self.note.links.remove(index);
                            return;
                        }
                    }
                }
                if let Some(link) = self.note.links.get_mut(index) {
                    link.display = non_empty(&display);
                }
            }
            LinkFrame::External { index, display } => {
                if let Some(link) = self.note.external_links.get_mut(index) {
                    link.display = non_empty(&display);
                }
            }
        }
    }
}

/// The text a wikilink shows: its alias, else `target > heading` as Obsidian renders it.
/// Embeds show their content, not a label, unless they have an alias that is not an image
/// size (`|100` or `|100x200`).
fn wiki_label(wiki: &syntax::Wikilink<'_>) -> Option<String> {
    if let Some(display) = wiki.display {
        let is_size = display
            .split_once('x')
            .map_or(display, |(w, h)| if h.is_empty() { "?" } else { w })
            .bytes()
            .all(|b| b.is_ascii_digit());
        return (!(wiki.embed && is_size)).then(|| display.to_owned());
    }
    if wiki.embed {
        return None;
    }
    let fragment = match &wiki.fragment {
        Some(Fragment::Heading(h)) => h.replace('#', " > "),
        Some(Fragment::Block(b)) => format!("^{b}"),
        None => String::new(),
    };
    Some(match (wiki.target.is_empty(), fragment.is_empty()) {
        (false, false) => format!("{} > {fragment}", wiki.target),
        (false, true) => wiki.target.to_owned(),
        (true, _) => fragment,
    })
}

/// True for destinations outside the vault: `scheme:` with two or more letters, or `//host`.
fn is_external(dest: &str) -> bool {
    if dest.starts_with("//") {
        return true;
    }
    let Some((scheme, _)) = dest.split_once(':') else {
        return false;
    };
    scheme.len() >= 2
        && scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'))
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_destinations() {
        let cases = [
            ("https://x.com", true),
            ("mailto:a@b.c", true),
            ("obsidian://open?vault=v", true),
            ("file:///tmp/x", true),
            ("//cdn.example/x.png", true),
            ("x-custom+v1.2:thing", true),
            ("C:\\notes\\a.md", false),
            ("a.md", false),
            ("../a.md", false),
            ("#heading", false),
            ("a:b.md", false),
            ("1ab:x", false),
        ];
        for (dest, expected) in cases {
            assert_eq!(is_external(dest), expected, "input {dest:?}");
        }
    }

    #[test]
    fn comment_ranges_pair_up() {
        let src = "a %%x%% b `%%` c %%\nrest";
        let events: Vec<_> = Parser::new_ext(src, markdown_options())
            .into_offset_iter()
            .collect();
        let ranges: Vec<&str> = comment_ranges(src, 0, &events)
            .into_iter()
            .map(|r| &src[r])
            .collect();
        assert_eq!(ranges, ["%%x%%", "%%\nrest"]);
    }
}
