//! Deterministic synthetic Obsidian vaults for tests and benchmarks (`weaver bench gen`).
//!
//! [`generate`] builds a vault in memory from a note count and a seed; [`write_vault`] writes the
//! same files to disk. The same [`GenOptions`] give byte-identical files on every machine: the
//! generator has its own SplitMix64 source and uses integer arithmetic only (no floating point,
//! no hash-map iteration order).
//!
//! Generation runs in two passes. The plan pass fixes every note's path, headings and block ids
//! and then every link, so a `[[Note#Heading]]` or `[[Note#^blk-7]]` points at something that
//! really exists. The render pass turns one planned note at a time into Markdown with its own
//! seeded stream, so [`write_vault`] holds only the plan in memory.
//!
//! ```
//! use weaver_app::vaultgen::{generate, GenOptions};
//!
//! let (files, summary) = generate(&GenOptions { notes: 100, seed: 7 });
//! assert_eq!(summary.notes, 100);
//! assert_eq!(files.len(), summary.notes + summary.attachments);
//! ```

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenOptions {
    /// Number of Markdown notes.
    pub notes: usize,
    /// Seed of every random choice; the same seed gives the same vault.
    pub seed: u64,
}

/// What was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenSummary {
    /// Markdown notes written.
    pub notes: usize,
    /// Attachments (`attachments/image-N.png`) written.
    pub attachments: usize,
    /// Links written (wikilinks, embeds, Markdown links), not counting fake links inside code.
    pub links: usize,
    /// Links among [`GenSummary::links`] whose target does not exist.
    pub broken_links: usize,
    /// Total size of all files.
    pub bytes: u64,
}

/// Generates the vault's files in memory: paths relative to the vault root with `/` separators,
/// notes first (in plan order), then attachments.
pub fn generate(options: &GenOptions) -> (Vec<(String, Vec<u8>)>, GenSummary) {
    let plan = Plan::new(options);
    let mut files = Vec::with_capacity(plan.notes.len() + plan.attachments);
    let mut bytes = 0;
    let Ok(()) = plan.for_each_file(|path, content| {
        bytes += content.len() as u64;
        files.push((path, content));
        Ok::<(), std::convert::Infallible>(())
    });
    (files, plan.summary(bytes))
}

/// Writes the vault under `out`, creating folders. Fails if `out` exists and is not an empty
/// folder.
pub fn write_vault(out: &Path, options: &GenOptions) -> Result<GenSummary, io::Error> {
    if out.exists() && fs_err::read_dir(out)?.next().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::DirectoryNotEmpty,
            format!("output folder `{}` is not empty", out.display()),
        ));
    }
    fs_err::create_dir_all(out)?;
    let plan = Plan::new(options);
    let mut created: HashSet<PathBuf> = HashSet::new();
    let mut bytes = 0;
    plan.for_each_file(|relative, content| {
        let path = out.join(&relative);
        if let Some(parent) = path.parent()
            && !created.contains(parent)
        {
            fs_err::create_dir_all(parent)?;
            created.insert(parent.to_path_buf());
        }
        fs_err::write(&path, &content)?;
        bytes += content.len() as u64;
        Ok::<(), io::Error>(())
    })?;
    Ok(plan.summary(bytes))
}

// Shares are per mille of the population named in the comment.
/// Notes that are daily notes.
const DAILY: u32 = 100;
/// Non-daily notes that reuse an earlier note's basename in another folder.
const DUPLICATE: u32 = 11;
/// Fresh names that start from a non-ASCII word.
const NON_ASCII: u32 = 55;
/// Notes placed at the vault root.
const ROOT: u32 = 15;
/// Notes with frontmatter.
const FRONTMATTER: u32 = 850;
/// Frontmatter blocks with a line that is not valid YAML.
const MALFORMED: u32 = 12;
/// Note links that point at a note that does not exist.
const BROKEN: u32 = 20;
/// Link targets drawn from the skewed (popular-first) distribution rather than uniformly.
const SKEWED: u32 = 600;
const NOTES_PER_ATTACHMENT: usize = 50;
const VOCABULARY_SIZE: usize = 3000;
/// The pseudo-word vocabulary is the same for every seed, so benchmark queries stay meaningful.
const VOCABULARY_SEED: u64 = 0x5745_4156_4552;
/// 2021-01-01 and 2020-01-01..=2025-12-31 as days since 1970-01-01.
const FIRST_DAILY_DAY: u32 = 18_628;
const CREATED_DAYS: (usize, usize) = (18_262, 20_453);

use lists::*;

