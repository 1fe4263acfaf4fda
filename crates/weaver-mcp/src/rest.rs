//! [`RestBackend`]: the MCP backend over a vault of a `weaver serve` elsewhere, reached through
//! its REST API. This is `weaver mcp --upstream URL`, the MCP server of the Kubernetes layout: a
//! stateless service that opens no vault and scales apart from the core service.
//!
//! Each backend call is one HTTP request under `/api/v1/vaults/{vault}/`, and an error answer
//! (`{"code", "message"}`) becomes a [`ToolError`] with the same code and message, so tools
//! answer exactly as they do over a vault in this process. What the REST API leaves to its
//! clients is done here the way [`super::LocalBackend`] does it: search scores rounded, link
//! targets written with their fragment, a note's hash taken from the text it returned, recent
//! notes as the note list sorted by `-modified`, list pages cut from the full list of a note's
//! links. The section and outline views of `read_note` are cut from the returned text by the
//! tools' own code (`note.rs`), whichever backend read it.
//!
//! [`RestDirectory`] maps `/mcp/{vault}` to the upstream vault of that name and `/mcp` to a
//! default vault: the one named with `--name`, or else ([`RestDirectory::choosing`]) the
//! upstream's vault `default`, or its only vault when it has one. A vault still opening upstream (`vault_not_ready`) is retried for a few
//! seconds, as the local backend waits for its own. The W3C trace context (`traceparent`,
//! `tracestate`) of an MCP request over HTTP is passed on, so one trace spans both services.
//!
//! Read-your-writes against a cluster: the highest `Weaver-Seq` the upstream answered a write
//! with is remembered per vault, and every later call to that vault sends it as
//! `Weaver-Min-Seq`, so whichever replica answers has applied every write made through this
//! process (an upstream in local mode sends no `Weaver-Seq`, and nothing changes).
//!
//! ```ignore
//! let vaults = RestDirectory::new("http://weaver:3000", "default")?;
//! serve_stdio(Arc::new(vaults), McpOptions::new(false)).await?;
//! ```

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use reqwest::{RequestBuilder, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use weaver_app::AppError;
use weaver_core::VaultPath;

use super::backend::{
    BackendFuture, BacklinkEntry, DeleteRequest, DeleteResult, EditRequest, LinkEntry,
    MentionEntry, MoveRequest, MoveResult, NeighborEntry, NeighborsRequest, NoteEntry, NotePage,
    NoteSource, Page, PathRequest, RecentNote, SearchPage, SearchRequest, SimilarPage, TagEntry,
    ToolError, UnresolvedEntry, VaultBackend, VaultCounts, VaultDirectory, Window,
    WritePrecondition, WriteRequest, WriteResult,
};
use super::local::DEFAULT_READY_WAIT;
use super::wire;
use weaver_api::{Code, dto};

/// How often a call asks again for a vault that is still opening upstream.
const READY_POLL: Duration = Duration::from_millis(250);

/// How long connecting to the upstream service may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Sub-resources of `notes/{path}`: a note whose last path segment is one of these is read as
/// `{path}.md`, as the REST API documents.
const SUB_RESOURCES: [&str; 5] = ["backlinks", "links", "neighbors", "similar", "mentions"];

/// The upstream service, shared by every backend of a directory.
#[derive(Debug)]
struct Upstream {
    client: reqwest::Client,
    /// The service's base URL, such as `http://weaver:3000/`.
    base: Url,
    ready_wait: Duration,
    /// By vault: the highest `Weaver-Seq` a write through this process was answered with.
    seen: std::sync::Mutex<std::collections::HashMap<Arc<str>, u64>>,
}

impl Upstream {
    fn seen(&self, vault: &str) -> Option<u64> {
        let seen = match self.seen.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        seen.get(vault).copied()
    }

    fn saw(&self, vault: &Arc<str>, seq: u64) {
        let mut seen = match self.seen.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let entry = seen.entry(Arc::clone(vault)).or_insert(0);
        *entry = (*entry).max(seq);
    }
}

/// The vaults of an upstream `weaver serve`: any name is passed on (an unknown one is the
/// upstream's `vault_not_found`), no name is the default vault. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RestDirectory {
    upstream: Arc<Upstream>,
    default_vault: Arc<DefaultVault>,
}

