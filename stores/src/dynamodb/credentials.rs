//! AWS credentials and region, found the way the AWS CLI and SDKs find them:
//!
//! 1. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`);
//! 2. the profile `AWS_PROFILE` (else `default`, or the URL's `?profile=`) in
//!    the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
//!    `~/.aws/credentials`, section `[name]`) and the config file
//!    (`AWS_CONFIG_FILE`, else `~/.aws/config`, section `[profile name]` or
//!    `[default]`), keys `aws_access_key_id`, `aws_secret_access_key`,
//!    `aws_session_token`.
//!
//! The region: the URL's (`dynamodb://eu-west-1`), else `AWS_REGION`, else
//! `AWS_DEFAULT_REGION`, else the profile's `region`.
//!
//! Every secret found is registered with [`decant_record::cli::register_secret`]
//! so no message ever shows it. Not supported (an error says so): SSO,
//! `credential_process`, web identity and instance metadata credentials.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use decant_record::cli::register_secret;

/// Credentials to sign requests with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (not secret).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
    /// Where they came from, for messages (`environment`, `profile "prod"`).
    pub origin: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({} from {}, secret ***)", self.access_key_id, self.origin)
    }
}

/// Why no credentials or region could be found.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Nothing found anywhere.
    #[error(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in \
         ~/.aws/credentials or ~/.aws/config (SSO, credential_process and instance roles are not supported)"
    )]
    Missing,
    /// The profile names a kind of credentials this client does not read.
    #[error("AWS profile {profile:?} uses {what}, which decant does not support: export AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (e.g. from `aws configure export-credentials --format env`)")]
    Unsupported {
        /// The profile.
        profile: String,
        /// What it uses (`sso_session`, `credential_process`, …).
        what: String,
    },
    /// A profile has a key id without a secret or the reverse.
    #[error("AWS profile {0:?} has aws_access_key_id or aws_secret_access_key but not both")]
    Incomplete(String),
    /// No region.
    #[error("no AWS region: put it in the URL (dynamodb://us-east-1), or set AWS_REGION or AWS_DEFAULT_REGION")]
    NoRegion,
}

/// Reads environment variables; a function so tests need not change the
/// process environment.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, empty values counted as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn home_file(env: Env<'_>, var: &str, default: &str) -> Option<PathBuf> {
    if let Some(p) = env(var) {
        return Some(PathBuf::from(p));
    }
    env("HOME").map(|h| Path::new(&h).join(".aws").join(default))
}

/// The sections of an INI file: `[name]` → key → value.
fn parse_ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            out.entry(name.clone()).or_default();
            section = Some(name);
            continue;
        }
        if let (Some(s), Some((k, v))) = (&section, line.split_once('=')) {
            out.entry(s.clone()).or_default().insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    out
}

fn read_ini(path: Option<PathBuf>) -> HashMap<String, HashMap<String, String>> {
    path.and_then(|p| std::fs::read_to_string(p).ok()).map(|t| parse_ini(&t)).unwrap_or_default()
}

/// The profile's settings: the credentials file's `[name]` over the config
/// file's `[profile name]` (`[default]` for the default profile).
fn profile_settings(env: Env<'_>, profile: &str) -> HashMap<String, String> {
    let config = read_ini(home_file(env, "AWS_CONFIG_FILE", "config"));
    let credentials = read_ini(home_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials"));
    let mut settings = HashMap::new();
    let config_name = if profile == "default" { "default".to_owned() } else { format!("profile {profile}") };
    if let Some(s) = config.get(&config_name).or_else(|| config.get(profile)) {
        settings.extend(s.clone());
    }
    if let Some(s) = credentials.get(profile) {
        settings.extend(s.clone());
    }
    settings
}

/// The profile to read: the URL's, else `AWS_PROFILE`, else `default`.
fn profile_name(env: Env<'_>, url_profile: Option<&str>) -> String {
    url_profile.map(str::to_owned).or_else(|| env("AWS_PROFILE")).unwrap_or_else(|| "default".into())
}

/// Finds credentials along the chain (see the module's doc).
pub fn find_credentials(env: Env<'_>, url_profile: Option<&str>) -> Result<Credentials, CredentialsError> {
    let found = if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        Credentials {
            access_key_id: id,
            secret_access_key: secret,
            session_token: env("AWS_SESSION_TOKEN"),
            origin: "environment".into(),
        }
    } else {
        let profile = profile_name(env, url_profile);
        let settings = profile_settings(env, &profile);
        match (settings.get("aws_access_key_id"), settings.get("aws_secret_access_key")) {
            (Some(id), Some(secret)) => Credentials {
                access_key_id: id.clone(),
                secret_access_key: secret.clone(),
                session_token: settings.get("aws_session_token").cloned(),
                origin: format!("profile {profile:?}"),
            },
            (Some(_), None) | (None, Some(_)) => return Err(CredentialsError::Incomplete(profile)),
            (None, None) => {
                let unsupported =
                    ["sso_session", "sso_start_url", "credential_process", "role_arn", "web_identity_token_file"];
                if let Some(what) = unsupported.iter().find(|k| settings.contains_key(**k)) {
                    return Err(CredentialsError::Unsupported { profile, what: (*what).to_owned() });
                }
                return Err(CredentialsError::Missing);
            }
        }
    };
    register_secret(&found.secret_access_key);
    if let Some(token) = &found.session_token {
        register_secret(token);
    }
    Ok(found)
}