/// The names, words and snippets the generator draws from (kept compact, hence unformatted).
#[rustfmt::skip]
mod lists {
    pub(super) const FOLDERS: &[(&str, u32)] = &[
        ("Projects/Alpha", 6), ("Projects/Alpha/Meetings", 4), ("Projects/Beta", 4),
        ("Projects/Gamma Launch", 3), ("Areas/Health", 4), ("Areas/Health/Workouts", 2),
        ("Areas/Finance", 3), ("Areas/Home Improvement", 2), ("Resources/Books", 5),
        ("Resources/Articles", 5), ("Resources/Programming/Rust", 4),
        ("Resources/Programming/Python", 3), ("Resources/Recipes", 2), ("Ressources/Études", 1),
        ("Zettelkasten", 10), ("People", 3), ("Inbox", 3), ("Archive/2022", 2),
        ("Archive/Old Projects", 2),
    ];
    pub(super) const ONSETS: &[&str] = &[
        "b", "br", "c", "ch", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "kl", "l", "m", "n",
        "p", "pl", "qu", "r", "s", "sh", "st", "t", "th", "tr", "v", "w", "z",
    ];
    pub(super) const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou", "y"];
    pub(super) const CODAS: &[&str] = &["", "", "n", "r", "l", "s", "th", "x", "m", "nd", "rk", "st"];
    pub(super) const FUNCTION_WORDS: &[&str] = &[
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "with", "as", "on", "was",
        "this", "by", "be", "are", "from", "at", "or", "an", "but", "not", "which", "have", "all",
        "can", "more", "one", "we", "about", "into", "when", "then", "so", "some", "what", "there",
        "also", "than", "each", "over", "new", "just", "only", "after", "before", "because",
        "while", "our",
    ];
    pub(super) const CONTENT_WORDS: &[&str] = &[
        "project", "meeting", "garden", "budget", "travel", "research", "design", "review",
        "habit", "sleep", "coffee", "book", "chapter", "idea", "outline", "draft", "summary",
        "question", "answer", "system", "network", "database", "server", "kernel", "recipe",
        "river", "mountain", "music", "piano", "training", "running", "health", "doctor",
        "finance", "invoice", "tax", "family", "friend", "weekend", "morning", "evening", "plan",
        "goal", "metric", "launch", "feedback", "customer", "product", "roadmap", "sprint",
        "release", "bug", "feature", "test", "memory", "graph", "link", "note", "vault",
        "archive", "library", "paper", "theory", "experiment", "data", "model", "pattern",
        "language", "history", "philosophy", "weather", "kitchen", "bicycle", "journal",
        "deadline", "contract", "interview", "lecture", "harbor",
    ];
    pub(super) const ACCENTED_WORDS: &[&str] = &[
        "café", "naïve", "résumé", "façade", "jalapeño", "über", "crème", "brûlée", "déjà",
        "piñata", "smörgåsbord", "fiancée", "Zürich", "São", "señor",
    ];
    pub(super) const CJK_SENTENCES: &[&str] = &[
        "東京で新しいプロジェクトの会議がありました。", "今日は天気が良くて、公園を散歩しました。",
        "知識管理のためのノートを毎日書いています。", "这是一个关于知识管理的笔记。",
        "学习新的编程语言需要时间和耐心。", "明天我们讨论产品路线图。",
    ];
    pub(super) const NON_ASCII_NAMES: &[&str] = &[
        "Café au lait", "Über Notizen", "東京メモ", "Заметки", "Crème brûlée", "Zürich trip",
        "Smörgåsbord", "São Paulo", "Δέλτα", "北京笔记", "Идеи", "Résumé", "🚀 Launch",
        "🌱 Garden", "📚 Reading", "Ñandú", "naïve Bayes",
    ];
    pub(super) const TAGS: &[&str] = &[
        "idea", "reading", "todo", "meeting", "inbox", "evergreen", "project/alpha",
        "project/beta", "area/health", "area/finance", "area/home", "type/reference",
        "type/meeting", "status/active", "status/someday", "topic/rust", "topic/python",
        "topic/cooking", "review/weekly", "review/monthly", "people/colleague", "lang/日本語",
        "café",
    ];
    pub(super) const STATUSES: &[&str] = &["draft", "active", "done", "archived", "in progress", "someday"];
    pub(super) const DAILY_HEADINGS: &[&str] = &["Morning", "Log", "Tasks", "Meetings", "Notes", "Reflection"];
    pub(super) const CALLOUT_KINDS: &[&str] = &["note", "tip", "warning", "info", "todo", "quote"];
    pub(super) const CODE_LANGUAGES: &[&str] = &["rust", "python", "text", "bash"];
    /// Each is invalid YAML: an unclosed flow sequence, a nested mapping on one line, an
    /// unterminated quoted string.
    pub(super) const MALFORMED_LINES: &[&str] = &[
        "tags: [alpha, beta\n", "key: value: other\n", "title: \"unterminated\n",
    ];
}

/// A SplitMix64 generator: tiny, fast and the same on every platform.
struct Rng(u64);

impl Rng {
    /// An independent stream for one item (a note) of one seed.
    fn stream(seed: u64, item: u64) -> Self {
        Self(mix(seed ^ mix(item.wrapping_add(1))))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < per_mille as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }

    /// A Zipf-like rank in `0..n`: every power-of-two bucket (`0`, `1..3`, `3..7`, ...) is
    /// equally likely, so rank `k` has probability about `1 / (k * log2 n)`.
    fn skewed(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let buckets = (usize::BITS - n.leading_zeros()) as usize;
        let bucket = self.below(buckets);
        let lo = (1usize << bucket) - 1;
        let hi = ((1usize << (bucket + 1)) - 1).min(n);
        lo + self.below(hi - lo)
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How a planned link is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Wiki,
    Alias,
    /// To the target's heading with this index.
    Heading(usize),
    /// To the target's block with this index.
    Block(usize),
    /// `[[folder/Name]]` even when the basename is unique.
    Qualified,
    Markdown,
    Embed,
}

#[derive(Debug, Clone, Copy)]
enum PlannedLink {
    Note { target: usize, form: Form },
    Missing { id: usize, form: Form },
    Image(usize),
}

impl PlannedLink {
    fn is_embed(&self) -> bool {
        match self {
            Self::Note { form, .. } | Self::Missing { form, .. } => *form == Form::Embed,
            Self::Image(_) => true,
        }
    }
}

struct NotePlan {
    folder: String,
    name: String,
    /// Another note has the same basename, so links must be path-qualified.
    shared_name: bool,
    daily: Option<u32>,
    headings: Vec<(usize, String)>,
    blocks: Vec<u32>,
    /// Empty for orphans; 3 to 10 links otherwise.
    links: Vec<PlannedLink>,
}

impl NotePlan {
    fn path(&self) -> String {
        if self.folder.is_empty() {
            format!("{}.md", self.name)
        } else {
            format!("{}/{}.md", self.folder, self.name)
        }
    }
}

struct Plan {
    seed: u64,
    vocab: Vec<String>,
    notes: Vec<NotePlan>,
    attachments: usize,
    links: usize,
    broken_links: usize,
}

impl Plan {
    fn new(options: &GenOptions) -> Self {
        let vocab = vocabulary();
        let n = options.notes;
        let mut rng = Rng::stream(options.seed, u64::MAX);
        let mut notes: Vec<NotePlan> = Vec::with_capacity(n);
        let mut taken: HashSet<String> = HashSet::with_capacity(n);
        let mut duplicable: Vec<usize> = Vec::new();
        let mut day = FIRST_DAILY_DAY;
        let mut next_block = 1;
        for index in 0..n {
            let mut note = NotePlan {
                folder: String::new(),
                name: String::new(),
                shared_name: false,
                daily: None,
                headings: Vec::new(),
                blocks: Vec::new(),
                links: Vec::new(),
            };
            if rng.chance(DAILY) {
                day += rng.between(1, 2) as u32;
                let (y, m, _) = civil_from_days(day);
                note.folder = format!("Daily/{y:04}/{m:02}");
                note.name = format_date(day);
                note.daily = Some(day);
            } else if rng.chance(DUPLICATE) && !duplicable.is_empty() {
                let original = duplicable.swap_remove(rng.below(duplicable.len()));
                if let Some(first) = notes.get_mut(original) {
                    first.shared_name = true;
                    note.shared_name = true;
                    note.name = first.name.clone();
                    note.folder = other_folder(&mut rng, &first.folder).to_owned();
                }
            } else {
                let root = rng.chance(ROOT);
                note.folder = if root {
                    String::new()
                } else {
                    weighted_folder(&mut rng).to_owned()
                };
                note.name = unique_name(&vocab, &mut rng, &mut taken, index);
                if !root {
                    duplicable.push(index);
                }
            }
            plan_headings(&vocab, &mut rng, &mut note);
            for _ in 0..[0, 0, 1, 1, 2, 3].get(rng.below(6)).copied().unwrap_or(0) {
                note.blocks.push(next_block);
                next_block += 1;
            }
            notes.push(note);
        }

        // A shuffled order decides both the orphans (first 1%) and link popularity (the rest,
        // most popular first), so popular notes are spread over folders.
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let (orphans, popular) = order.split_at(n / 100);
        let orphans: HashSet<usize> = orphans.iter().copied().collect();
        let attachments = n.div_ceil(NOTES_PER_ATTACHMENT);
        let shapes: Vec<(usize, usize)> = notes
            .iter()
            .map(|note| (note.headings.len(), note.blocks.len()))
            .collect();
        let (mut links, mut broken_links) = (0, 0);
        for (index, note) in notes.iter_mut().enumerate() {
            if orphans.contains(&index) {
                continue;
            }
            for _ in 0..rng.between(3, 10) {
                let roll = rng.below(100);
                let link = if roll < 6 && attachments > 0 {
                    PlannedLink::Image(rng.below(attachments))
                } else if let Some(target) =
                    pick_target(&mut rng, popular, index).filter(|_| !rng.chance(BROKEN))
                {
                    let (headings, blocks) = shapes.get(target).copied().unwrap_or((0, 0));
                    let form = match roll {
                        0..40 => Form::Wiki,
                        40..55 => Form::Alias,
                        68..76 if blocks > 0 => Form::Block(rng.below(blocks)),
                        55..76 => Form::Heading(rng.below(headings)),
                        76..84 => Form::Qualified,
                        84..94 => Form::Markdown,
                        _ => Form::Embed,
                    };
                    PlannedLink::Note { target, form }
                } else {
                    broken_links += 1;
                    let form = [Form::Wiki, Form::Alias, Form::Markdown, Form::Embed];
                    let form = form.get(rng.below(4)).copied().unwrap_or(Form::Wiki);
                    PlannedLink::Missing {
                        id: broken_links,
                        form,
                    }
                };
                note.links.push(link);
                links += 1;
            }
        }
        Self {
            seed: options.seed,
            vocab,
            notes,
            attachments,
            links,
            broken_links,
        }
    }

    fn summary(&self, bytes: u64) -> GenSummary {
        GenSummary {
            notes: self.notes.len(),
            attachments: self.attachments,
            links: self.links,
            broken_links: self.broken_links,
            bytes,
        }
    }

    fn for_each_file<E>(
        &self,
        mut f: impl FnMut(String, Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        for (index, note) in self.notes.iter().enumerate() {
            f(note.path(), self.render_note(index, note).into_bytes())?;
        }
        for index in 0..self.attachments {
            let [r, g, b, ..] = mix(self.seed ^ index as u64).to_le_bytes();
            let path = format!("attachments/image-{}.png", index + 1);
            f(path, tiny_png([r, g, b]))?;
        }
        Ok(())
    }

    fn word<'a>(&'a self, rng: &mut Rng) -> &'a str {
        vocab_word(&self.vocab, rng)
    }