/// The upstream vault that answers at `/mcp` (and over stdio).
#[derive(Debug)]
enum DefaultVault {
    /// Named by the operator (`--name`).
    Named(Arc<str>),
    /// Chosen from the upstream's vault list by [`RestDirectory::choose_default`]: `default`,
    /// else the only vault; until then, why there is none.
    Chosen(RwLock<Result<Arc<str>, ToolError>>),
}

/// The most vault names a "which vault?" message lists.
const MAX_NAMES_LISTED: usize = 20;

impl RestDirectory {
    /// The vaults of the `weaver serve` at `base` (`http://weaver:3000`, optionally with a path
    /// prefix), with `default_vault` answering at `/mcp`.
    pub fn new(base: &str, default_vault: &str) -> anyhow::Result<Self> {
        Self::with_default(base, DefaultVault::Named(Arc::from(default_vault)))
    }

    /// Like [`RestDirectory::new`], with the vault at `/mcp` chosen from the upstream's vaults
    /// (the one named `default`, else the only one) by [`RestDirectory::choose_default`]; until
    /// that succeeds, `/mcp` answers `vault_not_ready` with the reason.
    pub fn choosing(base: &str) -> anyhow::Result<Self> {
        Self::with_default(
            base,
            DefaultVault::Chosen(RwLock::new(Err(ToolError::new(
                Code::VaultNotReady,
                "the upstream service's vaults have not been listed yet",
            )))),
        )
    }

    /// Asks the upstream for its vaults and chooses the one `/mcp` serves (a vault named with
    /// [`RestDirectory::new`] is simply returned). Once chosen, it stays.
    pub async fn choose_default(&self) -> Result<Arc<str>, ToolError> {
        let DefaultVault::Chosen(slot) = &*self.default_vault else {
            return self.default_name();
        };
        if let Ok(Ok(name)) = slot.read().as_deref() {
            return Ok(Arc::clone(name));
        }
        let chosen = self.list_and_choose().await;
        let mut current = match slot.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if current.is_err() {
            current.clone_from(&chosen);
        }
        current.clone()
    }

    async fn list_and_choose(&self) -> Result<Arc<str>, ToolError> {
        #[derive(Deserialize)]
        struct Vaults {
            items: Vec<Named>,
        }
        #[derive(Deserialize)]
        struct Named {
            name: String,
        }
        let mut url = self.upstream.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["api", "v1", "vaults"]);
        }
        let probe = self.vault("default");
        let listed: Vaults = probe.send_once(self.upstream.client.get(url)).await?;
        let names: Vec<String> = listed.items.into_iter().map(|v| v.name).collect();
        choose(&names)
    }

    fn default_name(&self) -> Result<Arc<str>, ToolError> {
        match &*self.default_vault {
            DefaultVault::Named(name) => Ok(Arc::clone(name)),
            DefaultVault::Chosen(slot) => match slot.read() {
                Ok(guard) => guard.clone(),
                Err(poisoned) => poisoned.into_inner().clone(),
            },
        }
    }

    fn with_default(base: &str, default_vault: DefaultVault) -> anyhow::Result<Self> {
        let mut url = Url::parse(base).with_context(|| format!("invalid upstream URL `{base}`"))?;
        match url.scheme() {
            "http" => {}
            other => anyhow::bail!(
                "invalid upstream URL `{base}`: scheme `{other}` is not supported; expected http://"
            ),
        }
        if url.cannot_be_a_base() || url.host_str().is_none() {
            anyhow::bail!("invalid upstream URL `{base}`: expected http://HOST[:PORT][/PATH]");
        }
        url.set_query(None);
        url.set_fragment(None);
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("weaver-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            upstream: Arc::new(Upstream {
                client,
                base: url,
                ready_wait: DEFAULT_READY_WAIT,
                seen: std::sync::Mutex::default(),
            }),
            default_vault: Arc::new(default_vault),
        })
    }

    /// The backend of the upstream vault `name`.
    pub fn vault(&self, name: &str) -> RestBackend {
        RestBackend {
            upstream: Arc::clone(&self.upstream),
            vault: Arc::from(name),
            trace: None,
        }
    }

    fn checked(&self, name: Option<&str>) -> Result<RestBackend, ToolError> {
        let default;
        let name = match name {
            Some(name) => name,
            None => {
                default = self.default_name()?;
                &*default
            }
        };
        // A URL path cannot carry these as a segment; no configured vault is named so.
        if matches!(name, "" | "." | "..") {
            return Err(ToolError::new(
                Code::VaultNotFound,
                format!("vault not found: `{name}`"),
            ));
        }
        Ok(self.vault(name))
    }
}

