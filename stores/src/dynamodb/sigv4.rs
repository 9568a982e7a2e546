//! AWS Signature Version 4 for DynamoDB's JSON protocol (one `POST /` per
//! call), written from the published algorithm
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>):
//!
//! 1. a canonical request: method, path, query, the signed headers (lower
//!    case, sorted, `name:value` lines), their names, the body's SHA-256;
//! 2. a string to sign: `AWS4-HMAC-SHA256`, the time, the credential scope
//!    (`date/region/service/aws4_request`), the canonical request's SHA-256;
//! 3. the signing key: HMAC-SHA256 chained over `AWS4`+secret, the date, the
//!    region, the service and `aws4_request`;
//! 4. the `Authorization` header with the key id, the scope, the signed
//!    header names and the hex signature.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The service name DynamoDB is signed for.
pub const SERVICE: &str = "dynamodb";

/// What a request is signed with.
#[derive(Clone)]
pub struct SigningKey<'a> {
    /// The access key id (`AKIA…`, not secret).
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a str,
    /// The region (`us-east-1`).
    pub region: &'a str,
    /// The service (`dynamodb`).
    pub service: &'a str,
}

impl std::fmt::Debug for SigningKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a message, not even a debug print.
        write!(f, "SigningKey({}, {}, {})", self.access_key_id, self.region, self.service)
    }
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length: new_from_slice cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The hex SHA-256 of a body (the `x-amz-content-sha256` value).
pub fn payload_hash(body: &[u8]) -> String {
    hex(&Sha256::digest(body))
}

/// `20150830T123600Z` for a Unix time in seconds.
pub fn amz_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let (y, m, d) = decant_record::time::civil_from_days(days);
    let rem = unix_secs % 86_400;
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// The `Authorization` header value for a request. `headers` are the
/// headers to sign as `(name, value)`; names in any case (they are signed
/// lower case, sorted), values trimmed. `amz_date` is the `x-amz-date`
/// header's value (which `headers` must hold too).
pub fn authorization(
    key: &SigningKey<'_>,
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    payload_sha256: &str,
    amz_date: &str,
) -> String {
    let mut signed: Vec<(String, &str)> = headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.trim())).collect();
    signed.sort();
    let mut canonical = format!("{method}\n{path}\n{query}\n");
    for (name, value) in &signed {
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(value);
        canonical.push('\n');
    }
    let names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
    let names = names.join(";");
    canonical.push('\n');
    canonical.push_str(&names);
    canonical.push('\n');
    canonical.push_str(payload_sha256);

    let date = &amz_date[..8.min(amz_date.len())];
    let scope = format!("{date}/{}/{}/aws4_request", key.region, key.service);
    let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex(&Sha256::digest(canonical.as_bytes())));

    let k_date = hmac(format!("AWS4{}", key.secret_access_key).as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, key.region.as_bytes());
    let k_service = hmac(&k_region, key.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex(&hmac(&k_signing, to_sign.as_bytes()));
    format!("AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={names}, Signature={signature}", key.access_key_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    #[test]
    fn get_vanilla_from_the_aws_sigv4_test_suite() {
        // aws-sig-v4-test-suite/get-vanilla: GET / on example.amazonaws.com.
        let key = SigningKey {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: SECRET,
            region: "us-east-1",
            service: "service",
        };
        let auth = authorization(
            &key,
            "GET",
            "/",
            "",
            &[("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            &payload_hash(b""),
            "20150830T123600Z",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn amz_date_is_utc_basic_format() {
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(0), "19700101T000000Z");
    }
}
