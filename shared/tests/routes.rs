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
            assert_eq!(event["Type"], "HttpApi");
            let method = event["Properties"]["Method"]
                .as_str()
                .unwrap()
                .to_uppercase();
            let path = event["Properties"]["Path"].as_str().unwrap().to_string();
            routes.insert((method, path, binary.to_string()));
        }
    }
    assert_eq!(routes, table());
    assert_eq!(functions, FUNCTIONS.iter().map(|f| f.to_string()).collect());
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

/// Least privilege: only post-image may write to the bucket; get-tags has no
/// bucket access at all.
#[test]
fn read_only_functions_cannot_write() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        let actions: Vec<String> = resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default())
            .flat_map(|s| s["Action"].as_sequence().cloned().unwrap_or_default())
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        match binary {
            "post-image" => assert!(actions.contains(&"s3:PutObject".to_string()), "{actions:?}"),
            "get-tags" => assert!(actions.is_empty(), "{actions:?}"),
            _ => assert_eq!(actions, ["s3:GetObject"], "{binary}"),
        }
        assert!(
            !actions.iter().any(|a| a.contains('*')),
            "{binary}: no wildcard actions"
        );
    }
}
