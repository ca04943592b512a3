//! Where the server and the key come from: the command line, else the
//! environment, else the config file, else the defaults.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";
pub const URL_VAR: &str = "PICTURES_URL";
pub const KEY_VAR: &str = "PICTURES_API_KEY";

/// `config.toml`: `url = "..."` and `api_key = "..."`; other keys are ignored.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct ConfigFile {
    pub url: Option<String>,
    pub api_key: Option<String>,
}

/// What the commands use.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub url: String,
    pub api_key: Option<String>,
}

/// `$XDG_CONFIG_HOME/pictures/config.toml`, else `~/.config/pictures/config.toml`.
pub fn config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    // The XDG base directory spec: a relative XDG_CONFIG_HOME is invalid, ignored.
    if let Some(xdg) = set("XDG_CONFIG_HOME").filter(|v| Path::new(v).is_absolute()) {
        return Some(Path::new(&xdg).join("pictures/config.toml"));
    }
    set("HOME").map(|home| Path::new(&home).join(".config/pictures/config.toml"))
}

/// The file's two keys; no file is no keys.
pub fn load(path: &Path) -> Result<ConfigFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            parse(&text).map_err(|e| Error::local("bad_config", format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(Error::io(path, &e)),
    }
}

pub fn parse(text: &str) -> Result<ConfigFile, String> {
    toml::from_str(text).map_err(|e| e.message().trim().to_string())
}

/// `flag`, else the environment, else the file (read only when needed: a
/// broken file does not matter when the command line says everything).
pub fn resolve(
    url_flag: Option<&str>,
    key_flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    file: impl FnOnce() -> Result<ConfigFile>,
) -> Result<Settings> {
    let non_empty = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let mut url = non_empty(url_flag.map(str::to_string)).or_else(|| non_empty(env(URL_VAR)));
    let mut key = non_empty(key_flag.map(str::to_string)).or_else(|| non_empty(env(KEY_VAR)));
    if url.is_none() || key.is_none() {
        let f = file()?;
        url = url.or(non_empty(f.url));
        key = key.or(non_empty(f.api_key));
    }
    let url = normalise_url(url.as_deref().unwrap_or(DEFAULT_URL))?;
    Ok(Settings {
        url,
        api_key: key.map(|k| k.trim().to_string()),
    })
}

/// `http(s)://...` without a trailing slash; a bare `host:port` gets `http://`.
pub fn normalise_url(url: &str) -> Result<String> {
    let url = url.trim();
    let url = if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    };
    let parsed = reqwest::Url::parse(&url)
        .map_err(|e| Error::local("bad_url", format!("{url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::local(
            "bad_url",
            format!("{url:?}: the server URL must be http:// or https:// with a host"),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::local(
            "bad_url",
            format!("{url:?}: the server URL takes no query or fragment"),
        ));
    }
    Ok(url.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn file(url: Option<&str>, key: Option<&str>) -> impl FnOnce() -> Result<ConfigFile> {
        let f = ConfigFile {
            url: url.map(Into::into),
            api_key: key.map(Into::into),
        };
        move || Ok(f)
    }

    /// A file with both keys.
    fn full_file() -> impl FnOnce() -> Result<ConfigFile> {
        file(Some("http://file:3"), Some("file-key"))
    }

    #[test]
    fn flags_win_over_environment_and_file() {
        let e = env(&[(URL_VAR, "http://env:1"), (KEY_VAR, "env-key")]);
        let s = resolve(Some("http://flag:2/"), Some("flag-key"), &e, full_file()).unwrap();
        assert_eq!(s.url, "http://flag:2");
        assert_eq!(s.api_key.as_deref(), Some("flag-key"));
    }

    #[test]
    fn environment_wins_over_file() {
        let e = env(&[(URL_VAR, "https://env.example/prod/"), (KEY_VAR, "env-key")]);
        let s = resolve(None, None, &e, full_file()).unwrap();
        assert_eq!(s.url, "https://env.example/prod");
        assert_eq!(s.api_key.as_deref(), Some("env-key"));
    }

    #[test]
    fn file_fills_what_is_missing_each_key_on_its_own() {
        let e = env(&[(KEY_VAR, "env-key")]);
        let s = resolve(None, None, &e, full_file()).unwrap();
        assert_eq!(s.url, "http://file:3");
        assert_eq!(s.api_key.as_deref(), Some("env-key"));
        let s = resolve(
            Some("http://flag:2"),
            None,
            &env(&[]),
            file(None, Some("file-key")),
        )
        .unwrap();
        assert_eq!(s.url, "http://flag:2");
        assert_eq!(s.api_key.as_deref(), Some("file-key"));
    }

    #[test]
    fn defaults_when_nothing_is_set_and_empty_values_count_as_unset() {
        let e = env(&[(URL_VAR, ""), (KEY_VAR, "  ")]);
        let s = resolve(None, Some(""), &e, file(None, None)).unwrap();
        assert_eq!(s.url, DEFAULT_URL);
        assert_eq!(s.api_key, None);
    }

    #[test]
    fn the_file_is_not_read_when_the_command_line_says_everything() {
        let broken = || -> Result<ConfigFile> { Err(Error::local("bad_config", "broken")) };
        let s = resolve(Some("http://a:1"), Some("k"), &env(&[]), broken).unwrap();
        assert_eq!(s.url, "http://a:1");
        assert!(resolve(Some("http://a:1"), None, &env(&[]), broken).is_err());
    }

    #[test]
    fn urls_are_checked_and_normalised() {
        assert_eq!(
            normalise_url("localhost:8080").unwrap(),
            "http://localhost:8080"
        );
        assert_eq!(
            normalise_url("https://x.example/stage/").unwrap(),
            "https://x.example/stage"
        );
        assert!(normalise_url("ftp://x.example").is_err());
        assert!(normalise_url("http://x.example/?a=1").is_err());
        assert!(normalise_url("http://").is_err());
    }

    #[test]
    fn config_file_location() {
        let p = config_path(&env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]));
        assert_eq!(p.unwrap(), Path::new("/x/pictures/config.toml"));
        let p = config_path(&env(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/h")]));
        assert_eq!(p.unwrap(), Path::new("/h/.config/pictures/config.toml"));
        let p = config_path(&env(&[("HOME", "/h")]));
        assert_eq!(p.unwrap(), Path::new("/h/.config/pictures/config.toml"));
        assert_eq!(config_path(&env(&[])), None);
    }

    #[test]
    fn config_file_syntax() {
        let f = parse("# mine\nurl = \"http://h:1\"\napi_key = \"k\"\nother = 3\n").unwrap();
        assert_eq!(f.url.as_deref(), Some("http://h:1"));
        assert_eq!(f.api_key.as_deref(), Some("k"));
        assert_eq!(parse("").unwrap(), ConfigFile::default());
        let e = parse("url = ").unwrap_err();
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn config_files_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(load(&path).unwrap(), ConfigFile::default());
        std::fs::write(&path, "api_key = 'from-file'\n").unwrap();
        assert_eq!(load(&path).unwrap().api_key.as_deref(), Some("from-file"));
        std::fs::write(&path, "api_key = \n").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("config.toml"), "{e}");
    }
}
