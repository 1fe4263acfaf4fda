//! What the web UI reads, as API endpoints anyone can use: a note rendered to sanitised HTML
//! (`notes/{path}/html`), the vault's files (`files/{path}`), the laid-out graph (`graph`), and
//! the UI itself at `/`.

use std::io::Read;

use crate::support::{Sandbox, SseReader, Start};

const FIXTURE: &str = "\
//- Welcome.md
---
tags: [meta]
---
# Welcome
See [[Plan#Goals|the plan]], [[Missing note]] and ==this== #idea.
![[garden.png|200]]
![[Plan#Goals]]
> [!tip] A tip
> Inside.
- [x] done
//- Projects/Plan.md
# Plan
## Goals
Back to [[Welcome]].
//- Hostile.md
# Hostile
<script>document.title = 'pwned'</script>
<img src=x onerror=\"alert(1)\">
<a href=\"javascript:alert(1)\">click</a>
<svg onload=\"alert(1)\"><script>alert(2)</script></svg>
<div onclick=\"alert(3)\" style=\"position:fixed\">x</div>
[md link](javascript:alert(4))
<iframe src=\"https://example.com\"></iframe>
";

#[tokio::test]
async fn a_note_renders_as_obsidian_shows_it_and_hostile_html_is_inert() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    std::fs::create_dir_all(vault.join("attachments")).unwrap();
    std::fs::write(
        vault.join("attachments/garden.png"),
        b"\x89PNG\r\n\x1a\nfake",
    )
    .unwrap();
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;

    let response = server
        .get("/api/v1/vaults/default/notes/Welcome/html")
        .await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["path"], "Welcome.md");
    assert_eq!(format!("\"{}\"", body["hash"].as_str().unwrap()), etag);
    assert_eq!(body["truncated"], false);
    let html = body["html"].as_str().unwrap();
    for expected in [
        r##"<h1 id="n-Welcome">Welcome</h1>"##,
        r##"<a class="internal-link" href="#/v/default/n/Projects/Plan.md?h=Goals" data-note="Projects/Plan.md" rel="noopener noreferrer">the plan</a>"##,
        r#"class="internal-link is-unresolved" data-target="Missing note""#,
        "<mark>this</mark>",
        r##"<a class="tag" href="#/v/default/tag/idea" rel="noopener noreferrer">#idea</a>"##,
        r#"<img src="api/v1/vaults/default/files/attachments/garden.png" alt="garden.png" width="200">"#,
        r#"<span class="embed" data-note="Projects/Plan.md" data-fragment="Goals">"#,
        r#"<div class="callout" data-callout="tip"><div class="callout-title">A tip</div>"#,
        r#"<input disabled="" type="checkbox" checked="">"#,
    ] {
        assert!(html.contains(expected), "{expected}\nnot in\n{html}");
    }
    assert!(
        !html.contains("tags:"),
        "the frontmatter is not rendered: {html}"
    );

    // Conditional: the same version is 304.
    let again = server
        .client
        .get(server.url("/api/v1/vaults/default/notes/Welcome/html"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let hostile = server.ok("/api/v1/vaults/default/notes/Hostile/html").await;
    let html = hostile["html"].as_str().unwrap().to_ascii_lowercase();
    // The Markdown after an HTML block's first line is part of the block (CommonMark), so
    // `[md link](javascript:...)` stays as inert text; no attribute may carry the scheme.
    for bad in [
        "<script",
        "onerror",
        "onload",
        "onclick",
        "=\"javascript:",
        "<svg",
        "<iframe",
        "style=",
        "pwned",
    ] {
        assert!(!html.contains(bad), "{bad:?} in {html}");
    }
    assert!(html.contains("click"), "the link text stays: {html}");

    server
        .error(
            "/api/v1/vaults/default/notes/Nope/html",
            404,
            "note_not_found",
        )
        .await;
}

#[tokio::test]
async fn files_are_served_from_inside_the_vault_only() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    std::fs::create_dir_all(vault.join("attachments")).unwrap();
    std::fs::write(
        vault.join("attachments/garden.png"),
        b"\x89PNG\r\n\x1a\nfake",
    )
    .unwrap();
    std::fs::write(
        vault.join("attachments/x.svg"),
        "<svg onload=\"alert(1)\"/>",
    )
    .unwrap();
    let outside = sandbox.write("secret.txt", "top-secret-content");
    std::os::unix::fs::symlink(&outside, vault.join("attachments/link.png")).unwrap();
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;

    let png = server
        .get("/api/v1/vaults/default/files/attachments/garden.png")
        .await;
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(png.headers()["x-content-type-options"], "nosniff");
    assert!(png.headers().contains_key("etag"));
    assert_eq!(&png.bytes().await.unwrap()[..4], b"\x89PNG");

    // An SVG is sandboxed: opened on its own, it runs no script in the server's origin.
    let svg = server
        .get("/api/v1/vaults/default/files/attachments/x.svg")
        .await;
    assert_eq!(svg.status(), 200);
    let csp = svg.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );

    // A symbolic link, a path out of the vault, a hidden folder: not served.
    for path in [
        "attachments/link.png",
        "..%2Fsecret.txt",
        "attachments/%2E%2E/%2E%2E/secret.txt",
        ".weaver/cache.db",
        "nothing.png",
    ] {
        let response = server
            .get(&format!("/api/v1/vaults/default/files/{path}"))
            .await;
        assert!(
            matches!(response.status().as_u16(), 400 | 404),
            "{path}: {}",
            response.status()
        );
        let body = response.text().await.unwrap();
        assert!(!body.contains("top-secret-content"), "{path}: {body}");
    }
}

#[tokio::test]
async fn the_graph_is_laid_out_and_counts_distinct_links() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault(
        "vault",
        "//- a.md\n[[b]] [[b]] [[c]] [[a]] [[nowhere]]\n//- b.md\n[[a]]\n//- c.md\nalone\n//- d/e.md\n#t\n",
    );
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let graph = server.ok("/api/v1/vaults/default/graph").await;
    let nodes = graph["nodes"].as_array().unwrap();
    let paths: Vec<&str> = nodes.iter().map(|n| n["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["a.md", "b.md", "c.md", "d/e.md"]);
    // a→b (twice in the text), a→c, b→a; the self-link and the unresolved one are left out.
    let edges: Vec<(u64, u64)> = graph["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e[0].as_u64().unwrap(), e[1].as_u64().unwrap()))
        .collect();
    assert_eq!(edges, [(0, 1), (0, 2), (1, 0)]);
    assert_eq!(nodes[0]["degree"], 3);
    assert_eq!(nodes[3]["folder"], "d");
    assert_eq!(nodes[3]["tags"], serde_json::json!(["t"]));
    let positions: Vec<(f64, f64)> = nodes
        .iter()
        .map(|n| (n["x"].as_f64().unwrap(), n["y"].as_f64().unwrap()))
        .collect();
    for (i, p) in positions.iter().enumerate() {
        for q in &positions[i + 1..] {
            assert!(
                (p.0 - q.0).abs() + (p.1 - q.1).abs() > 0.01,
                "{positions:?}"
            );
        }
    }
    // Cached per link graph: asked again, the same layout.
    let again = server.ok("/api/v1/vaults/default/graph").await;
    assert_eq!(again, graph);

    // A new link changes the graph (and its layout).
    std::fs::write(vault.join("c.md"), "now [[d/e]]\n").unwrap();
    server
        .poll(|| async {
            let g = server.ok("/api/v1/vaults/default/graph").await;
            (g["edges"].as_array().unwrap().len() == 4).then_some(())
        })
        .await;
}

#[tokio::test]
async fn json_is_compressed_for_clients_that_accept_it_and_event_streams_are_not() {
    let sandbox = Sandbox::new();
    let mut fixture = String::new();
    for i in 0..40 {
        fixture.push_str(&format!(
            "//- n{i}.md\n# Note {i}\n[[n{}]] #t{}\n",
            (i + 1) % 40,
            i % 3
        ));
    }
    let vault = sandbox.vault("vault", &fixture);
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let path = "/api/v1/vaults/default/graph";
    let plain = server.get(path).await;
    assert_eq!(plain.headers().get("content-encoding"), None);
    let plain = plain.bytes().await.unwrap();
    let ask = |encoding: &'static str| {
        server
            .client
            .get(server.url(path))
            .header("Accept-Encoding", encoding)
            .send()
    };

    let gzipped = ask("gzip").await.unwrap();
    assert_eq!(gzipped.status(), 200);
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert_eq!(gzipped.headers()["vary"], "accept-encoding");
    let gzipped = gzipped.bytes().await.unwrap();
    assert!(
        gzipped.len() < plain.len() / 2,
        "{} of {}",
        gzipped.len(),
        plain.len()
    );
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_end(&mut decoded)
        .unwrap();
    let decoded: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
    let plain: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(decoded, plain);
    assert_eq!(decoded["nodes"].as_array().unwrap().len(), 40);

    // A browser's list: brotli is preferred.
    let browser = ask("gzip, deflate, br, zstd").await.unwrap();
    assert_eq!(browser.headers()["content-encoding"], "br");
    // A client refusing everything we have gets plain JSON, not a 406.
    for refusal in ["identity;q=0", "*;q=0", "zstd, identity;q=0"] {
        let response = ask(refusal).await.unwrap();
        assert_eq!(response.status(), 200, "{refusal}");
        assert_eq!(
            response.headers().get("content-encoding"),
            None,
            "{refusal}"
        );
    }

    // The ETag names the content whatever the encoding, so `If-Match` works after a gzip read.
    let note = "/api/v1/vaults/default/notes/n1.md";
    let etag = server.get(note).await.headers()["etag"].clone();
    let gzipped = server
        .client
        .get(server.url(note))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["etag"], etag);

    // Event streams are never encoded (an encoder would hold events back until its buffer fills).
    let events = server
        .client
        .get(server.url("/api/v1/vaults/default/events"))
        .header("Accept-Encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(events.headers().get("content-encoding"), None);
    let mut events = SseReader::from_response(events);
    assert_eq!(events.next().await.unwrap().name, "index.ready");
    std::fs::write(vault.join("New.md"), "# New\n").unwrap();
    let created = events.next_named("note.created").await;
    assert_eq!(created.data["path"], "New.md");
}

#[tokio::test]
async fn the_web_ui_is_served_at_the_root() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", FIXTURE);
    let server = Start::vault(&vault).spawn();
    let page = server.get("/").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    // Every asset the page names is served, hashed names cached for good, gzipped on request.
    let assets: Vec<&str> = html
        .split("/assets/")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert_eq!(assets.len(), 2, "{html}");
    for asset in assets {
        let response = server
            .client
            .get(server.url(&format!("/assets/{asset}")))
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(response.headers()["content-encoding"], "gzip");
        let etag = response.headers()["etag"].clone();
        // Brotli when accepted (precompressed: the layer of the API does not encode it again).
        let response = server
            .client
            .get(server.url(&format!("/assets/{asset}")))
            .header("Accept-Encoding", "gzip, deflate, br, zstd")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], "br");
        assert_eq!(response.headers()["etag"], etag);
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let revalidated = server
            .client
            .get(server.url(&format!("/assets/{asset}")))
            .header("If-None-Match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), 304);
    }
    for precompressed in ["gz", "br"] {
        let html_asset = html
            .split("/assets/")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        server
            .error(
                &format!("/assets/{html_asset}.{precompressed}"),
                404,
                "route_not_found",
            )
            .await;
    }
    server
        .error("/assets/nope.js", 404, "route_not_found")
        .await;
}

#[tokio::test]
async fn a_huge_note_is_rendered_in_part_and_an_empty_vault_has_an_empty_graph() {
    let sandbox = Sandbox::new();
    let vault = sandbox.vault("vault", "//- Small.md\n# Small\n");
    // 1.5 MiB of paragraphs: over the 1 MiB rendering cap, under the 10 MiB parsing limit.
    let paragraph = "A line of text with a [[Small]] link and a #tag.\n\n";
    std::fs::write(
        vault.join("Huge.md"),
        paragraph.repeat(3 * (1 << 19) / paragraph.len()),
    )
    .unwrap();
    let server = Start::vault(&vault).spawn();
    server.wait_ready().await;
    let huge = server.ok("/api/v1/vaults/default/notes/Huge/html").await;
    assert_eq!(huge["truncated"], true);
    let html = huge["html"].as_str().unwrap();
    // Bounded by the cap: link-dense Markdown grows about fivefold as HTML.
    assert!(html.len() < 8 << 20, "{} bytes of HTML", html.len());
    assert!(
        html.trim_end().ends_with("</p>"),
        "cut at a line, not mid-tag"
    );
    let small = server.ok("/api/v1/vaults/default/notes/Small/html").await;
    assert_eq!(small["truncated"], false);

    let empty = sandbox.vault("empty", "");
    let server = Start::vault(&empty).spawn();
    server.wait_ready().await;
    let graph = server.ok("/api/v1/vaults/default/graph").await;
    assert_eq!(graph, serde_json::json!({"nodes": [], "edges": []}));
    assert_eq!(server.get("/").await.status(), 200);
}