impl VaultDirectory for RestDirectory {
    fn backend(&self, name: Option<&str>) -> Result<Arc<dyn VaultBackend>, ToolError> {
        Ok(Arc::new(self.checked(name)?))
    }

    fn backend_for_request(
        &self,
        name: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<Arc<dyn VaultBackend>, ToolError> {
        let mut backend = self.checked(name)?;
        backend.trace = TraceContext::from_headers(headers).map(Arc::new);
        Ok(Arc::new(backend))
    }
}

/// The vault `/mcp` serves among the upstream's `names`: `default`, else the only one.
fn choose(names: &[String]) -> Result<Arc<str>, ToolError> {
    if names.iter().any(|n| n == "default") {
        return Ok(Arc::from("default"));
    }
    match names {
        [only] => Ok(Arc::from(only.as_str())),
        [] => Err(ToolError::new(
            Code::VaultNotReady,
            "the upstream service serves no vault yet",
        )),
        many => {
            let mut listed = many
                .iter()
                .take(MAX_NAMES_LISTED)
                .map(|n| format!("`{}`", weaver_core::clip_value(n)))
                .collect::<Vec<_>>()
                .join(", ");
            if many.len() > MAX_NAMES_LISTED {
                listed.push_str(&format!(" and {} more", many.len() - MAX_NAMES_LISTED));
            }
            Err(ToolError::new(
                Code::VaultNotFound,
                format!(
                    "the upstream service serves the vaults {listed} and none is named `default`: \
                     start `weaver mcp` with `--name VAULT`, or use `/mcp/VAULT`"
                ),
            ))
        }
    }
}

/// The W3C trace context of the MCP request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TraceContext {
    traceparent: HeaderValue,
    tracestate: Option<HeaderValue>,
}

impl TraceContext {
    /// The context in `headers`, when they carry a well-formed `traceparent`.
    fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let traceparent = headers.get("traceparent")?;
        if !is_traceparent(traceparent.to_str().ok()?) {
            return None;
        }
        Some(Self {
            traceparent: traceparent.clone(),
            tracestate: headers.get("tracestate").cloned(),
        })
    }
}

/// `version-traceid-parentid-flags` in lower-case hex, with non-zero ids (W3C Trace Context).
fn is_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.trim().split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match parts.as_slice() {
        [version, trace, parent, flags, ..] => {
            hex(version, 2)
                && *version != "ff"
                && hex(trace, 32)
                && hex(parent, 16)
                && hex(flags, 2)
                && trace.bytes().any(|b| b != b'0')
                && parent.bytes().any(|b| b != b'0')
        }
        _ => false,
    }
}

/// A vault of an upstream `weaver serve`, through its REST API. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RestBackend {
    upstream: Arc<Upstream>,
    vault: Arc<str>,
    trace: Option<Arc<TraceContext>>,
}