    /// A body word: common English, topical English, a rare accented word, or a pseudo-word
    /// whose frequency falls with its rank (some are common, most are selective).
    fn prose_word<'a>(&'a self, rng: &mut Rng) -> &'a str {
        match rng.below(1000) {
            0..330 => rng.pick(FUNCTION_WORDS),
            330..450 => rng.pick(CONTENT_WORDS),
            450..455 => rng.pick(ACCENTED_WORDS),
            455..700 => self.word(rng),
            _ => self
                .vocab
                .get(rng.skewed(self.vocab.len()))
                .map_or("", String::as_str),
        }
    }

    fn render_note(&self, index: usize, note: &NotePlan) -> String {
        let mut rng = Rng::stream(self.seed, index as u64);
        let mut out = String::with_capacity(4096);
        if rng.chance(FRONTMATTER) {
            self.frontmatter(&mut out, note, &mut rng);
        }
        if rng.chance(700) {
            out.push_str("# ");
            out.push_str(&note.name);
            out.push_str("\n\n");
        }
        let sections = note.headings.len().max(1);
        let budget = 1100 + rng.below(800) + rng.below(800);
        let paragraphs = (budget / 380).max(sections).max(note.blocks.len());
        let mut placed: Vec<(usize, usize)> = (0..note.links.len())
            .map(|k| (rng.below(paragraphs), k))
            .collect();
        placed.sort_unstable();
        let mut at = |per_mille: u32, n: usize| rng.chance(per_mille).then(|| rng.below(n));
        let tasks_at = at(300, sections);
        let callout_at = at(120, sections);
        let code_at = at(150, sections);
        let cjk_at = at(40, sections);
        let inline_code_at = at(120, paragraphs);
        let mut paragraph = 0;
        for (section, (level, heading)) in note.headings.iter().enumerate() {
            out.push_str(&"#".repeat(*level));
            out.push(' ');
            out.push_str(heading);
            out.push_str("\n\n");
            let count = paragraphs / sections + usize::from(section < paragraphs % sections);
            for _ in 0..count {
                let block = (0..note.blocks.len())
                    .find(|k| k * paragraphs / note.blocks.len() == paragraph)
                    .and_then(|k| note.blocks.get(k).copied());
                let here: Vec<&PlannedLink> = placed
                    .iter()
                    .filter(|(p, _)| *p == paragraph)
                    .filter_map(|(_, k)| note.links.get(*k))
                    .collect();
                let inline_code = inline_code_at == Some(paragraph);
                self.paragraph(&mut out, &mut rng, note, &here, block, inline_code);
                paragraph += 1;
            }
            if tasks_at == Some(section) {
                for _ in 0..rng.between(2, 5) {
                    out.push_str(if rng.chance(400) { "- [x] " } else { "- [ ] " });
                    let count = rng.between(3, 8);
                    self.words(&mut out, &mut rng, count);
                    out.push('\n');
                }
                out.push('\n');
            }
            if callout_at == Some(section) {
                out.push_str("> [!");
                out.push_str(rng.pick(CALLOUT_KINDS));
                out.push_str("] ");
                self.words(&mut out, &mut rng, 2);
                out.push_str("\n> ");
                self.words(&mut out, &mut rng, 14);
                out.push_str(".\n\n");
            }
            if code_at == Some(section) {
                let comment = if rng.chance(500) { "//" } else { "#" };
                out.push_str("```");
                out.push_str(rng.pick(CODE_LANGUAGES));
                out.push('\n');
                out.push_str(comment);
                out.push_str(" see [[not a link]] and #notatag, not real syntax\n");
                out.push_str(&format!(
                    "let {} = \"{}\";\n```\n\n",
                    self.word(&mut rng),
                    index
                ));
            }
            if cjk_at == Some(section) {
                for _ in 0..rng.between(2, 4) {
                    out.push_str(rng.pick(CJK_SENTENCES));
                }
                out.push_str("\n\n");
            }
        }
        out
    }

    fn frontmatter(&self, out: &mut String, note: &NotePlan, rng: &mut Rng) {
        out.push_str("---\n");
        if let Some(day) = note.daily {
            let (year, _, _) = civil_from_days(day);
            out.push_str(&format!(
                "created: {}\ntags:\n  - daily\n",
                format_date(day)
            ));
            out.push_str(&format!("  - journal/{year}\n"));
            if rng.chance(400) {
                out.push_str(&format!("mood: {}\n", rng.between(1, 5)));
            }
        } else {
            if rng.chance(200) {
                out.push_str("title: ");
                if rng.chance(300) {
                    out.push_str(&format!("\"{}: {}\"\n", note.name, self.word(rng)));
                } else {
                    let count = rng.between(2, 4);
                    self.words(out, rng, count);
                    out.push('\n');
                }
            }
            if rng.chance(350) {
                let aliases: Vec<String> = (0..rng.between(1, 3))
                    .map(|_| capitalised(self.word(rng)))
                    .collect();
                match rng.below(3) {
                    0 => out.push_str(&format!("aliases: {}\n", aliases.join(" "))),
                    1 => out.push_str(&format!("aliases: [{}]\n", aliases.join(", "))),
                    _ => out.push_str(&format!("aliases:\n  - {}\n", aliases.join("\n  - "))),
                }
            }
            if rng.chance(700) {
                let tags: Vec<&str> = (0..rng.between(1, 4)).map(|_| rng.pick(TAGS)).collect();
                match rng.below(4) {
                    0 => out.push_str(&format!("tags: {}\n", tags.join(" "))),
                    1 => out.push_str(&format!("tags: [{}]\n", tags.join(", "))),
                    2 => out.push_str(&format!("tags: \"#{}\"\n", tags.join(" #"))),
                    _ => out.push_str(&format!("tags:\n  - {}\n", tags.join("\n  - "))),
                }
            }
            if rng.chance(900) {
                let day = rng.between(CREATED_DAYS.0, CREATED_DAYS.1) as u32;
                out.push_str(&format!("created: {}\n", format_date(day)));
            }
            if rng.chance(500) {
                out.push_str(&format!("status: {}\n", rng.pick(STATUSES)));
            }
            if rng.chance(300) {
                out.push_str(&format!("priority: {}\n", rng.between(1, 5)));
            }
            if rng.chance(150) {
                out.push_str(&format!(
                    "rating: {}.{}\n",
                    rng.between(1, 4),
                    rng.below(10)
                ));
            }
            if rng.chance(50) {
                out.push_str(&format!("meta:\n  source: {}\n", self.word(rng)));
                out.push_str(&format!("  reviewed: {}\n", rng.chance(500)));
                out.push_str(&format!("  score: {}\n", rng.below(100)));
            }
        }
        if rng.chance(MALFORMED) {
            out.push_str(rng.pick(MALFORMED_LINES));
        }
        out.push_str("---\n\n");
    }

    /// One paragraph of 40 to 75 words in sentences, with its inline links at random word
    /// positions, perhaps an inline tag or inline code, its block id, then its embeds.
    fn paragraph(
        &self,
        out: &mut String,
        rng: &mut Rng,
        note: &NotePlan,
        links: &[&PlannedLink],
        block: Option<u32>,
        inline_code: bool,
    ) {
        let words = rng.between(40, 75);
        let mut inline: Vec<(usize, &PlannedLink)> = links
            .iter()
            .filter(|link| !link.is_embed())
            .map(|link| (rng.below(words), *link))
            .collect();
        inline.sort_by_key(|(position, _)| *position);
        let mut inline = inline.into_iter().peekable();
        let tag_at = rng.chance(300).then(|| rng.below(words));
        let code_at = inline_code.then(|| rng.below(words));
        let mut sentence_left = 0;
        for w in 0..words {
            while let Some((_, link)) = inline.next_if(|(position, _)| *position == w) {
                self.link(out, rng, note, link);
                out.push(' ');
            }
            if tag_at == Some(w) {
                out.push('#');
                out.push_str(rng.pick(TAGS));
                out.push(' ');
            }
            if code_at == Some(w) {
                out.push_str("`[[fake]]` ");
            }
            let word = self.prose_word(rng);
            if sentence_left == 0 {
                sentence_left = rng.between(6, 14);
                out.push_str(&capitalised(word));
            } else {
                out.push_str(word);
            }
            sentence_left -= 1;
            out.push_str(if sentence_left == 0 || w + 1 == words {
                ". "
            } else {
                " "
            });
        }
        out.pop();
        if let Some(id) = block {
            out.push_str(&format!(" ^blk-{id}"));
        }
        out.push_str("\n\n");
        for link in links.iter().filter(|link| link.is_embed()) {
            self.link(out, rng, note, link);
            out.push_str("\n\n");
        }
    }

    /// `count` space-separated pseudo or topical words.
    fn words(&self, out: &mut String, rng: &mut Rng, count: usize) {
        for i in 0..count {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(if rng.chance(300) {
                rng.pick(CONTENT_WORDS)
            } else {
                self.word(rng)
            });
        }
    }

    fn link(&self, out: &mut String, rng: &mut Rng, source: &NotePlan, link: &PlannedLink) {
        let (target, form) = match *link {
            PlannedLink::Image(index) => {
                out.push_str(&format!("![[image-{}.png]]", index + 1));
                return;
            }
            PlannedLink::Missing { id, form } => {
                let name = format!("Unwritten {} {id}", self.word(rng));
                match form {
                    Form::Markdown => {
                        out.push_str("[missing](");
                        push_encoded(out, &name);
                        out.push_str(".md)");
                    }
                    Form::Embed => out.push_str(&format!("![[{name}]]")),
                    Form::Alias => out.push_str(&format!("[[{name}|{}]]", self.word(rng))),
                    _ => out.push_str(&format!("[[{name}]]")),
                }
                return;
            }
            PlannedLink::Note { target, form } => match self.notes.get(target) {
                Some(note) => (note, form),
                None => return,
            },
        };
        if form == Form::Markdown {
            out.push('[');
            if rng.chance(500) {
                out.push_str(&target.name);
            } else {
                let count = rng.between(1, 3);
                self.words(out, rng, count);
            }
            out.push_str("](");
            if rng.chance(700) && !source.folder.is_empty() {
                let from: Vec<&str> = source.folder.split('/').collect();
                let to: Vec<&str> = target.folder.split('/').filter(|s| !s.is_empty()).collect();
                let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
                out.push_str(&"../".repeat(from.len() - common));
                for segment in to.iter().skip(common) {
                    push_encoded(out, segment);
                    out.push('/');
                }
            } else if !target.folder.is_empty() {
                push_encoded(out, &target.folder);
                out.push('/');
            }
            push_encoded(out, &target.name);
            out.push_str(".md)");
            return;
        }
        out.push_str(if form == Form::Embed { "![[" } else { "[[" });
        if (target.shared_name || form == Form::Qualified) && !target.folder.is_empty() {
            out.push_str(&target.folder);
            out.push('/');
        }
        out.push_str(&target.name);
        match form {
            Form::Heading(h) => {
                if let Some((_, heading)) = target.headings.get(h) {
                    out.push('#');
                    out.push_str(heading);
                }
            }
            Form::Block(b) => {
                if let Some(id) = target.blocks.get(b) {
                    out.push_str(&format!("#^blk-{id}"));
                }
            }
            Form::Alias => {
                out.push('|');
                let count = rng.between(1, 3);
                self.words(out, rng, count);
            }
            _ => {}
        }
        out.push_str("]]");
    }
}