/// Finds the region: the URL's, else `AWS_REGION`, `AWS_DEFAULT_REGION`,
/// the profile's `region`.
pub fn find_region(
    env: Env<'_>,
    url_region: Option<&str>,
    url_profile: Option<&str>,
) -> Result<String, CredentialsError> {
    if let Some(r) = url_region.filter(|r| !r.is_empty()) {
        return Ok(r.to_owned());
    }
    if let Some(r) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
        return Ok(r);
    }
    profile_settings(env, &profile_name(env, url_profile)).remove("region").ok_or(CredentialsError::NoRegion)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of<'a>(vars: &'a [(&'a str, String)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn environment_first_then_profiles() {
        let dir = std::env::temp_dir().join(format!("decant-aws-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let creds = dir.join("credentials");
        let config = dir.join("config");
        std::fs::write(&creds, "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s3cretdefault\n\n[prod]\naws_access_key_id=AKIDPROD\naws_secret_access_key=s3cretprod\naws_session_token = tok3n\n").unwrap();
        std::fs::write(
            &config,
            "[default]\nregion = eu-west-1\n[profile prod]\nregion = ap-south-1\n[profile sso]\nsso_session = corp\n",
        )
        .unwrap();
        let files = vec![
            ("AWS_SHARED_CREDENTIALS_FILE", creds.display().to_string()),
            ("AWS_CONFIG_FILE", config.display().to_string()),
        ];

        let env = env_of(&files);
        let c = find_credentials(&env, None).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.session_token), ("AKIDDEFAULT", None));
        assert_eq!(find_region(&env, None, None).unwrap(), "eu-west-1");
        assert_eq!(find_region(&env, Some("us-east-2"), None).unwrap(), "us-east-2");

        let mut vars = files.clone();
        vars.push(("AWS_PROFILE", "prod".into()));
        let env = env_of(&vars);
        let c = find_credentials(&env, None).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.session_token.as_deref()), ("AKIDPROD", Some("tok3n")));
        assert_eq!(find_region(&env, None, None).unwrap(), "ap-south-1");
        assert!(!format!("{c:?}").contains("s3cretprod"));

        let mut vars = vars.clone();
        vars.push(("AWS_ACCESS_KEY_ID", "AKIDENV".into()));
        vars.push(("AWS_SECRET_ACCESS_KEY", "s3cretenv".into()));
        vars.push(("AWS_REGION", "us-west-2".into()));
        let env = env_of(&vars);
        assert_eq!(find_credentials(&env, None).unwrap().access_key_id, "AKIDENV");
        assert_eq!(find_region(&env, None, None).unwrap(), "us-west-2");

        let env = env_of(&files);
        let err = find_credentials(&env, Some("sso")).unwrap_err().to_string();
        assert!(err.contains("sso_session"), "{err}");
        let none: Vec<(&str, String)> = vec![("HOME", dir.join("nowhere").display().to_string())];
        assert!(matches!(find_credentials(&env_of(&none), None), Err(CredentialsError::Missing)));
        assert!(matches!(find_region(&env_of(&none), None, None), Err(CredentialsError::NoRegion)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