impl RestBackend {
    /// `{base}/api/v1/vaults/{vault}/{tail...}`.
    fn url(&self, tail: &[&str]) -> Url {
        let mut url = self.upstream.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["api", "v1", "vaults"])
                .push(&self.vault)
                .extend(tail);
        }
        url
    }

    /// `.../notes/{note}` (then `/{sub}`), or `None` when no URL can name `note`.
    fn note_url(&self, note: &str, sub: Option<&str>) -> Option<Url> {
        let mut url = self.url(&["notes"]);
        push_note(&mut url, note)?;
        if let (Some(sub), Ok(mut segments)) = (sub, url.path_segments_mut()) {
            segments.push(sub);
        }
        Some(url)
    }

    /// Sends the request (again while the vault is still opening upstream, up to the
    /// backend's `ready_wait`) and decodes the JSON answer.
    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ToolError> {
        let mut request = match &self.trace {
            Some(trace) => {
                let request = request.header("traceparent", trace.traceparent.clone());
                match &trace.tracestate {
                    Some(state) => request.header("tracestate", state.clone()),
                    None => request,
                }
            }
            None => request,
        };
        let deadline = tokio::time::Instant::now() + self.upstream.ready_wait;
        loop {
            let again = request.try_clone();
            let result = self.send_once(request).await;
            match (result, again) {
                // A replica behind this process's last write (cluster mode) catches up soon, or
                // another one answers the next try.
                (Err(err), Some(again))
                    if (err.code == Code::VaultNotReady.as_str()
                        || err.code == Code::ReplicaBehind.as_str())
                        && tokio::time::Instant::now() + READY_POLL <= deadline =>
                {
                    tokio::time::sleep(READY_POLL).await;
                    request = again;
                }
                (result, _) => return result,
            }
        }
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T, ToolError> {
        let request = match self.upstream.seen(&self.vault) {
            Some(seq) => request.header("weaver-min-seq", seq),
            None => request,
        };
        let request = request
            .build()
            .map_err(|e| ToolError::invalid_argument(error_chain(&e)))?;
        let (method, path) = (request.method().clone(), request.url().path().to_owned());
        let started = std::time::Instant::now();
        let response = self
            .upstream
            .client
            .execute(request)
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        if let Some(seq) = response
            .headers()
            .get("weaver-seq")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            self.upstream.saw(&self.vault, seq);
        }
        let body = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        tracing::debug!(
            upstream.method = %method,
            upstream.path = %path,
            upstream.status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "upstream call"
        );
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                ToolError::new(
                    Code::InternalError,
                    format!(
                        "the upstream service answered `{method} {path}` with unexpected JSON: {e}"
                    ),
                )
            });
        }
        Err(upstream_error(status, &body))
    }

    fn unreachable(&self, err: &reqwest::Error) -> ToolError {
        ToolError::new(
            Code::VaultUnavailable,
            format!(
                "the upstream service `{}` cannot be reached: {}",
                self.upstream.base,
                error_chain(err)
            ),
        )
    }

    fn get(&self, url: Url) -> RequestBuilder {
        self.upstream.client.get(url)
    }

    /// A page of the whole-vault list at `tail` (`orphans`, `unresolved`, `notes`).
    async fn list<L: DeserializeOwned>(
        &self,
        tail: &str,
        window: Window,
        query: &[(&str, &str)],
    ) -> Result<L, ToolError> {
        let mut url = self.url(&[tail]);
        {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        append_window(&mut url, window);
        self.send(self.get(url)).await
    }
}

/// Adds `limit` and `offset` to the query string.
fn append_window(url: &mut Url, window: Window) {
    url.query_pairs_mut()
        .append_pair("limit", &window.limit.to_string())
        .append_pair("offset", &window.offset.to_string());
}

