// The REST API and its event stream, as the UI uses them. Every request goes through `api()`,
// which adds the API key when one was given (through the gateway), and asks for it on 401.

export interface VaultSummary { name: string; state: string; read_only: boolean; notes?: number }
export interface SearchHit { path: string; title: string; snippet: string; highlights: { start: number; end: number }[] }
export interface SearchResults { total: number; items: SearchHit[] }
export interface Heading { level: number; text: string; anchor: string; line: number }
export interface LinkDto { kind: string; target: string; display: string | null; line: number; resolved: string | null }
export interface Backlink { source: string; title: string; line: number; context: string }
export interface NoteDto {
  path: string; title: string; aliases: string[]; tags: string[];
  frontmatter: Record<string, unknown> | null; headings: Heading[]; links: LinkDto[];
  backlinks: Backlink[]; backlinks_total: number; hash: string; modified: string; word_count: number;
}
export interface Rendered { path: string; hash: string; html: string; truncated: boolean }
export interface GraphNode { path: string; title: string; folder: string; tags: string[]; x: number; y: number; degree: number }
export interface GraphData { nodes: GraphNode[]; edges: [number, number][] }
export interface WhoAmI { name: string; role: string }

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) { super(message); }
}

const KEY_STORAGE = "weaver.apiKey";
let apiKey: string | null = localStorage.getItem(KEY_STORAGE);
let askKey: (() => Promise<void>) | null = null;

/** The key in use, if any. */
export function currentKey(): string | null { return apiKey; }

/** Sets the key; kept in localStorage only when the person chose "remember". */
export function setKey(key: string | null, remember: boolean): void {
  apiKey = key;
  if (key && remember) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

/** Called on a 401: shows the key dialog and resolves once a key was entered. */
export function onUnauthorized(ask: () => Promise<void>): void { askKey = ask; }

function headers(extra?: HeadersInit): Headers {
  const h = new Headers(extra);
  if (apiKey) h.set("Authorization", `Bearer ${apiKey}`);
  return h;
}

/** Encodes a vault path for a URL, keeping its slashes. */
export function enc(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** The web UI's route of a note. */
export function noteHref(vault: string, path: string): string {
  return `#/v/${encodeURIComponent(vault)}/n/${enc(path)}`;
}

export async function api(path: string, init: RequestInit = {}, retry = true): Promise<Response> {
  const response = await fetch(`api/v1/${path}`, { ...init, headers: headers(init.headers) });
  if (response.status === 401 && retry && askKey) {
    await askKey();
    return api(path, init, false);
  }
  return response;
}

export async function json<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await api(path, init);
  if (!response.ok) throw await apiError(response);
  return response.json() as Promise<T>;
}

export async function apiError(response: Response): Promise<ApiError> {
  let code = "http_" + response.status, message = response.statusText;
  try {
    const body = await response.json();
    code = body.code ?? code;
    message = body.message ?? message;
  } catch { /* not JSON */ }
  return new ApiError(response.status, code, message);
}

/** The gateway's answer about the key, or null when there is no gateway (local use). */
export async function whoami(): Promise<WhoAmI | null> {
  const response = await api("whoami");
  if (response.status === 404) return null;
  if (!response.ok) throw await apiError(response);
  return response.json();
}

/**
 * Follows a vault's Server-Sent Events through fetch (EventSource cannot send the API key),
 * reconnecting with back-off until `signal` aborts.
 */
export async function follow(vault: string, onEvent: (name: string, data: any) => void, signal: AbortSignal): Promise<void> {
  let delay = 500;
  while (!signal.aborted) {
    try {
      const response = await api(`vaults/${enc(vault)}/events`, { signal, headers: { Accept: "text/event-stream" } });
      if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
      delay = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (data) {
            try { onEvent(name, JSON.parse(data)); } catch { /* ignore a malformed event */ }
          }
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}