/// A link target other than `source`: popular notes (early in `popular`) are picked far more
/// often than the rest. `None` when there is no other note to link to.
fn pick_target(rng: &mut Rng, popular: &[usize], source: usize) -> Option<usize> {
    let rank = if rng.chance(SKEWED) {
        rng.skewed(popular.len())
    } else {
        rng.below(popular.len())
    };
    let target = *popular.get(rank)?;
    if target != source {
        return Some(target);
    }
    popular
        .get((rank + 1) % popular.len())
        .copied()
        .filter(|&t| t != source)
}

fn vocabulary() -> Vec<String> {
    let mut rng = Rng::stream(VOCABULARY_SEED, 0);
    let mut seen = HashSet::with_capacity(VOCABULARY_SIZE);
    let mut words = Vec::with_capacity(VOCABULARY_SIZE);
    while words.len() < VOCABULARY_SIZE {
        let mut word = String::new();
        for _ in 0..rng.between(2, 3) {
            word.push_str(rng.pick(ONSETS));
            word.push_str(rng.pick(VOWELS));
        }
        word.push_str(rng.pick(CODAS));
        if seen.insert(word.clone()) {
            words.push(word);
        }
    }
    words
}

/// A uniformly drawn pseudo-word.
fn vocab_word<'a>(vocab: &'a [String], rng: &mut Rng) -> &'a str {
    vocab.get(rng.below(vocab.len())).map_or("", String::as_str)
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Percent-encodes spaces, as Obsidian does in Markdown link destinations.
fn push_encoded(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            ' ' => out.push_str("%20"),
            c => out.push(c),
        }
    }
}