/// Appends a note path (or title, or alias) to `url`'s path: segment by segment when it can
/// be, else as one segment with its slashes encoded (`../x.md` as `..%2Fx.md`), because URL
/// parsers drop `.` and `..` segments; the REST API decodes either to the same text. `None` for
/// `""`, `"."` and `".."`, which no URL path can carry.
fn push_note(url: &mut Url, note: &str) -> Option<()> {
    if matches!(note, "" | "." | "..") {
        return None;
    }
    let mut segments = url.path_segments_mut().ok()?;
    if note.split('/').all(|s| !matches!(s, "" | "." | "..")) {
        segments.extend(note.split('/'));
    } else {
        segments.push(note);
    }
    Some(())
}

/// The error a local vault gives for a note input that no URL can carry.
fn unreachable_note(note: &str) -> ToolError {
    ToolError::from(AppError::NoteNotFound {
        path: note.to_owned(),
        suggestions: Vec::new(),
    })
}

/// The error a local vault gives for a write path that no URL can carry: such a path is never
/// a valid vault path, and the vault checks that first.
fn unreachable_path(path: &str) -> ToolError {
    match VaultPath::new(path) {
        Err(err) => ToolError::from(AppError::from(err)),
        Ok(_) => unreachable_note(path),
    }
}

/// An error answer as the tool error it reports: the REST body `{"code", "message"}` as is.
fn upstream_error(status: StatusCode, body: &[u8]) -> ToolError {
    if let Ok(error) = serde_json::from_slice::<weaver_api::ErrorBody>(body) {
        return ToolError {
            code: error.code,
            message: error.message,
        };
    }
    // Not the API's own answer: a proxy or a load balancer between the services.
    let text = String::from_utf8_lossy(body);
    let text: String = text.trim().chars().take(200).collect();
    let code = if status.is_server_error() {
        Code::VaultUnavailable
    } else {
        Code::InternalError
    };
    ToolError::new(
        code,
        format!("the upstream service answered `{status}`: {text}"),
    )
}

/// An error and its causes, `: `-separated.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// `If-Match: "<hash>"`.
fn if_match(request: RequestBuilder, hash: Option<&str>) -> RequestBuilder {
    match hash {
        Some(hash) => request.header(header::IF_MATCH, format!("\"{hash}\"")),
        None => request,
    }
}

impl VaultBackend for RestBackend {
    fn name(&self) -> &str {
        &self.vault
    }

