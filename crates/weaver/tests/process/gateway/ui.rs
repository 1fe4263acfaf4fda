//! The web UI through the gateway: the page and its assets are the gateway's own (no upstream,
//! no credential needed, no vault data in them), and `/api/v1/whoami` tells the page who the
//! key is, so a read-only key sees no edit controls.

use reqwest::Method;
use serde_json::json;

use crate::gateway::stack::{Stack, key, send};

#[tokio::test]
async fn the_page_is_served_and_whoami_names_the_role() {
    let stack = Stack::start().await;
    let page = stack.request(Method::GET, "/", None).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'"),
        "the page keeps its own policy: {csp}"
    );
    let html = page.text().await.unwrap();
    let script = html
        .split("/assets/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|name| name.ends_with(".js"))
        .unwrap()
        .to_owned();
    let asset = stack
        .request(Method::GET, &format!("/assets/{script}"), None)
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert_eq!(
        asset.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );

    // The API behind it still needs a key.
    send(stack.request(Method::GET, "/api/v1/vaults", None))
        .await
        .assert_error(401, "unauthorized");
    send(stack.request(Method::GET, "/api/v1/whoami", None))
        .await
        .assert_error(401, "unauthorized");
    for (name, role) in [("reader", "read"), ("writer", "write")] {
        let reply = send(stack.request(Method::GET, "/api/v1/whoami", Some(&key(name)))).await;
        reply.assert_status(200);
        assert_eq!(
            reply.body,
            json!({"name": name, "role": role, "vaults": ["default"]})
        );
    }
}