fn weighted_folder(rng: &mut Rng) -> &'static str {
    let total: u32 = FOLDERS.iter().map(|(_, weight)| weight).sum();
    let mut roll = rng.below(total as usize) as u32;
    for (folder, weight) in FOLDERS {
        if roll < *weight {
            return folder;
        }
        roll -= weight;
    }
    "Inbox"
}

/// A topic folder other than `not`, for a note that shares its basename with one in `not`.
fn other_folder(rng: &mut Rng, not: &str) -> &'static str {
    let folder = weighted_folder(rng);
    if folder != not {
        return folder;
    }
    let next = FOLDERS
        .iter()
        .position(|(f, _)| *f == folder)
        .map_or(0, |i| i + 1);
    FOLDERS
        .get(next % FOLDERS.len())
        .map_or("Inbox", |(f, _)| f)
}

/// A basename no other note has (case-insensitively): one to three words, sometimes starting
/// with a non-ASCII phrase, grown by a word until unique.
fn unique_name(
    vocab: &[String],
    rng: &mut Rng,
    taken: &mut HashSet<String>,
    index: usize,
) -> String {
    let mut name = if rng.chance(NON_ASCII) {
        rng.pick(NON_ASCII_NAMES).to_owned()
    } else {
        let mut name = capitalised(vocab_word(vocab, rng));
        for _ in 0..[0, 1, 1, 2].get(rng.below(4)).copied().unwrap_or(0) {
            name.push(' ');
            if rng.chance(400) {
                name.push_str(rng.pick(CONTENT_WORDS));
            } else {
                name.push_str(vocab_word(vocab, rng));
            }
        }
        name
    };
    for _ in 0..6 {
        if taken.insert(name.to_lowercase()) {
            return name;
        }
        name.push(' ');
        name.push_str(vocab_word(vocab, rng));
    }
    name.push_str(&format!(" {index}"));
    taken.insert(name.to_lowercase());
    name
}

/// Two to five H2/H3 section headings, unique within the note; daily notes use the usual
/// journal headings.
fn plan_headings(vocab: &[String], rng: &mut Rng, note: &mut NotePlan) {
    if note.daily.is_some() {
        let start = rng.below(2);
        let count = rng.between(2, DAILY_HEADINGS.len() - start);
        for heading in DAILY_HEADINGS.iter().skip(start).take(count) {
            note.headings.push((2, (*heading).to_owned()));
        }
        return;
    }
    for section in 0..rng.between(2, 5) {
        let level = if section > 0 && rng.chance(300) { 3 } else { 2 };
        let mut text = capitalised(vocab_word(vocab, rng));
        for _ in 0..rng.below(3) {
            text.push(' ');
            text.push_str(if rng.chance(400) {
                rng.pick(CONTENT_WORDS)
            } else {
                vocab_word(vocab, rng)
            });
        }
        if note.headings.iter().any(|(_, existing)| *existing == text) {
            text.push_str(&format!(" {section}"));
        }
        note.headings.push((level, text));
    }
}

/// Pairs with Hinnant's `civil_from_days`: `(year, month, day)` of a day count since
/// 1970-01-01, for the non-negative counts used here.
fn civil_from_days(days: u32) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + u32::from(month <= 2), month, day)
}

fn format_date(days: u32) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A valid 1x1 RGB PNG of one colour: signature, IHDR, a stored (uncompressed) zlib IDAT, IEND.
fn tiny_png([r, g, b]: [u8; 3]) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::with_capacity(13);
    header.extend(1u32.to_be_bytes());
    header.extend(1u32.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]);
    png_chunk(&mut png, b"IHDR", &header);
    let scanline = [0, r, g, b];
    let mut data = vec![0x78, 0x01, 0x01, 0x04, 0x00, 0xFB, 0xFF];
    data.extend(scanline);
    data.extend(adler32(&scanline).to_be_bytes());
    png_chunk(&mut png, b"IDAT", &data);
    png_chunk(&mut png, b"IEND", &[]);
    png
}

fn png_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend((data.len() as u32).to_be_bytes());
    let mut crc = !0u32;
    for &byte in kind.iter().chain(data) {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    png.extend(kind);
    png.extend(data);
    png.extend((!crc).to_be_bytes());
}

