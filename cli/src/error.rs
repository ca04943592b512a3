//! Every way a command can fail, each printed as one line.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// The server answered with an error: its `{"error", "message", "detail"?}`.
    Api {
        status: u16,
        code: String,
        message: String,
        detail: Option<String>,
    },
    /// The server could not be reached (`connect`), or the exchange broke.
    Transport {
        url: String,
        reason: String,
        connect: bool,
    },
    /// Something on this side: a bad argument, a file that cannot be read.
    Local { code: &'static str, message: String },
}

impl Error {
    pub fn local(code: &'static str, message: impl Into<String>) -> Self {
        Error::Local {
            code,
            message: message.into(),
        }
    }

    pub fn io(path: &std::path::Path, e: &std::io::Error) -> Self {
        Error::local("io_error", format!("{}: {e}", path.display()))
    }

    pub fn code(&self) -> &str {
        match self {
            Error::Api { code, .. } => code,
            Error::Transport { connect: true, .. } => "unreachable",
            Error::Transport { .. } => "transport_error",
            Error::Local { code, .. } => code,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The message alone (for a summary line beside a file name).
    pub fn message(&self) -> String {
        match self {
            Error::Api {
                message, detail, ..
            } => match detail {
                Some(d) if !d.is_empty() => format!("{message} ({d})"),
                _ => message.clone(),
            },
            Error::Transport {
                url,
                reason,
                connect: true,
            } => format!("cannot reach {url}: {reason}"),
            Error::Transport { url, reason, .. } => format!("request to {url} failed: {reason}"),
            Error::Local { message, .. } => message.clone(),
        }
    }

    /// Errors that every following request would meet as well: an import
    /// stops at the first of them instead of failing each file alike.
    pub fn is_fatal(&self) -> bool {
        match self {
            Error::Api { status, .. } => matches!(status, 401 | 403),
            Error::Transport { connect, .. } => *connect,
            Error::Local { .. } => false,
        }
    }

    /// The error as `--json` prints it on stdout.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({ "error": self.code(), "message": self.message() });
        if let Error::Api {
            status,
            message,
            detail,
            ..
        } = self
        {
            v["message"] = message.clone().into();
            if let Some(d) = detail {
                v["detail"] = d.clone().into();
            }
            v["status"] = (*status).into();
        }
        v
    }

    /// From reqwest's error: its chain of causes on one line, never a debug dump.
    pub fn transport(url: &str, e: &reqwest::Error) -> Self {
        let mut reason = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(e);
        let mut last = String::new();
        while let Some(s) = source {
            let text = s.to_string();
            // reqwest's outer text repeats the URL and hyper's says only
            // "client error (Connect)": the causes below them say why.
            let wrapper =
                text.starts_with("error sending request") || text.starts_with("client error (");
            if !wrapper && !text.is_empty() && text != last {
                if !reason.is_empty() {
                    reason.push_str(": ");
                }
                reason.push_str(&text);
                last = text;
            }
            source = s.source();
        }
        if e.is_timeout() && !reason.contains("timed out") {
            reason = format!("timed out ({reason})");
        }
        if reason.is_empty() {
            reason = "the request failed".into();
        }
        Error::Transport {
            url: url.to_string(),
            reason,
            connect: e.is_connect(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api { status, code, .. } => {
                write!(f, "{} (HTTP {status} {code})", self.message())
            }
            _ => f.write_str(&self.message()),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
