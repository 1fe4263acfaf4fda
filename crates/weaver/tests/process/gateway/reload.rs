//! Keys reload without a restart: revoked keys stop working, added ones start, and a broken
//! keys file is rejected while the previous keys keep working.

use crate::gateway::stack::{Stack, keys_toml, notes, replace};

#[tokio::test]
async fn a_revoked_key_is_refused_after_reload() {
    let stack = Stack::start().await;
    let path = notes("Home.md");
    stack.get_as("reader", &path).await.assert_status(200);
    stack.keys_command(&["revoke", "reader"]);
    stack
        .poll(|| async { (stack.get_as("reader", &path).await.status == 401).then_some(()) })
        .await;
    stack.get_as("writer", &path).await.assert_status(200);
    let listed = stack.keys_command(&["list"]);
    assert!(!listed.contains("reader"), "{listed}");
    assert!(listed.contains("writer\twrite\tdefault"), "{listed}");
}

#[tokio::test]
async fn a_key_added_to_the_file_works_without_a_restart() {
    let stack = Stack::start().await;
    let printed = stack.keys_command(&[
        "create", "--name", "newcomer", "--role", "read", "--vaults", "default",
    ]);
    let new_key = printed
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .unwrap()
        .to_owned();
    assert!(new_key.starts_with("wvr_"), "{printed}");
    let path = notes("Home.md");
    stack
        .poll(|| async {
            let reply = crate::gateway::stack::send(stack.request(
                reqwest::Method::GET,
                &path,
                Some(&new_key),
            ))
            .await;
            (reply.status == 200).then_some(())
        })
        .await;
    // The keys that were there keep working.
    stack.get_as("reader", &path).await.assert_status(200);
    // The file holds only the hash.
    let file = std::fs::read_to_string(&stack.keys_file).unwrap();
    assert!(file.contains("name = \"newcomer\""), "{file}");
    assert!(!file.contains(&new_key));
}

#[tokio::test]
async fn a_broken_keys_file_is_rejected_and_the_previous_keys_keep_working() {
    let mut stack = Stack::start().await;
    let path = notes("Home.md");
    replace(&stack.keys_file, "[[keys]]\nname = \"half a key\"\nhash = ");
    let rejected = stack.gateway.wait_log(|l| {
        l["level"] == "ERROR"
            && l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("keeping the current one"))
    });
    assert!(
        rejected["fields"]["error"]
            .as_str()
            .unwrap()
            .contains("api_keys_file"),
        "{rejected}"
    );
    stack.get_as("reader", &path).await.assert_status(200);
    stack.get_as("writer", &path).await.assert_status(200);
    let metrics =
        crate::gateway::stack::send(stack.request(reqwest::Method::GET, "/metrics", None)).await;
    let text = metrics.body.as_str().unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("gateway_config_reloads_total{result=\"rejected\"}")),
        "{text}"
    );

    // A valid file again (without `reader`) applies.
    replace(
        &stack.keys_file,
        &keys_toml(&[("writer", "write", &["default"])]),
    );
    stack
        .poll(|| async { (stack.get_as("reader", &path).await.status == 401).then_some(()) })
        .await;
    stack.get_as("writer", &path).await.assert_status(200);
}
