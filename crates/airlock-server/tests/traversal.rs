//! Raw request lines that try to leave the repo: `..` in every spelling, absolute paths and absolute-form
//! targets, NUL, backslashes and symlinks. None of them may ever return a byte from outside the repo.

mod common;

use common::{raw, repo, start};

const SECRET: &str = "TOP-SECRET-OUTSIDE-THE-REPO";

fn with_secret_outside() -> tempfile::TempDir {
    let dir = repo();
    std::fs::write(dir.path().join("secret.txt"), SECRET).unwrap();
    dir
}

#[test]
fn dot_dot_in_any_encoding_is_refused_with_400() {
    let dir = with_secret_outside();
    let server = start(&dir);
    for target in [
        "/../secret.txt",
        "/com.example.app/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/com.example.app%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/.%2E/.%2E/secret.txt",
        "/secret.txt%00.json",
        "../secret.txt",
        "secret.txt",
        "http://localhost/../secret.txt",
        "http://localhost/%2e%2e/secret.txt",
    ] {
        let resp = raw(server.addr(), format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        assert_eq!(resp.status, 400, "{target}: {}", resp.text());
        assert!(!resp.text().contains(SECRET), "{target} leaked the secret");
    }
}

#[test]
fn absolute_paths_are_looked_up_inside_the_repo_only() {
    let dir = with_secret_outside();
    let server = start(&dir);
    let outside = dir.path().join("secret.txt");
    let outside = outside.to_str().unwrap();
    for target in [
        outside.to_owned(),
        format!("/{outside}"),
        format!("//{}", outside.trim_start_matches('/')),
        "/etc/passwd".to_owned(),
        format!("http://localhost{outside}"),
    ] {
        let resp = raw(server.addr(), format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        assert_eq!(resp.status, 404, "{target}");
        assert!(!resp.text().contains(SECRET) && !resp.text().contains("root:"), "{target} leaked a file");
    }
    let inside = raw(server.addr(), b"GET http://localhost/index.html HTTP/1.1\r\n\r\n");
    assert_eq!(inside.status, 200, "an absolute-form target inside the repo is served");
}

#[cfg(unix)]
#[test]
fn a_symlink_escaping_the_repo_is_404_and_one_inside_it_is_served() {
    let dir = with_secret_outside();
    let repo_path = dir.path().join("repo");
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), repo_path.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(dir.path(), repo_path.join("up")).unwrap();
    std::os::unix::fs::symlink(repo_path.join("index.html"), repo_path.join("alias.html")).unwrap();
    let server = start(&dir);
    for target in ["/leak.txt", "/up/secret.txt"] {
        let resp = raw(server.addr(), format!("GET {target} HTTP/1.1\r\n\r\n").as_bytes());
        assert_eq!(resp.status, 404, "{target}");
        assert!(!resp.text().contains(SECRET));
    }
    let alias = raw(server.addr(), b"GET /alias.html HTTP/1.1\r\n\r\n");
    assert_eq!(alias.status, 200);
    assert_eq!(alias.text(), "<!doctype html><p>hi</p>");
}

#[test]
fn malformed_escapes_and_control_characters_are_400() {
    let dir = with_secret_outside();
    let server = start(&dir);
    for target in ["/%zz", "/index.html%", "/a%0d%0aSet-Cookie:x", "/%ff%fe"] {
        let resp = raw(server.addr(), format!("GET {target} HTTP/1.1\r\n\r\n").as_bytes());
        assert_eq!(resp.status, 400, "{target}");
        assert!(resp.header("set-cookie").is_none());
    }
    let nul = raw(server.addr(), b"GET /index.html\x00 HTTP/1.1\r\n\r\n");
    assert_eq!(nul.status, 400);
}

#[test]
fn percent_encoded_names_inside_the_repo_are_decoded() {
    let dir = with_secret_outside();
    common::put(&dir.path().join("repo"), "com.example.app/channels/beta testers.json", b"{}");
    let server = start(&dir);
    let resp = raw(server.addr(), b"GET /com.example.app/channels/beta%20testers.json?cache=1 HTTP/1.1\r\n\r\n");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"{}");
}
