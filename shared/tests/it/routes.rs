//! One routes table: `template.yaml` (what AWS serves), the cargo-lambda
//! router in `Cargo.toml` (what `cargo lambda watch` serves) and the local
//! API's table must name the same methods, paths and functions.

use pictures::http::{FUNCTIONS, ROUTES};
use std::collections::BTreeSet;
use std::path::Path;

type Routes = BTreeSet<(String, String, String)>;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn table() -> Routes {
    ROUTES
        .iter()
        .map(|r| (r.method.into(), r.path.into(), r.function.into()))
        .collect()
}

#[test]
fn template_yaml_matches() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut routes = Routes::new();
    let mut functions = BTreeSet::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("each function names its binary");
        functions.insert(binary.to_string());
        for (_, event) in resource["Properties"]["Events"].as_mapping().unwrap() {
            if event["Type"] != "HttpApi" {
                // tag-image: fed by SQS and a schedule.
                assert_eq!(binary, "tag-image");
                continue;
            }
            let method = event["Properties"]["Method"]
                .as_str()
                .unwrap()
                .to_uppercase();
            let path = event["Properties"]["Path"].as_str().unwrap().to_string();
            routes.insert((method, path, binary.to_string()));
        }
    }
    assert_eq!(routes, table());
    let mut expected: BTreeSet<String> = FUNCTIONS.iter().map(|f| f.to_string()).collect();
    expected.insert("tag-image".into());
    assert_eq!(functions, expected);
}

#[test]
fn cargo_lambda_router_matches() {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&text).unwrap();
    let router = &manifest["workspace"]["metadata"]["lambda"]["watch"]["router"];
    let mut routes = Routes::new();
    for (path, entries) in router.as_table().unwrap() {
        for entry in entries.as_array().unwrap() {
            routes.insert((
                entry["method"].as_str().unwrap().into(),
                path.clone(),
                entry["function"].as_str().unwrap().into(),
            ));
        }
    }
    assert_eq!(routes, table());
}

#[test]
fn every_function_has_a_crate_and_events() {
    for f in FUNCTIONS {
        let dir = root().join("functions").join(f);
        assert!(dir.join("Cargo.toml").is_file(), "{f} crate");
        let events = std::fs::read_dir(dir.join("events")).unwrap().count();
        assert!(events > 0, "{f} has event fixtures");
    }
}

/// Least privilege: each function may do to the bucket only what its
/// routes need, never with a wildcard action; get-tags and colors have no
/// bucket access at all.
#[test]
fn each_function_has_only_the_access_it_needs() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let bucket =
        |actions: &[&str]| -> BTreeSet<String> { actions.iter().map(|a| a.to_string()).collect() };
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        let actions: BTreeSet<String> = resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default())
            .flat_map(|s| s["Action"].as_sequence().cloned().unwrap_or_default())
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        let expected = match binary {
            "post-image" | "tag-image" => {
                bucket(&["s3:PutObject", "s3:GetObject", "s3:DeleteObject"])
            }
            "get-images" => bucket(&["s3:GetObject"]),
            "get-image" => bucket(&["s3:GetObject", "s3:PutObject", "s3:ListBucket"]),
            "manage-images" | "accounts" => bucket(&["s3:DeleteObject", "s3:ListBucket"]),
            "uploads" => bucket(&["s3:PutObject"]),
            "get-tags" | "colors" | "web" => bucket(&[]),
            other => panic!("{other} has no expected access"),
        };
        assert_eq!(actions, expected, "{binary}");
        assert!(
            !actions.iter().any(|a| a.contains('*')),
            "{binary}: no wildcard actions"
        );
    }
}
