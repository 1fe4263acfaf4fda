// The Markdown editor: CodeMirror 6 with the Markdown language (GFM, as `markdownLanguage`;
// Enter continues lists and quotes).
// Loaded only when an edit starts (its own chunk), so the app shell stays small. Colours come
// from the page's CSS variables, so it follows the system's light or dark theme like the rest.

import { EditorState } from "@codemirror/state";
import { EditorView, drawSelection, highlightActiveLine, keymap } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { HighlightStyle, LanguageSupport, syntaxHighlighting } from "@codemirror/language";
import { markdownKeymap, markdownLanguage } from "@codemirror/lang-markdown";
import { tags } from "@lezer/highlight";

export interface Editor {
  /** The text as edited now. */
  text(): string;
  focus(): void;
  destroy(): void;
}

const highlight = HighlightStyle.define([
  { tag: tags.heading, fontWeight: "700", color: "var(--accent)" },
  { tag: tags.strong, fontWeight: "700" },
  { tag: tags.emphasis, fontStyle: "italic" },
  { tag: tags.strikethrough, textDecoration: "line-through" },
  { tag: [tags.link, tags.url], color: "var(--accent)", textDecoration: "underline" },
  { tag: [tags.monospace, tags.quote, tags.meta, tags.processingInstruction, tags.contentSeparator], color: "var(--muted)" },
]);

const theme = EditorView.theme({
  "&": { backgroundColor: "var(--bg)", color: "var(--fg)", border: "1px solid var(--line)", borderRadius: "6px", minHeight: "60vh" },
  "&.cm-focused": { outline: "2px solid var(--accent)", outlineOffset: "2px" },
  ".cm-scroller": { fontFamily: "ui-monospace, Menlo, Consolas, monospace", fontSize: "14px", lineHeight: "1.5" },
  ".cm-content": { padding: "8px 0", caretColor: "var(--fg)" },
  ".cm-line": { padding: "0 8px" },
  ".cm-activeLine": { backgroundColor: "var(--panel)" },
  "&.cm-focused .cm-cursor": { borderLeftColor: "var(--fg)" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection": { backgroundColor: "var(--mark)" },
});

/**
 * An editor of `doc` in `parent`. Its editable element gets the id `editor` and `label` as
 * its accessible name; Mod-s calls `save`.
 */
export function createEditor(parent: HTMLElement, doc: string, label: string, save: () => void): Editor {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        history(),
        drawSelection(),
        highlightActiveLine(),
        EditorView.lineWrapping,
        // The language itself, not `markdown()`: that one brings HTML, CSS and JavaScript
        // support for embedded code (three times the size) which notes hardly need here.
        new LanguageSupport(markdownLanguage),
        syntaxHighlighting(highlight),
        theme,
        keymap.of([{ key: "Mod-s", preventDefault: true, run: () => { save(); return true; } }, ...markdownKeymap, ...defaultKeymap, ...historyKeymap]),
        EditorView.contentAttributes.of({ id: "editor", "aria-label": label, "aria-multiline": "true", spellcheck: "false" }),
      ],
    }),
  });
  return {
    text: () => view.state.doc.toString(),
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
