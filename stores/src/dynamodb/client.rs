//! The DynamoDB HTTP client: `dynamodb://` URLs, one signed `POST /` per
//! call over a pooled ureq agent (blocking; callers run as many threads as
//! they want requests in flight), and retries of what DynamoDB asks to be
//! retried (throttling, 5xx, a dropped connection) with exponential backoff
//! and full jitter (sleep a random time up to `base × 2^attempt`, capped), as
//! the AWS SDKs do.

use std::io::Read as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use decant_record::cli::register_secret;

use super::credentials::{self, Credentials, CredentialsError, Env};
use super::sigv4::{self, SigningKey};

/// A parsed `dynamodb://REGION[?endpoint=URL&profile=NAME]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoUrl {
    /// The region in the URL's host part (`dynamodb://eu-west-1`), if any.
    pub region: Option<String>,
    /// `?endpoint=http://127.0.0.1:8000` for DynamoDB Local, dynalite,
    /// LocalStack or a VPC endpoint.
    pub endpoint: Option<String>,
    /// `?profile=NAME`: the AWS profile to read (over `AWS_PROFILE`).
    pub profile: Option<String>,
}

/// Why a URL or a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DynamoError {
    /// Not a usable `dynamodb://` URL.
    #[error("bad DynamoDB URL {shown}: {reason} (expected dynamodb://REGION or dynamodb://REGION?endpoint=http://HOST:PORT)")]
    BadUrl {
        /// The URL as given (it holds no secrets: credentials never go in it).
        shown: String,
        /// What is wrong.
        reason: String,
    },
    /// No credentials or region.
    #[error("{0}")]
    Credentials(String),
    /// DynamoDB answered with an error.
    #[error("{operation}: {code}: {message}")]
    Service {
        /// The operation (`BatchWriteItem`).
        operation: String,
        /// The HTTP status.
        status: u16,
        /// The error code (`ResourceNotFoundException`).
        code: String,
        /// DynamoDB's message.
        message: String,
    },
    /// The request did not get an answer.
    #[error("{operation}: {endpoint}: {message}")]
    Transport {
        /// The operation.
        operation: String,
        /// The endpoint.
        endpoint: String,
        /// What went wrong.
        message: String,
    },
}

impl DynamoError {
    /// The service error code (`ConditionalCheckFailedException`), if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            DynamoError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True when DynamoDB asks for the call to be retried later.
    pub fn is_retryable(&self) -> bool {
        match self {
            DynamoError::Service { status, code, .. } => {
                *status >= 500
                    || matches!(
                        code.as_str(),
                        "ProvisionedThroughputExceededException"
                            | "ThrottlingException"
                            | "RequestLimitExceeded"
                            | "LimitExceededException"
                            | "InternalServerError"
                            | "ServiceUnavailable"
                            | "TransactionInProgressException"
                    )
            }
            DynamoError::Transport { .. } => true,
            _ => false,
        }
    }
}

impl From<CredentialsError> for DynamoError {
    fn from(e: CredentialsError) -> Self {
        DynamoError::Credentials(e.to_string())
    }
}

impl DynamoUrl {
    /// Parses `dynamodb://REGION?endpoint=…&profile=…` (the region may be
    /// left out: `dynamodb://` or `dynamodb:///?endpoint=…`).
    pub fn parse(text: &str) -> Result<DynamoUrl, DynamoError> {
        let bad = |reason: &str| DynamoError::BadUrl { shown: text.to_owned(), reason: reason.to_owned() };
        let url = url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
        if url.scheme() != "dynamodb" {
            return Err(bad("the scheme is not dynamodb://"));
        }
        if url.password().is_some() || !url.username().is_empty() {
            // Keys in a URL end up in shell history and process lists.
            if let Some(p) = url.password() {
                register_secret(p);
            }
            return Err(bad(
                "credentials do not go in the URL: set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE",
            ));
        }
        let mut out = DynamoUrl {
            region: url.host_str().filter(|h| !h.is_empty()).map(str::to_owned),
            endpoint: None,
            profile: None,
        };
        if !matches!(url.path(), "" | "/") {
            return Err(bad("a DynamoDB URL has no path (tables are chosen with --tables)"));
        }
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "endpoint" => {
                    let e = url::Url::parse(&v).map_err(|e| bad(&format!("endpoint {v:?}: {e}")))?;
                    if !matches!(e.scheme(), "http" | "https") || e.host_str().is_none() {
                        return Err(bad(&format!("endpoint {v:?} is not an http:// or https:// URL")));
                    }
                    out.endpoint = Some(v.trim_end_matches('/').to_owned());
                }
                "profile" => out.profile = Some(v.into_owned()),
                "region" => out.region = Some(v.into_owned()),
                other => return Err(bad(&format!("unknown parameter {other:?} (endpoint, profile, region)"))),
            }
        }
        Ok(out)
    }
}

