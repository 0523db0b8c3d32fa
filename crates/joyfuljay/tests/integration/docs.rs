//! Generated documents match the column registry. Set JJ_UPDATE_DOCS=1 to
//! rewrite them after an intentional schema change.

use joyfuljay::schema::{features_json, features_markdown, features_tables};
use joyfuljay_testkit::repo_root;

fn check(rel: &str, expected: &str) {
    let path = repo_root().join(rel);
    if std::env::var_os("JJ_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, expected).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == expected,
        "{rel} is out of date with the column registry; run JJ_UPDATE_DOCS=1 cargo test -p joyfuljay --test integration docs"
    );
}

#[test]
fn docs_features_md() {
    check("docs/features.md", &features_markdown());
}

#[test]
fn schema_features_json() {
    let mut s = serde_json::to_string_pretty(&features_json()).unwrap();
    s.push('\n');
    check("schema/features.json", &s);
}

#[test]
fn readme_feature_table() {
    const START: &str = "<!-- features:start -->\n";
    const END: &str = "<!-- features:end -->";
    let path = repo_root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let a = readme
        .find(START)
        .expect("README has the features:start marker")
        + START.len();
    let b = readme
        .find(END)
        .expect("README has the features:end marker");
    let want = features_tables();
    if std::env::var_os("JJ_UPDATE_DOCS").is_some() {
        let new = format!("{}{}{}", &readme[..a], want, &readme[b..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    assert!(
        readme[a..b] == want,
        "README's feature table is out of date; run JJ_UPDATE_DOCS=1 cargo test -p joyfuljay --test integration docs"
    );
}
