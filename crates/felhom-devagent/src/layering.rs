//! Checks that the stand-in agent's modules use one another exactly as the layer list in
//! `lib.rs` says, and that the list runs one way (no module uses one listed below it).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Files only tests compile; they may use anything.
const TEST_ONLY: [&str; 2] = ["layering.rs", "tests.rs"];

/// The name `lib.rs` has in the layer list and in the results.
const ROOT: &str = "lib.rs";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The layer list: module names, lowest first, each with the modules it says it uses.
fn documented(root_source: &str) -> Vec<(String, BTreeSet<String>)> {
    root_source
        .lines()
        .skip_while(|line| !line.starts_with("// Layers, lowest first."))
        .take_while(|line| line.starts_with("//"))
        .filter_map(|line| line.strip_prefix("//   "))
        .map(|entry| {
            // `name uses… (what it does)`; `-` for no uses.
            let entry = entry.split('(').next().unwrap_or_default();
            let mut words = entry.split_whitespace();
            let name = words.next().unwrap_or_default().to_owned();
            let uses = words.filter(|w| *w != "-").map(str::to_owned).collect();
            (name, uses)
        })
        .collect()
}

/// The code without comments and without what only tests compile (everything from the first
/// `#[cfg(test)]` on: test modules come last).
fn code(source: &str) -> String {
    let source = source.split("#[cfg(test)]").next().unwrap_or_default();
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first path segment of every item named after `super::` (or `crate::`),
/// groups like `super::{a, b::{c, d}}` included.
fn named_in_parent(code: &str) -> BTreeSet<String> {
    let first_segment = |path: &str| -> String {
        path.trim_start()
            .chars()
            .take_while(|&c| is_ident(c))
            .collect()
    };
    let mut names = BTreeSet::new();
    for prefix in ["super::", "crate::"] {
        for (at, _) in code.match_indices(prefix) {
            let rest = &code[at + prefix.len()..];
            let Some(group) = rest.strip_prefix('{') else {
                names.insert(first_segment(rest));
                continue;
            };
            // Drop nested groups, innermost first, until the group's own `}` closes it.
            let mut group = group.to_owned();
            loop {
                let close = group.find('}').unwrap_or(group.len());
                match group[..close].rfind('{') {
                    Some(open) => group.replace_range(open..=close, ""),
                    None => {
                        group.truncate(close);
                        break;
                    }
                }
            }
            names.extend(
                group
                    .split(',')
                    .map(first_segment)
                    .filter(|n| !n.is_empty()),
            );
        }
    }
    names
}

/// The sibling modules `lib.rs` names by path (`fault::Fault`, `use tls::{..}`).
fn named_in_root(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    modules
        .iter()
        .filter(|module| {
            let path = format!("{module}::");
            code.match_indices(&path)
                .any(|(at, _)| !code[..at].ends_with(|c: char| is_ident(c) || c == ':'))
        })
        .cloned()
        .collect()
}

/// What each module really uses, read from the source files.
fn actual() -> BTreeMap<String, BTreeSet<String>> {
    let mut sources = BTreeMap::new();
    for entry in fs::read_dir(dir()).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        if file.ends_with(".rs") && !TEST_ONLY.contains(&file.as_str()) {
            let source = fs::read_to_string(dir().join(&file)).unwrap();
            let name = if file == ROOT {
                file
            } else {
                file.trim_end_matches(".rs").to_owned()
            };
            sources.insert(name, code(&source));
        }
    }
    let modules: BTreeSet<String> = sources.keys().filter(|m| *m != ROOT).cloned().collect();
    sources
        .iter()
        .map(|(name, code)| {
            let uses = if name == ROOT {
                named_in_root(code, &modules)
            } else {
                // Anything in the parent that is not a module is an item of lib.rs itself.
                named_in_parent(code)
                    .into_iter()
                    .map(|n| {
                        if modules.contains(&n) {
                            n
                        } else {
                            ROOT.to_owned()
                        }
                    })
                    .collect()
            };
            (name.clone(), uses)
        })
        .collect()
}

#[test]
fn modules_use_one_another_as_the_layer_list_says() {
    let root = fs::read_to_string(dir().join(ROOT)).unwrap();
    let list = documented(&root);
    let actual = actual();

    let listed: BTreeSet<&String> = list.iter().map(|(name, _)| name).collect();
    let present: BTreeSet<&String> = actual.keys().collect();
    assert_eq!(
        listed, present,
        "the layer list in lib.rs names other modules than exist"
    );
    assert_eq!(list.last().map(|(name, _)| name.as_str()), Some(ROOT));

    let mut below = BTreeSet::new();
    for (name, uses) in &list {
        assert_eq!(
            &actual[name], uses,
            "{name} uses other modules than the layer list in lib.rs says"
        );
        let upward: Vec<&String> = uses.difference(&below).collect();
        assert!(
            upward.is_empty(),
            "{name} uses {upward:?}, listed after it: a cycle"
        );
        below.insert(name.clone());
    }
}

#[test]
fn the_reader_sees_grouped_imports_and_skips_comments_and_tests() {
    let source = "use super::{control::{lock, POLL}, envelope};\nuse super::http::Response;\n\
                  let x = crate::DevAgent::start();\n";
    let names: Vec<String> = named_in_parent(source).into_iter().collect();
    assert_eq!(names, ["DevAgent", "control", "envelope", "http"]);
    assert_eq!(
        code("use a;\n// super::b\n#[cfg(test)]\nuse super::c;\n"),
        "use a;"
    );
}