/// Retry policy: attempts and backoff.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries of one call before its error is returned (1 = no retry).
    pub max_attempts: u32,
    /// The first backoff's ceiling.
    pub base: Duration,
    /// The largest backoff.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 10, base: Duration::from_millis(25), cap: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// The full-jitter sleep before retry number `attempt` (from 0): a
    /// uniformly random time up to `min(cap, base × 2^attempt)`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << attempt.min(20)).min(self.cap);
        Duration::from_nanos(fastrand::u64(0..=ceiling.as_nanos() as u64))
    }
}

/// A DynamoDB client for one region/endpoint. Cheap to share between
/// threads (`&Client`): the agent pools connections.
pub struct Client {
    agent: ureq::Agent,
    endpoint: String,
    host: String,
    region: String,
    credentials: Credentials,
    /// The retry policy of [`Client::call`].
    pub retry: RetryPolicy,
    retries: AtomicU64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Client({} {}, {:?})", self.endpoint, self.region, self.credentials)
    }
}

/// Credentials a local endpoint is signed with when none are configured:
/// DynamoDB Local, dynalite and LocalStack check the signature's form, not
/// the key.
const LOCAL_KEY: (&str, &str) = ("decant-local", "decant-local-secret");

impl Client {
    /// A client for a URL, with credentials and region from the
    /// environment and profile files (see [`credentials`]).
    pub fn connect(url: &DynamoUrl) -> Result<Client, DynamoError> {
        Self::connect_with_env(url, &credentials::process_env)
    }

    /// [`Client::connect`] reading variables through `env`.
    pub fn connect_with_env(url: &DynamoUrl, env: Env<'_>) -> Result<Client, DynamoError> {
        let region = match credentials::find_region(env, url.region.as_deref(), url.profile.as_deref()) {
            Ok(r) => r,
            // A local server ignores the region; sign for a fixed one.
            Err(_) if url.endpoint.is_some() => "us-east-1".to_owned(),
            Err(e) => return Err(e.into()),
        };
        let credentials = match credentials::find_credentials(env, url.profile.as_deref()) {
            Ok(c) => c,
            Err(CredentialsError::Missing) if url.endpoint.is_some() => Credentials {
                access_key_id: LOCAL_KEY.0.into(),
                secret_access_key: LOCAL_KEY.1.into(),
                session_token: None,
                origin: "local placeholder".into(),
            },
            Err(e) => return Err(e.into()),
        };
        let endpoint = url.endpoint.clone().unwrap_or_else(|| format!("https://dynamodb.{region}.amazonaws.com"));
        let parsed = url::Url::parse(&endpoint)
            .map_err(|e| DynamoError::BadUrl { shown: endpoint.clone(), reason: e.to_string() })?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => return Err(DynamoError::BadUrl { shown: endpoint, reason: "no host".into() }),
        };
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .max_idle_connections_per_host(128)
            .build();
        Ok(Client {
            agent,
            endpoint,
            host,
            region,
            credentials,
            retry: RetryPolicy::default(),
            retries: AtomicU64::new(0),
        })
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Where the credentials came from (`environment`, `profile "prod"`).
    pub fn credentials_origin(&self) -> &str {
        &self.credentials.origin
    }