    fn search(&self, request: SearchRequest) -> BackendFuture<'_, SearchPage> {
        Box::pin(async move {
            let mut url = self.url(&["search"]);
            {
                let mut pairs = url.query_pairs_mut();
                pairs.append_pair("q", &request.text);
                if let Some(mode) = request.mode {
                    pairs.append_pair("mode", mode.as_str());
                }
                for tag in &request.tags {
                    pairs.append_pair("tag", tag);
                }
                if let Some(folder) = &request.folder {
                    pairs.append_pair("folder", folder);
                }
            }
            append_window(&mut url, request.window);
            let found: dto::SearchResultsDto = self.send(self.get(url)).await?;
            Ok(wire::search_page(found))
        })
    }

    fn similar(&self, note: String, limit: usize) -> BackendFuture<'_, SimilarPage> {
        Box::pin(async move {
            let mut url = self
                .note_url(&note, Some("similar"))
                .ok_or_else(|| unreachable_note(&note))?;
            url.query_pairs_mut()
                .append_pair("limit", &limit.to_string());
            let found: dto::SimilarList = self.send(self.get(url)).await?;
            Ok(wire::similar_page(found))
        })
    }

    fn mentions(&self, note: String, window: Window) -> BackendFuture<'_, NotePage<MentionEntry>> {
        Box::pin(async move {
            let mut url = self
                .note_url(&note, Some("mentions"))
                .ok_or_else(|| unreachable_note(&note))?;
            append_window(&mut url, window);
            let found: dto::MentionList = self.send(self.get(url)).await?;
            Ok(wire::mention_page(found))
        })
    }

    fn read_note(&self, note: String) -> BackendFuture<'_, NoteSource> {
        Box::pin(async move {
            // `Folder/links` would name the sub-resource; the note is `Folder/links.md`.
            let last = note.trim().rsplit('/').next().unwrap_or_default();
            let as_file = note.contains('/') && SUB_RESOURCES.contains(&last);
            let asked = if as_file {
                format!("{}.md", note.trim())
            } else {
                note.clone()
            };
            let mut url = self
                .note_url(&asked, None)
                .ok_or_else(|| unreachable_note(&note))?;
            url.query_pairs_mut().append_pair("content", "true");
            let found: Result<dto::NoteDto, ToolError> = self.send(self.get(url)).await;
            match found {
                Ok(note) => Ok(wire::note_source(note)),
                Err(mut err) if as_file && err.code == Code::NoteNotFound.as_str() => {
                    err.message =
                        err.message
                            .replacen(&format!("`{asked}`"), &format!("`{note}`"), 1);
                    Err(err)
                }
                Err(err) => Err(err),
            }
        })
    }

    fn list_notes(
        &self,
        folder: Option<String>,
        window: Window,
    ) -> BackendFuture<'_, Page<NoteEntry>> {
        Box::pin(async move {
            let mut query = Vec::new();
            if let Some(folder) = &folder {
                query.push(("folder", folder.as_str()));
            }
            let list: dto::NoteList = self.list("notes", window, &query).await?;
            Ok(Page {
                total: list.total,
                items: list.items.into_iter().map(wire::note_entry).collect(),
            })
        })
    }

    fn recent_notes(
        &self,
        folder: Option<String>,
        window: Window,
    ) -> BackendFuture<'_, Page<RecentNote>> {
        Box::pin(async move {
            let mut query = vec![("sort", "-modified")];
            if let Some(folder) = &folder {
                query.push(("folder", folder.as_str()));
            }
            let list: dto::NoteList = self.list("notes", window, &query).await?;
            Ok(Page {
                total: list.total,
                items: list.items.into_iter().map(wire::recent_note).collect(),
            })
        })
    }

    fn backlinks(
        &self,
        note: String,
        window: Window,
    ) -> BackendFuture<'_, NotePage<BacklinkEntry>> {
        Box::pin(async move {
            let mut url = self
                .note_url(&note, Some("backlinks"))
                .ok_or_else(|| unreachable_note(&note))?;
            append_window(&mut url, window);
            let found: dto::BacklinkList = self.send(self.get(url)).await?;
            Ok(wire::backlink_page(found))
        })
    }

    fn links(&self, note: String, window: Window) -> BackendFuture<'_, NotePage<LinkEntry>> {
        Box::pin(async move {
            // The REST API answers every link at once (they come from the index, no file is
            // read); the page is cut here, as the local backend cuts it.
            let url = self
                .note_url(&note, Some("links"))
                .ok_or_else(|| unreachable_note(&note))?;
            let found: dto::LinkList = self.send(self.get(url)).await?;
            Ok(wire::link_page(found, window))
        })
    }

    fn neighbors(&self, request: NeighborsRequest) -> BackendFuture<'_, NotePage<NeighborEntry>> {
        Box::pin(async move {
            let mut url = self
                .note_url(&request.note, Some("neighbors"))
                .ok_or_else(|| unreachable_note(&request.note))?;
            url.query_pairs_mut()
                .append_pair("depth", &request.depth.to_string())
                .append_pair("direction", direction(request.direction));
            append_window(&mut url, request.window);
            let found: dto::NeighborList = self.send(self.get(url)).await?;
            Ok(wire::neighbor_page(found))
        })
    }

    fn shortest_path(&self, request: PathRequest) -> BackendFuture<'_, Option<Vec<NoteEntry>>> {
        Box::pin(async move {
            let mut url = self.url(&["path"]);
            url.query_pairs_mut()
                .append_pair("from", &request.from)
                .append_pair("to", &request.to)
                .append_pair("direction", direction(request.direction));
            let found: dto::PathDto = self.send(self.get(url)).await?;
            Ok(wire::path_notes(found))
        })
    }

    fn tags(&self) -> BackendFuture<'_, Vec<TagEntry>> {
        Box::pin(async move {
            let found: dto::TagList = self.send(self.get(self.url(&["tags"]))).await?;
            Ok(wire::tag_entries(found))
        })
    }

    fn stats(&self) -> BackendFuture<'_, VaultCounts> {
        Box::pin(async move {
            let stats: dto::StatsDto = self.send(self.get(self.url(&["stats"]))).await?;
            Ok(wire::vault_counts(stats))
        })
    }

    fn orphans(&self, window: Window) -> BackendFuture<'_, Page<NoteEntry>> {
        Box::pin(async move {
            let list: dto::NoteRefList = self.list("orphans", window, &[]).await?;
            Ok(wire::note_refs(list))
        })
    }

    fn unresolved(&self, window: Window) -> BackendFuture<'_, Page<UnresolvedEntry>> {
        Box::pin(async move {
            let list: dto::UnresolvedList = self.list("unresolved", window, &[]).await?;
            Ok(wire::unresolved_page(list))
        })
    }

    fn write_note(&self, request: WriteRequest) -> BackendFuture<'_, WriteResult> {
        Box::pin(async move {
            let url = self
                .note_url(&request.path, None)
                .ok_or_else(|| unreachable_path(&request.path))?;
            let put = self
                .upstream
                .client
                .put(url)
                .header(header::CONTENT_TYPE, "text/markdown; charset=utf-8")
                .body(request.content);
            // `If-Match: *` is the API's "whatever is there"; without a header it creates only.
            let put = match &request.precondition {
                WritePrecondition::Any => put.header(header::IF_MATCH, "*"),
                WritePrecondition::Matches(hash) => if_match(put, Some(hash)),
                WritePrecondition::Absent => put.header(header::IF_NONE_MATCH, "*"),
            };
            let written: dto::WriteResult = self.send(put).await?;
            Ok(wire::write_result(written))
        })
    }

    fn edit_note(&self, request: EditRequest) -> BackendFuture<'_, WriteResult> {
        Box::pin(async move {
            let url = self
                .note_url(&request.path, None)
                .ok_or_else(|| unreachable_path(&request.path))?;
            let patch = self
                .upstream
                .client
                .patch(url)
                .json(&serde_json::json!({ "operations": request.ops }));
            let written: dto::WriteResult = self
                .send(if_match(patch, request.if_match.as_deref()))
                .await?;
            Ok(wire::write_result(written))
        })
    }

    fn move_note(&self, request: MoveRequest) -> BackendFuture<'_, MoveResult> {
        Box::pin(async move {
            let url = self
                .note_url(&request.from, Some("move"))
                .ok_or_else(|| unreachable_path(&request.from))?;
            let post = self.upstream.client.post(url).json(&dto::MoveRequest {
                to: request.to,
                update_links: request.update_links,
            });
            let moved: dto::MoveResult = self
                .send(if_match(post, request.if_match.as_deref()))
                .await?;
            Ok(wire::move_result(moved))
        })
    }

    fn delete_note(&self, request: DeleteRequest) -> BackendFuture<'_, DeleteResult> {
        Box::pin(async move {
            let mut url = self
                .note_url(&request.path, None)
                .ok_or_else(|| unreachable_path(&request.path))?;
            if request.permanent {
                url.query_pairs_mut().append_pair("permanent", "true");
            }
            let delete = self.upstream.client.delete(url);
            let deleted: dto::DeleteResult = self
                .send(if_match(delete, request.if_match.as_deref()))
                .await?;
            Ok(wire::delete_result(deleted))
        })
    }
}

