//! Checks a value against the description: the subset of JSON Schema it
//! uses, and a whole answer (status, headers, content type, body).

use pictures::http::OPENAPI_YAML;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub(super) fn spec() -> Value {
    serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml parses")
}

pub(super) fn resolve<'a>(spec: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(reference) = node["$ref"].as_str() {
        let pointer = reference.strip_prefix('#').expect("local references only");
        node = spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{reference} resolves"));
    }
    node
}

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("type {other} not handled"),
    }
}

/// The subset of JSON Schema the description uses: type (one or a list),
/// enum, required, properties, additionalProperties, items, prefixItems,
/// min/maxItems, minimum, maximum, min/maxLength, allOf, anyOf, oneOf and
/// not. (Patterns are left to schemathesis.)
pub(super) fn check(spec: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(spec, schema);
    if schema.is_null() {
        return Ok(());
    }
    match &schema["type"] {
        Value::Null => {}
        Value::String(kind) if type_matches(kind, value) => {}
        Value::Array(kinds)
            if kinds
                .iter()
                .any(|k| type_matches(k.as_str().unwrap(), value)) => {}
        kind => return Err(format!("{at}: {value} is not of type {kind}")),
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Some(x) = value.as_f64().filter(|_| value.is_number()) {
        if let Some(min) = schema["minimum"].as_f64()
            && x < min
        {
            return Err(format!("{at}: {value} < {min}"));
        }
        if let Some(max) = schema["maximum"].as_f64()
            && x > max
        {
            return Err(format!("{at}: {value} > {max}"));
        }
    }
    if let Some(s) = value.as_str() {
        let n = s.chars().count() as u64;
        if n < schema["minLength"].as_u64().unwrap_or(0) {
            return Err(format!("{at}: {value} is too short"));
        }
        if n > schema["maxLength"].as_u64().unwrap_or(u64::MAX) {
            return Err(format!("{at}: {value} is too long"));
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("{at}: `{name}` is missing from {value}"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, v) in object {
            let at = format!("{at}.{name}");
            match (
                properties.and_then(|p| p.get(name)),
                &schema["additionalProperties"],
            ) {
                (Some(property), _) => check(spec, property, v, &at)?,
                (None, Value::Bool(false)) => return Err(format!("{at} is not documented")),
                (None, additional) => check(spec, additional, v, &at)?,
            }
        }
    }
    if let Some(items) = value.as_array() {
        if items.len() as u64 > schema["maxItems"].as_u64().unwrap_or(u64::MAX) {
            return Err(format!("{at}: too many items"));
        }
        if (items.len() as u64) < schema["minItems"].as_u64().unwrap_or(0) {
            return Err(format!("{at}: too few items"));
        }
        let prefix = schema["prefixItems"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            let item_schema = prefix.get(i).unwrap_or(&schema["items"]);
            check(spec, item_schema, item, &format!("{at}[{i}]"))?;
        }
    }
    for sub in schema["allOf"].as_array().into_iter().flatten() {
        check(spec, sub, value, at)?;
    }
    if let Some(options) = schema["anyOf"].as_array()
        && !options.iter().any(|o| check(spec, o, value, at).is_ok())
    {
        return Err(format!("{at}: {value} matches none of anyOf"));
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let errors: Vec<String> = options
            .iter()
            .filter_map(|o| check(spec, o, value, at).err())
            .collect();
        if options.len() - errors.len() != 1 {
            return Err(format!(
                "{at}: {value} matches {} of oneOf: {errors:?}",
                options.len() - errors.len()
            ));
        }
    }
    if !schema["not"].is_null() && check(spec, &schema["not"], value, at).is_ok() {
        return Err(format!("{at}: {value} matches what `not` excludes"));
    }
    Ok(())
}

/// Checks one answer against a documented response: the required headers,
/// a documented content type, and the body: against the schema (JSON),
/// a file of its type (images), or none where no content is documented.
/// The JSON body, or `Null`.
pub(super) fn check_response(
    spec: &Value,
    documented: &Value,
    headers: &HeaderMap,
    bytes: &[u8],
    at: &str,
) -> Value {
    let documented = resolve(spec, documented);
    for (name, header) in documented["headers"].as_object().into_iter().flatten() {
        if resolve(spec, header)["required"] == true {
            assert!(
                headers.contains_key(name.to_ascii_lowercase().as_str()),
                "{at}: no {name} header"
            );
        }
    }
    let Some(content) = documented["content"].as_object() else {
        assert!(bytes.is_empty(), "{at}: a body where none is documented");
        return Value::Null;
    };
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap()
        .trim()
        .to_ascii_lowercase();
    let (_, media) = content
        .iter()
        .find(|(documented, _)| {
            **documented == essence
                || documented
                    .strip_suffix("/*")
                    .is_some_and(|main| essence.starts_with(&format!("{main}/")))
        })
        .unwrap_or_else(|| {
            panic!(
                "{at}: {content_type:?} is not documented ({:?})",
                content.keys()
            )
        });
    if essence == "application/json" {
        let body: Value = serde_json::from_slice(bytes)
            .unwrap_or_else(|e| panic!("{at}: not JSON ({e}): {}", String::from_utf8_lossy(bytes)));
        if let Err(e) = check(spec, &media["schema"], &body, at) {
            panic!("{e}");
        }
        return body;
    }
    assert!(!bytes.is_empty(), "{at}: an empty {essence} body");
    match essence.as_str() {
        "image/png" => assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{at}: not a PNG"),
        "image/jpeg" => assert!(bytes.starts_with(b"\xff\xd8\xff"), "{at}: not a JPEG"),
        "text/html" => assert!(
            String::from_utf8_lossy(bytes).contains("<html"),
            "{at}: not HTML"
        ),
        _ => {}
    }
    Value::Null
}

/// Checks one real response against the operation `method path`; returns
/// its status, headers and JSON body (`Null` when not JSON).
pub(super) async fn conforms(
    spec: &Value,
    method: &str,
    path: &str,
    response: reqwest::Response,
) -> (u16, HeaderMap, Value) {
    let status = response.status().as_u16();
    let operation = &spec["paths"][path][method];
    assert!(operation.is_object(), "{method} {path} is documented");
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let documented = resolve(spec, &operation["responses"][status.to_string()]);
    assert!(
        documented.is_object(),
        "{method} {path}: status {status} is not documented: {}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(400)])
    );
    let at = format!("{method} {path} {status}");
    let body = check_response(spec, documented, &headers, &bytes, &at);
    (status, headers, body)
}
