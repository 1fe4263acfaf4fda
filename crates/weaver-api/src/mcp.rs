//! The MCP vocabulary: tool and argument names. The MCP server registers its tools under these
//! names (a test checks that the lists are exactly its tools), and the gateway authorises
//! `tools/call` by them.

/// Tools that change the vault: hidden and refused in read-only mode.
pub const WRITE_TOOLS: [&str; 4] = [WRITE_NOTE, EDIT_NOTE, MOVE_NOTE, DELETE_NOTE];

/// Tools that only read. With [`WRITE_TOOLS`], every tool: the gateway lets read-only
/// identities call these and nothing else.
pub const READ_TOOLS: [&str; 14] = [
    "search_notes",
    "find_similar",
    "unlinked_mentions",
    "read_note",
    "list_notes",
    "get_backlinks",
    "get_links",
    "graph_neighbors",
    "find_path",
    "list_tags",
    "vault_stats",
    "find_orphans",
    "find_unresolved_links",
    "recent_changes",
];

/// `write_note`: create or replace a note.
pub const WRITE_NOTE: &str = "write_note";
/// `edit_note`: patch a note.
pub const EDIT_NOTE: &str = "edit_note";
/// `move_note`: rename a note, rewriting the links to it.
pub const MOVE_NOTE: &str = "move_note";
/// `delete_note`: move a note to the trash, or delete it for good with [`PERMANENT`].
pub const DELETE_NOTE: &str = "delete_note";
/// The argument of [`DELETE_NOTE`] (and the query parameter of the REST delete) that skips the
/// trash; the gateway asks for `admin` when it is anything but `false`.
pub const PERMANENT: &str = "permanent";
