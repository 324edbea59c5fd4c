//! Messages say "permanent" or "will retry" truthfully (issue 7, point 13): a 404 for a catalog URL, app id or
//! channel that does not exist is a configuration problem named as such, not "will retry later".

mod common;
mod lifecycle_support;

use airlock_core::Cancel;
use lifecycle_support::world;
use serde_json::json;

#[test]
fn a_catalog_that_is_not_on_the_server_is_reported_as_a_configuration_problem_not_as_will_retry() {
    // Nothing published: the catalog URL, the app id or the channel is wrong.
    let w = world(json!({ "defaultChannel": "prodution" }));
    let agent = w.open();
    let err = agent.check(&Cancel::never()).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.kind_name(), "config", "{msg}");
    assert!(msg.contains("catalogUrl") && msg.contains("appId") && msg.contains("prodution"), "{msg}");
    assert!(!msg.contains("will retry later"), "{msg}");

    let err = agent.list_channels(&Cancel::never()).unwrap_err();
    assert_eq!(err.kind_name(), "config", "{err}");
    assert!(!err.to_string().contains("will retry later"), "{err}");
}
