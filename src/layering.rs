//! Checks that a crate's modules use one another exactly as the layer list in its `lib.rs`
//! says, and that the list runs one way (no module uses one listed below it): no import cycle.
//!
//! The modules are those `lib.rs` declares outside `#[cfg(test)]`; a module is its file
//! (`error.rs`) and the files of its folder that it declares (`error/…`), and what a folder's
//! files use of one another stays inside it. Names the root re-exports (`crate::Error`) count
//! as uses of the module that defines them. The stand-in agent's crate includes this file by
//! path for its own list: one checker for both.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The name `lib.rs` has in the layer list and in the results.
const ROOT: &str = "lib.rs";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The layer list: module names, lowest first, each with the modules it says it uses.
fn documented(root_source: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut list: Vec<(String, BTreeSet<String>)> = Vec::new();
    let entries = root_source
        .lines()
        .skip_while(|line| !line.starts_with("// Layers, lowest first."))
        .take_while(|line| line.starts_with("//"))
        .filter_map(|line| line.strip_prefix("//   "));
    for entry in entries {
        // `name uses… (what it does)`; `-` for no uses; a line that starts with spaces names
        // more uses.
        let entry = entry.split('(').next().unwrap_or_default();
        let mut words = entry.split_whitespace().filter(|w| *w != "-");
        let uses = if entry.starts_with(' ') {
            &mut list.last_mut().expect("a first entry").1
        } else {
            let name = words.next().unwrap_or_default().to_owned();
            list.push((name, BTreeSet::new()));
            &mut list.last_mut().unwrap().1
        };
        uses.extend(words.map(str::to_owned));
    }
    list
}

/// The code without comments and without what only tests compile: each item under a
/// `#[cfg(test)]` line, up to the `;` or the `}` that ends it. Code after a test-only item is
/// still read (a test-only `impl` may stand between two parts of a file).
fn code(source: &str) -> String {
    let mut kept = Vec::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "#[cfg(test)]" {
            kept.push(line);
            continue;
        }
        let mut depth = 0_i64;
        for line in lines.by_ref() {
            let opened = line.matches('{').count() as i64;
            depth += opened - line.matches('}').count() as i64;
            let end = line.trim_end();
            if depth <= 0 && (end.ends_with(';') || end.ends_with('}')) {
                break;
            }
        }
    }
    without_comments(&kept.join("\n"))
}