fn adler32(bytes: &[u8]) -> u32 {
    let (a, b) = bytes.iter().fold((1u32, 0u32), |(a, b), &byte| {
        let a = (a + u32::from(byte)) % 65_521;
        (a, (b + a) % 65_521)
    });
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::*;

    fn vault(notes: usize, seed: u64) -> (BTreeMap<String, Vec<u8>>, GenSummary) {
        let (files, summary) = generate(&GenOptions { notes, seed });
        let count = files.len();
        let map: BTreeMap<String, Vec<u8>> = files.into_iter().collect();
        assert_eq!(map.len(), count, "paths are unique");
        (map, summary)
    }

    fn text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    /// The body lines outside frontmatter and fenced code, with inline code spans removed.
    fn prose_lines(note: &str) -> Vec<String> {
        let mut lines = note.lines();
        let mut out = Vec::new();
        if note.starts_with("---\n") {
            lines.next();
            for line in lines.by_ref() {
                if line == "---" {
                    break;
                }
            }
        }
        let mut fenced = false;
        for line in lines {
            if line.starts_with("```") {
                fenced = !fenced;
            } else if !fenced {
                out.push(line.split('`').step_by(2).collect());
            }
        }
        out
    }

    /// Every link's raw target (before `|`, fragment included) and whether it is a Markdown link.
    fn links(note: &str) -> Vec<(String, bool)> {
        let mut found = Vec::new();
        for line in prose_lines(note) {
            let mut rest = line.as_str();
            while let Some(start) = rest.find("[[") {
                let end = rest[start..].find("]]").unwrap() + start;
                let inner = &rest[start + 2..end];
                found.push((inner.split('|').next().unwrap().to_owned(), false));
                rest = &rest[end + 2..];
            }
            let mut rest = line.as_str();
            while let Some(start) = rest.find("](") {
                let end = rest[start..].find(')').unwrap() + start;
                found.push((rest[start + 2..end].replace("%20", " "), true));
                rest = &rest[end + 1..];
            }
        }
        found
    }

    /// Resolves a link the way Obsidian does, returning the target path or `None` if it is
    /// broken. Panics on ambiguous basenames and on fragments that name nothing.
    fn resolve(
        files: &BTreeMap<String, Vec<u8>>,
        by_stem: &HashMap<String, Vec<String>>,
        source: &str,
        (raw, markdown): &(String, bool),
    ) -> Option<String> {
        let (target, fragment) = raw.split_once('#').unwrap_or((raw, ""));
        let path = if *markdown {
            let folder = source.rsplit_once('/').map_or("", |(f, _)| f);
            let mut parts: Vec<&str> = folder.split('/').filter(|s| !s.is_empty()).collect();
            for segment in target.split('/') {
                if segment == ".." {
                    parts.pop();
                } else {
                    parts.push(segment);
                }
            }
            let relative = parts.join("/");
            [relative, target.to_owned()]
                .into_iter()
                .find(|p| files.contains_key(p))?
        } else if target.ends_with(".png") {
            let path = format!("attachments/{target}");
            files.contains_key(&path).then_some(path)?
        } else if target.contains('/') {
            let path = format!("{target}.md");
            files.contains_key(&path).then_some(path)?
        } else {
            let matches = by_stem.get(target)?;
            assert_eq!(matches.len(), 1, "`{raw}` in `{source}` is ambiguous");
            matches[0].clone()
        };
        if let Some(block) = fragment.strip_prefix('^') {
            let body = text(&files[&path]);
            let suffix = format!(" ^{block}");
            assert!(
                body.lines().any(|l| l.ends_with(&suffix)),
                "`{raw}` in `{source}`"
            );
        } else if !fragment.is_empty() {
            let body = text(&files[&path]);
            let found = body
                .lines()
                .any(|l| l.trim_start_matches('#') == format!(" {fragment}"));
            assert!(found, "heading of `{raw}` in `{source}`");
        }
        Some(path)
    }

    fn notes(files: &BTreeMap<String, Vec<u8>>) -> impl Iterator<Item = (&String, &str)> {
        files
            .iter()
            .filter(|(p, _)| p.ends_with(".md"))
            .map(|(p, b)| (p, text(b)))
    }

    #[test]
    fn same_seed_same_vault_other_seed_other_vault() {
        let options = GenOptions {
            notes: 300,
            seed: 1,
        };
        let (first, first_summary) = generate(&options);
        let (second, second_summary) = generate(&options);
        assert!(first == second);
        assert_eq!(first_summary, second_summary);
        let (other, _) = generate(&GenOptions {
            notes: 300,
            seed: 2,
        });
        assert!(first != other);
    }

    /// Pins the exact output, so a change to the generator (which invalidates benchmark
    /// baselines) is a deliberate one. Update the hash when you mean to change the vaults.
    #[test]
    fn output_is_pinned() {
        let (files, summary) = generate(&GenOptions {
            notes: 150,
            seed: 42,
        });
        let mut hasher = blake3::Hasher::new();
        for (path, bytes) in &files {
            hasher
                .update(path.as_bytes())
                .update(&[0])
                .update(bytes)
                .update(&[0]);
        }
        assert_eq!(summary.notes, 150);
        assert_eq!(
            hasher.finalize().to_hex().as_str(),
            "91297959c2a30527b4dac5b9387330f9e90879e5c0f635be7bfcb52434ec62e7"
        );
    }

    #[test]
    fn links_resolve_except_the_counted_broken_ones() {
        let (files, summary) = vault(2000, 3);
        assert_eq!(summary.notes, 2000);
        assert_eq!(summary.attachments, 40);
        assert_eq!(notes(&files).count(), 2000);
        assert_eq!(
            files
                .keys()
                .filter(|p| p.starts_with("attachments/"))
                .count(),
            40
        );
        assert_eq!(
            summary.bytes,
            files.values().map(|b| b.len() as u64).sum::<u64>()
        );

        let mut by_stem: HashMap<String, Vec<String>> = HashMap::new();
        for path in files.keys().filter(|p| p.ends_with(".md")) {
            let stem = path.rsplit('/').next().unwrap().trim_end_matches(".md");
            by_stem
                .entry(stem.to_owned())
                .or_default()
                .push(path.clone());
        }
        let (mut total, mut broken, mut unlinked) = (0, 0, Vec::new());
        let mut backlinks: HashMap<String, usize> = HashMap::new();
        for (path, note) in notes(&files) {
            let found = links(note);
            assert!(
                found.is_empty() || (3..=10).contains(&found.len()),
                "{path}: {found:?}"
            );
            if found.is_empty() {
                unlinked.push(path.clone());
            }
            total += found.len();
            for link in &found {
                match resolve(&files, &by_stem, path, link) {
                    Some(target) => *backlinks.entry(target).or_default() += 1,
                    None => broken += 1,
                }
            }
        }
        assert_eq!(total, summary.links);
        assert_eq!(broken, summary.broken_links);
        let ratio = broken * 1000 / total;
        assert!((10..=30).contains(&ratio), "broken per mille: {ratio}");
        // Orphans: 1% of notes neither link nor are linked to.
        assert_eq!(unlinked.len(), 20);
        assert!(unlinked.iter().all(|path| !backlinks.contains_key(path)));
        // Popularity is skewed: the most linked note has far more than the mean of ~6.
        assert!(backlinks.values().max().unwrap() > &200);
    }

    #[test]
    fn names_cover_dailies_duplicates_and_unicode() {
        let (files, _) = vault(2000, 5);
        let paths: Vec<&String> = files.keys().filter(|p| p.ends_with(".md")).collect();
        let daily = paths.iter().filter(|p| p.starts_with("Daily/")).count();
        assert!((140..=260).contains(&daily), "daily notes: {daily}");
        for path in paths.iter().filter(|p| p.starts_with("Daily/")) {
            let name = path.rsplit('/').next().unwrap();
            assert_eq!(
                path.as_str(),
                format!("Daily/{}/{}/{name}", &name[..4], &name[5..7])
            );
        }
        let mut stems: HashMap<String, usize> = HashMap::new();
        for path in &paths {
            *stems
                .entry(path.rsplit('/').next().unwrap().to_lowercase())
                .or_default() += 1;
        }
        let shared = stems.values().filter(|&&n| n > 1).count();
        assert!((8..=40).contains(&shared), "shared basenames: {shared}");
        let non_ascii = paths
            .iter()
            .filter(|p| !p.rsplit('/').next().unwrap().is_ascii())
            .count();
        assert!(
            (60..=160).contains(&non_ascii),
            "non-ASCII names: {non_ascii}"
        );
        assert!(paths.iter().any(|p| p.contains(' ')));
        assert!(
            paths
                .iter()
                .any(|p| p.starts_with("Projects/Alpha/Meetings/"))
        );
        assert!(paths.iter().any(|p| !p.contains('/')));
    }

    #[test]
    fn notes_have_realistic_size_and_syntax() {
        let (files, _) = vault(2000, 8);
        let sizes: Vec<usize> = notes(&files).map(|(_, n)| n.len()).collect();
        let mean = sizes.iter().sum::<usize>() / sizes.len();
        assert!((2200..=2800).contains(&mean), "mean size: {mean}");
        let typical = sizes
            .iter()
            .filter(|&&s| (1400..=4200).contains(&s))
            .count();
        assert!(
            typical * 100 >= sizes.len() * 95,
            "{typical} of {} typical",
            sizes.len()
        );

        let count = |needle: &str| notes(&files).filter(|(_, n)| n.contains(needle)).count();
        let frontmatter = notes(&files)
            .filter(|(_, n)| n.starts_with("---\n"))
            .count();
        assert!(
            (1600..=1800).contains(&frontmatter),
            "frontmatter: {frontmatter}"
        );
        let malformed: usize = MALFORMED_LINES.iter().map(|line| count(line)).sum();
        assert!(
            (5..=50).contains(&malformed),
            "malformed frontmatter: {malformed}"
        );
        for needle in [
            "\n## ",
            "\n### ",
            " ^blk-",
            "- [ ] ",
            "- [x] ",
            "> [!",
            "[[not a link]]",
            "#notatag",
            "`[[fake]]`",
            "#area/health",
            "created: 20",
            "aliases:",
            "tags:",
            "meta:\n  source:",
            "café",
            "。",
            "![[image-",
            "%20",
        ] {
            assert!(count(needle) > 0, "no note contains `{needle}`");
        }
    }

    #[test]
    fn write_vault_writes_the_files_and_refuses_a_non_empty_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("vault");
        let options = GenOptions {
            notes: 120,
            seed: 9,
        };
        let summary = write_vault(&out, &options).unwrap();
        let (files, expected) = generate(&options);
        assert_eq!(summary, expected);
        for (path, bytes) in &files {
            assert_eq!(&fs_err::read(out.join(path)).unwrap(), bytes, "{path}");
        }
        let err = write_vault(&out, &options).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::DirectoryNotEmpty);
        assert!(err.to_string().contains("is not empty"), "{err}");
        // An existing empty folder is fine.
        let empty = dir.path().join("empty");
        fs_err::create_dir(&empty).unwrap();
        assert_eq!(write_vault(&empty, &options).unwrap(), expected);
    }

    #[test]
    fn tiny_vaults_work() {
        let (files, summary) = generate(&GenOptions { notes: 0, seed: 1 });
        assert!(files.is_empty());
        assert_eq!((summary.links, summary.bytes), (0, 0));
        let (files, summary) = generate(&GenOptions { notes: 1, seed: 1 });
        assert_eq!((files.len(), summary.attachments), (2, 1));
        assert!(summary.links >= 3);
    }

    #[test]
    fn pngs_are_well_formed() {
        let png = tiny_png([1, 2, 3]);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"));
        // IEND with its well-known CRC.
        assert!(png.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]));
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn dates_are_civil() {
        for (days, expected) in [
            (0, "1970-01-01"),
            (FIRST_DAILY_DAY, "2021-01-01"),
            (19_737, "2024-01-15"),
            (19_782, "2024-02-29"),
            (20_453, "2025-12-31"),
        ] {
            assert_eq!(format_date(days), expected);
        }
    }

    #[test]
    fn skewed_ranks_favour_the_front() {
        let mut rng = Rng::stream(1, 1);
        let mut hits = [0usize; 4];
        for _ in 0..10_000 {
            let rank = rng.skewed(1000);
            assert!(rank < 1000);
            hits[(rank >= 1) as usize + (rank >= 10) as usize + (rank >= 100) as usize] += 1;
        }
        // Each decade of ranks gets a similar share, so rank 0 alone gets about 10%.
        assert!(hits.iter().all(|&h| h > 1000), "{hits:?}");
    }
}