fn direction(direction: super::backend::LinkDirection) -> &'static str {
    use super::backend::LinkDirection;
    match direction {
        LinkDirection::Out => "out",
        LinkDirection::In => "in",
        LinkDirection::Both => "both",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend() -> RestBackend {
        RestDirectory::new("http://weaver:3000/prefix/", "default")
            .unwrap()
            .vault("notes")
    }

    #[test]
    fn note_paths_become_segments_and_dot_segments_survive() {
        let b = backend();
        let url = |note: &str, sub: Option<&str>| b.note_url(note, sub).map(|u| u.to_string());
        assert_eq!(
            url("Projects/Plan A#1?.md", None).as_deref(),
            Some("http://weaver:3000/prefix/api/v1/vaults/notes/notes/Projects/Plan%20A%231%3F.md")
        );
        assert_eq!(
            url("../x.md", Some("move")).as_deref(),
            Some("http://weaver:3000/prefix/api/v1/vaults/notes/notes/..%2Fx.md/move")
        );
        assert_eq!(
            url("a/./b.md", None).as_deref(),
            Some("http://weaver:3000/prefix/api/v1/vaults/notes/notes/a%2F.%2Fb.md")
        );
        assert_eq!(
            url("50%.md", Some("links")).as_deref(),
            Some("http://weaver:3000/prefix/api/v1/vaults/notes/notes/50%25.md/links")
        );
        assert_eq!(
            url("a\\..\\x.md", None).as_deref(),
            Some("http://weaver:3000/prefix/api/v1/vaults/notes/notes/a%5C..%5Cx.md")
        );
        assert_eq!(url("..", None), None);
        assert_eq!(url("", None), None);
    }

    #[test]
    fn unreachable_paths_fail_as_a_local_vault_would() {
        assert_eq!(unreachable_path("..").code, "path_escapes_vault");
        assert_eq!(unreachable_note("..").code, "note_not_found");
    }

    #[test]
    fn the_default_vault_is_default_else_the_only_one() {
        let names = |list: &[&str]| list.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert_eq!(&*choose(&names(&["a", "default"])).unwrap(), "default");
        assert_eq!(&*choose(&names(&["notes"])).unwrap(), "notes");
        assert_eq!(choose(&[]).unwrap_err().code, "vault_not_ready");
        let err = choose(&names(&["a", "b"])).unwrap_err();
        assert_eq!(err.code, "vault_not_found");
        assert!(err.message.contains("`a`, `b`"), "{}", err.message);
        assert!(err.message.contains("--name"), "{}", err.message);
        let many: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
        let err = choose(&many).unwrap_err();
        assert!(err.message.contains("and 80 more"), "{}", err.message);
    }

    #[test]
    fn only_http_upstreams_are_accepted() {
        assert!(RestDirectory::new("https://weaver", "default").is_err());
        assert!(RestDirectory::new("weaver:3000", "default").is_err());
        assert!(RestDirectory::new("http://weaver:3000", "default").is_ok());
    }

    #[test]
    fn error_bodies_keep_their_code_and_message() {
        let err = upstream_error(
            StatusCode::NOT_FOUND,
            br#"{"code":"note_not_found","message":"note not found: `x`","suggestions":["y.md"]}"#,
        );
        assert_eq!(
            err,
            ToolError {
                code: "note_not_found".into(),
                message: "note not found: `x`".into()
            }
        );
        let proxy = upstream_error(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert_eq!(proxy.code, "vault_unavailable");
        assert!(proxy.message.contains("502"), "{}", proxy.message);
    }

    #[test]
    fn only_well_formed_trace_parents_are_passed_on() {
        let mut headers = HeaderMap::new();
        assert_eq!(TraceContext::from_headers(&headers), None);
        headers.insert(
            "traceparent",
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        headers.insert("tracestate", HeaderValue::from_static("congo=t61rcWkgMzE"));
        let trace = TraceContext::from_headers(&headers).unwrap();
        assert_eq!(trace.tracestate.unwrap(), "congo=t61rcWkgMzE");
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "garbage",
        ] {
            headers.insert("traceparent", HeaderValue::from_static(bad));
            assert_eq!(TraceContext::from_headers(&headers), None, "{bad}");
        }
    }
}