    /// Calls retried so far (throttling, 5xx, dropped connections).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Counts a retry the caller made itself (unprocessed items).
    pub fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Calls `operation` (`Scan`, `BatchWriteItem`…) with a JSON body and
    /// returns the JSON answer, retrying what DynamoDB asks to be retried.
    pub fn call(&self, operation: &str, body: &[u8]) -> Result<Vec<u8>, DynamoError> {
        let mut attempt = 0;
        loop {
            match self.call_once(operation, body) {
                Err(e) if e.is_retryable() && attempt + 1 < self.retry.max_attempts => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(self.retry.backoff(attempt));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One signed request, no retry.
    pub fn call_once(&self, operation: &str, body: &[u8]) -> Result<Vec<u8>, DynamoError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let amz_date = sigv4::amz_date(now);
        let target = format!("DynamoDB_20120810.{operation}");
        let content_type = "application/x-amz-json-1.0";
        let mut headers: Vec<(&str, &str)> = vec![
            ("content-type", content_type),
            ("host", &self.host),
            ("x-amz-date", &amz_date),
            ("x-amz-target", &target),
        ];
        if let Some(token) = &self.credentials.session_token {
            headers.push(("x-amz-security-token", token));
        }
        let key = SigningKey {
            access_key_id: &self.credentials.access_key_id,
            secret_access_key: &self.credentials.secret_access_key,
            region: &self.region,
            service: sigv4::SERVICE,
        };
        let auth = sigv4::authorization(&key, "POST", "/", "", &headers, &sigv4::payload_hash(body), &amz_date);
        let mut request = self.agent.post(&format!("{}/", self.endpoint));
        for (name, value) in headers.iter().filter(|(n, _)| *n != "host") {
            request = request.set(name, value);
        }
        request = request.set("authorization", &auth);
        let transport = |message: String| DynamoError::Transport {
            operation: operation.to_owned(),
            endpoint: self.endpoint.clone(),
            message,
        };
        let read = |response: ureq::Response| -> Result<Vec<u8>, DynamoError> {
            let mut buf = Vec::with_capacity(64 << 10);
            response.into_reader().read_to_end(&mut buf).map_err(|e| transport(format!("reading the answer: {e}")))?;
            Ok(buf)
        };
        match request.send_bytes(body) {
            Ok(response) => read(response),
            Err(ureq::Error::Status(status, response)) => {
                let text = read(response).unwrap_or_default();
                Err(service_error(operation, status, &text))
            }
            Err(ureq::Error::Transport(t)) => Err(transport(t.to_string())),
        }
    }
}

/// Reads DynamoDB's error body: `{"__type":"com.amazonaws…#Code","message":"…"}`.
fn service_error(operation: &str, status: u16, body: &[u8]) -> DynamoError {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(rename = "__type", default)]
        kind: String,
        #[serde(default, alias = "Message")]
        message: String,
    }
    let parsed: Option<Body> = serde_json::from_slice(body).ok();
    let (code, message) = match parsed {
        Some(b) => (b.kind.rsplit('#').next().unwrap_or_default().to_owned(), b.message),
        None => (format!("HTTP {status}"), String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()),
    };
    DynamoError::Service { operation: operation.to_owned(), status, code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = DynamoUrl::parse("dynamodb://eu-west-1").unwrap();
        assert_eq!((u.region.as_deref(), u.endpoint), (Some("eu-west-1"), None));
        let u = DynamoUrl::parse("dynamodb://us-east-1?endpoint=http://127.0.0.1:8000/").unwrap();
        assert_eq!(u.endpoint.as_deref(), Some("http://127.0.0.1:8000"));
        let u = DynamoUrl::parse("dynamodb://?endpoint=http://localhost:4566&profile=dev").unwrap();
        assert_eq!((u.region, u.profile.as_deref()), (None, Some("dev")));
        for bad in [
            "mysql://x",
            "dynamodb://r/table",
            "dynamodb://r?endpoint=ftp://x",
            "dynamodb://r?tables=x",
            "dynamodb://AKID:s3cr3tkey@us-east-1",
        ] {
            let e = DynamoUrl::parse(bad).unwrap_err().to_string();
            // The error may show the URL, but every message is redacted.
            assert!(!decant_record::cli::redact(&e).contains("s3cr3tkey"), "{e}");
        }
    }

    #[test]
    fn backoff_is_full_jitter_under_a_growing_cap() {
        let p = RetryPolicy { max_attempts: 5, base: Duration::from_millis(10), cap: Duration::from_millis(100) };
        for attempt in 0..10 {
            let ceiling = Duration::from_millis(10 * (1 << attempt.min(4))).min(p.cap);
            for _ in 0..50 {
                assert!(p.backoff(attempt) <= ceiling);
            }
        }
    }

    #[test]
    fn error_bodies() {
        let e = service_error(
            "PutItem",
            400,
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#,
        );
        assert_eq!(e.code(), Some("ConditionalCheckFailedException"));
        assert!(!e.is_retryable());
        let e = service_error(
            "Scan",
            400,
            br#"{"__type":"x#ProvisionedThroughputExceededException","Message":"slow down"}"#,
        );
        assert!(e.is_retryable());
        assert!(e.to_string().contains("slow down"));
        assert!(service_error("Scan", 503, b"<html>").is_retryable());
    }
}
