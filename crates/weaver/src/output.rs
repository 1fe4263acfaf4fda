//! How command results are printed: a readable form for people, `--json` for programs. The
//! JSON of a command that has a REST route is that route's body (`weaver_api::dto`, mapped by
//! `weaver_app::dto`), so a script can switch between the two.

use std::io::Write;

use serde::Serialize;
use weaver_api::dto::{NoteRefList, StatsDto};
use weaver_app::dto;
use weaver_app::{
    Backlink, Mention, Neighbor, NoteDetails, NoteRef, OpenReport, OutgoingLink, Paged, Problem,
    SearchAnswer, SimilarNotes, SyncReport, TagCount, UnresolvedLink, VaultStats,
};
use weaver_core::{DiagnosticCode, Fragment};

/// Where results go: stdout, as text or JSON.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub json: bool,
}

/// Writes to stdout, ignoring a closed pipe (`weaver search x | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

impl Out {
    fn emit_json<T: Serialize + ?Sized>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => say!("{text}"),
            Err(err) => eprintln!("error: cannot encode JSON: {err}"),
        }
    }

    pub fn index_report(&self, report: &OpenReport) {
        if self.json {
            let mut value = serde_json::to_value(report).unwrap_or_default();
            if let Some(map) = value.as_object_mut() {
                map.insert("peak_rss_bytes".into(), peak_rss_bytes().into());
            }
            return self.emit_json(&value);
        }
        let sync = &report.sync;
        say!(
            "indexed {} notes and {} attachments in {:.0} ms: {} parsed, {} unchanged, {} changes (cache: {})",
            report.notes,
            report.attachments,
            sync.elapsed.as_secs_f64() * 1000.0,
            sync.parsed,
            sync.unchanged,
            sync.changes.len(),
            match &report.cache {
                weaver_app::CacheState::Reused => "reused".to_owned(),
                weaver_app::CacheState::Created => "created".to_owned(),
                weaver_app::CacheState::Rebuilt(reason) => format!("rebuilt: {reason}"),
                weaver_app::CacheState::InUse =>
                    "in use by another process, indexed in memory".to_owned(),
                weaver_app::CacheState::InMemory => "in memory".to_owned(),
                weaver_app::CacheState::Unavailable(reason) =>
                    format!("unavailable, indexed in memory: {reason}"),
            }
        );
    }

    pub fn sync_report(&self, report: &SyncReport) {
        if self.json {
            match serde_json::to_string(report) {
                Ok(line) => say!("{line}"),
                Err(err) => eprintln!("error: cannot encode JSON: {err}"),
            }
            return;
        }
        for change in &report.changes {
            say!("{:?} {}", change.kind, change.path);
        }
    }

    pub fn search(&self, answer: &SearchAnswer) {
        if self.json {
            return self.emit_json(&dto::search_answer(answer.clone()));
        }
        for hit in &answer.hits {
            let why = match (hit.keyword, &hit.chunk) {
                (true, Some(_)) => "  [words + meaning]",
                (false, Some(_)) => "  [meaning]",
                _ => "",
            };
            say!("{}  {}  ({:.3}){why}", hit.path, hit.title, hit.score);
            let snippet = highlight(&hit.snippet, &hit.highlights);
            if !snippet.is_empty() {
                say!("    {}", snippet.replace('\n', " "));
            }
            if let Some(chunk) = hit.chunk.as_ref().filter(|c| !c.heading.is_empty()) {
                say!("    § {}", chunk.heading);
            }
        }
        let partial = if answer.partial {
            " (embedding incomplete: some notes may be missing)"
        } else {
            ""
        };
        say!(
            "{} of {} results, {} ranking{partial}",
            answer.hits.len(),
            answer.total,
            answer.mode.as_str()
        );
    }

    pub fn similar(&self, similar: &SimilarNotes) {
        if self.json {
            return self.emit_json(&dto::similar_list(similar.clone()));
        }
        for n in &similar.items {
            let section = if n.chunk.heading.is_empty() {
                String::new()
            } else {
                format!("  § {}", n.chunk.heading)
            };
            say!("{}  {}  ({:.3}){section}", n.path, n.title, n.similarity);
        }
        say!("{} notes similar to {}", similar.items.len(), similar.path);
    }

    pub fn mentions(&self, note: &str, page: &Paged<Mention>) {
        if self.json {
            return self.emit_json(&dto::mention_list(note.to_owned(), page.clone()));
        }
        for m in &page.items {
            say!("{}:{}  \"{}\"  {}", m.source, m.line, m.name, m.context);
        }
        say!(
            "{} of {} unlinked mentions of {note}",
            page.items.len(),
            page.total
        );
    }

    pub fn note(&self, note: &NoteDetails, content: Option<&str>) {
        if self.json {
            return self.emit_json(&dto::note_dto(note.clone(), content.map(str::to_owned)));
        }
        say!("{}  ({})", note.title, note.path);
        if !note.aliases.is_empty() {
            say!("aliases: {}", note.aliases.join(", "));
        }
        if !note.tags.is_empty() {
            say!(
                "tags: {}",
                note.tags
                    .iter()
                    .map(|t| format!("#{t}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        say!(
            "{} bytes, {} words, hash {}",
            note.size,
            note.word_count,
            note.hash.get(..16).unwrap_or(&note.hash)
        );
        if !note.headings.is_empty() {
            say!("\noutline:");
            for h in &note.headings {
                say!(
                    "{}{} (line {})",
                    "  ".repeat(usize::from(h.level.saturating_sub(1))),
                    h.text,
                    h.line
                );
            }
        }
        if !note.tasks.is_empty() {
            let done = note.tasks.iter().filter(|t| t.done).count();
            say!("\ntasks: {done}/{} done", note.tasks.len());
        }
        if !note.links.is_empty() {
            say!("\nlinks ({}):", note.links.len());
            self.link_lines(&note.links);
        }
        if !note.backlinks.is_empty() {
            if note.backlinks.len() < note.backlinks_total {
                say!(
                    "\nbacklinks ({} of {}; `graph backlinks` lists them all):",
                    note.backlinks.len(),
                    note.backlinks_total
                );
            } else {
                say!("\nbacklinks ({}):", note.backlinks.len());
            }
            for b in &note.backlinks {
                say!("  {}:{}  {}", b.source, b.line, b.context);
            }
        }
        for d in &note.diagnostics {
            say!(
                "\n{}: {}{}",
                d.code.as_str(),
                d.message,
                d.line.map(|l| format!(" (line {l})")).unwrap_or_default()
            );
        }
        if let Some(content) = content {
            say!("\n{content}");
        }
    }

    fn link_lines(&self, links: &[OutgoingLink]) {
        for l in links {
            let fragment = match &l.fragment {
                Some(Fragment::Heading(h)) => format!("#{h}"),
                Some(Fragment::Block(b)) => format!("#^{b}"),
                None => String::new(),
            };
            let to = match (&l.resolved, l.anchor_exists) {
                (None, _) => "unresolved".to_owned(),
                (Some(p), Some(false)) => format!("{p} (missing anchor)"),
                (Some(p), _) => p.to_string(),
            };
            say!("  line {}: {}{} -> {}", l.line, l.target, fragment, to);
        }
    }

    /// The links from `note` (its vault path).
    pub fn links(&self, note: &str, links: &[OutgoingLink]) {
        if self.json {
            return self.emit_json(&dto::link_list(note.to_owned(), links));
        }
        self.link_lines(links);
    }

    /// The links to `note` (its vault path).
    pub fn backlinks(&self, note: &str, page: &Paged<Backlink>) {
        if self.json {
            return self.emit_json(&dto::backlink_list(note.to_owned(), page.clone()));
        }
        for b in &page.items {
            say!("{}:{}  {}", b.source, b.line, b.context);
        }
        say!("{} of {} backlinks", page.items.len(), page.total);
    }

    /// The notes around `note` (its vault path).
    pub fn neighbors(&self, note: &str, page: &Paged<Neighbor>) {
        if self.json {
            return self.emit_json(&dto::neighbor_list(note.to_owned(), page.clone()));
        }
        for n in &page.items {
            say!(
                "{}  {}  ({} hop{})",
                n.path,
                n.title,
                n.distance,
                if n.distance == 1 { "" } else { "s" }
            );
        }
        say!("{} of {} notes", page.items.len(), page.total);
    }

    pub fn path(&self, path: Option<&[NoteRef]>) {
        if self.json {
            return self.emit_json(&dto::path_dto(path.map(<[NoteRef]>::to_vec)));
        }
        match path {
            Some(notes) => say!(
                "{}",
                notes
                    .iter()
                    .map(|n| n.path.as_str())
                    .collect::<Vec<_>>()
                    .join(" -> ")
            ),
            None => say!("no path"),
        }
    }

    pub fn orphans(&self, page: &Paged<NoteRef>) {
        if self.json {
            return self.emit_json(&NoteRefList::from(page.clone()));
        }
        for n in &page.items {
            say!("{}", n.path);
        }
        say!("{} of {} orphans", page.items.len(), page.total);
    }

    pub fn unresolved(&self, page: &Paged<UnresolvedLink>) {
        if self.json {
            return self.emit_json(&dto::unresolved_list(page.clone()));
        }
        for u in &page.items {
            say!("{}:{}  [[{}]]", u.source, u.line, u.target);
        }
        say!("{} of {} unresolved links", page.items.len(), page.total);
    }

    pub fn tags(&self, tags: &[TagCount]) {
        if self.json {
            return self.emit_json(&dto::tag_list(tags.to_vec()));
        }
        for t in tags {
            let depth = t.name.matches('/').count();
            say!(
                "{}#{}  {} ({} direct)",
                "  ".repeat(depth),
                t.name,
                t.notes,
                t.direct
            );
        }
    }

    pub fn stats(&self, stats: &VaultStats) {
        if self.json {
            return self.emit_json(&StatsDto::from(stats.clone()));
        }
        say!("notes              {}", stats.notes);
        say!("attachments        {}", stats.attachments);
        say!(
            "links              {} ({} resolved, {} unresolved, {} embeds)",
            stats.links,
            stats.resolved_links,
            stats.unresolved_links,
            stats.embeds
        );
        say!("external links     {}", stats.external_links);
        say!("tags               {}", stats.tags);
        say!("orphans            {}", stats.orphans);
        say!(
            "tasks              {} open, {} done",
            stats.tasks_open,
            stats.tasks_done
        );
        say!("words              {}", stats.words);
        say!("bytes              {}", stats.bytes);
        say!("notes with problems {}", stats.notes_with_problems);
    }

    pub fn problems(&self, problems: &[Problem]) {
        if self.json {
            return self.emit_json(&dto::problem_list(problems.to_vec(), 0, usize::MAX));
        }
        for p in problems {
            say!(
                "{}:{}: {}: {}",
                p.path,
                p.line.unwrap_or(1),
                p.code.as_str(),
                p.message
            );
        }
        if problems.is_empty() {
            say!("no problems found");
        } else {
            say!("{} problems", problems.len());
        }
    }
}

/// True for an unresolved link to a non-Markdown file (an image that is not in the vault).
pub fn is_missing_attachment(problem: &Problem) -> bool {
    problem.code == DiagnosticCode::UnresolvedLink
        && problem
            .target
            .as_deref()
            .and_then(|t| weaver_core::VaultPath::normalize(t).ok())
            .is_some_and(|p| {
                let ext = p.extension();
                !p.is_note() && !ext.is_empty() && !ext.contains(char::is_whitespace)
            })
}

/// Marks highlighted ranges with `**` for terminals.
fn highlight(snippet: &str, ranges: &[std::ops::Range<usize>]) -> String {
    // Adjacent ranges (one per CJK character) read better as one highlight.
    let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(prev) if prev.end == r.start => prev.end = r.end,
            _ => merged.push(r.clone()),
        }
    }
    let mut out = String::with_capacity(snippet.len() + merged.len() * 4);
    let mut last = 0;
    for r in &merged {
        if r.start < last
            || r.end > snippet.len()
            || !snippet.is_char_boundary(r.start)
            || !snippet.is_char_boundary(r.end)
        {
            continue;
        }
        out.push_str(snippet.get(last..r.start).unwrap_or_default());
        out.push_str("**");
        out.push_str(snippet.get(r.clone()).unwrap_or_default());
        out.push_str("**");
        last = r.end;
    }
    out.push_str(snippet.get(last..).unwrap_or_default());
    out
}

/// The process's peak resident set size (Linux `VmHWM`), for benchmark reports.
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