/// The code without comments, test code kept: `lib.rs` declares its test-only modules among
/// the others, and `declared` leaves them out itself.
fn without_comments(source: &str) -> String {
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first path segment of every item named after one of `prefixes`,
/// groups like `crate::{a, b::{c, d}}` included.
fn named_after(code: &str, prefixes: &[&str]) -> BTreeSet<String> {
    let first_segment = |path: &str| -> String {
        path.trim_start()
            .chars()
            .take_while(|&c| is_ident(c))
            .collect()
    };
    let mut names = BTreeSet::new();
    for prefix in prefixes {
        for (at, _) in code.match_indices(prefix) {
            if code[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                continue; // `self::super::`, `foo_crate::`: not a path from the root
            }
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

/// What the root re-exports, and from which module: `pub use error::{Error, FormatRefused};`
/// and `pub use request::MAX_BODY as MAX_RESPONSE_BYTES;`.
fn reexports(root_code: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for statement in root_code.split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = path.split_once("::") else {
            continue;
        };
        let items = items.trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let name = match item.split_once(" as ") {
                Some((_, alias)) => alias,
                None => item,
            };
            let name = name.trim();
            if !name.is_empty() {
                found.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    found
}

/// The sibling modules `lib.rs` names by path (`error::Error`, `pub use wire::{..}`).
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

/// The modules `source` declares for the build (`mod name;`, `pub mod name;`), leaving out
/// those with `#[cfg(test)]` among their attributes.
fn declared(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut test_only = false;
    for line in source.lines().map(str::trim) {
        if line == "#[cfg(test)]" {
            test_only = true;
            continue;
        }
        if line.starts_with("#[") {
            continue;
        }
        let declaration = ["mod ", "pub mod ", "pub(crate) mod "]
            .iter()
            .find_map(|prefix| line.strip_prefix(prefix)?.strip_suffix(';'));
        if let Some(name) = declaration.filter(|_| !test_only) {
            names.push(name.to_owned());
        }
        test_only = false;
    }
    names
}

/// Each module's code, file by file, with whether the file names the root as `super::` (a
/// module's own file) or only as `crate::` (a file in its folder).
fn sources() -> BTreeMap<String, Vec<(String, bool)>> {
    let read = |path: &Path| fs::read_to_string(path).unwrap();
    let root = read(&dir().join(ROOT));
    let mut sources = BTreeMap::new();
    sources.insert(ROOT.to_owned(), vec![(without_comments(&root), true)]);
    for module in declared(&root) {
        let folder = dir().join(&module);
        let own = [dir().join(format!("{module}.rs")), folder.join("mod.rs")];
        let Some(own) = own.iter().find(|path| path.is_file()) else {
            panic!("no file for the module {module}");
        };
        let own = read(own);
        let mut files = vec![(code(&own), true)];
        for inner in declared(&own) {
            let path = folder.join(format!("{inner}.rs"));
            if path.is_file() {
                files.push((code(&read(&path)), false));
            }
        }
        sources.insert(module, files);
    }
    sources
}

/// What each module really uses, read from the source files.
fn actual() -> BTreeMap<String, BTreeSet<String>> {
    let sources = sources();
    let modules: BTreeSet<String> = sources.keys().filter(|m| *m != ROOT).cloned().collect();
    let root_code = &sources[ROOT][0].0;
    let reexported = reexports(root_code);
    sources
        .iter()
        .map(|(name, files)| {
            let uses = if name == ROOT {
                named_in_root(root_code, &modules)
            } else {
                files
                    .iter()
                    .flat_map(|(code, top_level)| {
                        let prefixes: &[&str] = if *top_level {
                            &["crate::", "super::"]
                        } else {
                            &["crate::"]
                        };
                        named_after(code, prefixes)
                    })
                    .map(|n| {
                        // A module, an item the root re-exports, or an item of lib.rs itself.
                        if modules.contains(&n) {
                            n
                        } else {
                            reexported
                                .get(&n)
                                .cloned()
                                .unwrap_or_else(|| ROOT.to_owned())
                        }
                    })
                    .filter(|used| used != name)
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
fn the_reader_sees_grouped_imports_reexports_and_skips_comments_and_tests() {
    let source = "use crate::{wire::{Status, BackupPhase}, Error};\nuse super::call::Call;\n\
                  let x = crate::Client::new(); self::super::ignored;\n";
    let names: Vec<String> = named_after(source, &["crate::", "super::"])
        .into_iter()
        .collect();
    assert_eq!(names, ["Client", "Error", "call", "wire"]);
    let names: Vec<String> = named_after(source, &["crate::"]).into_iter().collect();
    assert_eq!(names, ["Client", "Error", "wire"]);
    assert_eq!(
        code("use a;\n// crate::b\n#[cfg(test)]\nuse crate::c;\n"),
        "use a;"
    );
    assert_eq!(
        code(
            "use a;\n#[cfg(test)]\nimpl X {\n    fn f() { crate::t::g() }\n}\nuse crate::d;\n\
             #[cfg(test)]\n#[path = \"t.rs\"]\nmod t;\nuse crate::e;\n#[cfg(test)]\nmod tests {\n\
             use crate::f;\n}\n"
        ),
        "use a;\nuse crate::d;\nuse crate::e;"
    );
    let list = documented(
        "// Layers, lowest first.\n//\n//   call  -  (why)\n//   wire  call shell\n//         error\n",
    );
    assert_eq!(list[0], ("call".to_owned(), BTreeSet::new()));
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].0, "wire");
    assert_eq!(
        list[1].1.iter().collect::<Vec<_>>(),
        ["call", "error", "shell"]
    );
    let source = "mod a;\n#[cfg(test)]\nmod t;\n#[cfg(any(test, x))]\n#[doc(hidden)]\npub mod b;\n";
    assert_eq!(declared(source), ["a", "b"]);
    let map = reexports("mod a;\npub use error::{Error, Call as C};\npub use request::MAX as M;");
    assert_eq!(map["Error"], "error");
    assert_eq!(map["C"], "error");
    assert_eq!(map["M"], "request");
}
