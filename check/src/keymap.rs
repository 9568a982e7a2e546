//! `--key-map`: ID transformations applied to the left side before keying,
//! for stores whose IDs differ by a rule (`apikey:{id}` in Redis is
//! `key:{id}` in the copy; `42` in MySQL is `"u-42"` in the new service).
//!
//! Syntax: `FROM=TO` maps Redis keys; `TABLE.COLUMN@FROM=TO` maps a column's
//! value (as text; an integer result stays an integer when the value was
//! one). `{name}` captures any text (as little as possible, up to the next
//! literal part) and is substituted in `TO`. A key or value that does not
//! match `FROM` is left as it is.

use decant_record::{RowData, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(Vec<u8>),
    Cap(String),
}

/// One `--key-map` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    column: Option<(String, String)>,
    from: Vec<Part>,
    to: Vec<Part>,
}

fn parse_pattern(p: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = p;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Lit(rest.as_bytes()[..open].to_vec()));
        }
        let close = rest[open..].find('}').ok_or_else(|| format!("unclosed '{{' in {p:?}"))? + open;
        let name = &rest[open + 1..close];
        if name.is_empty() {
            return Err(format!("empty capture {{}} in {p:?}"));
        }
        if matches!(parts.last(), Some(Part::Cap(_))) {
            return Err(format!("two captures without text between them in {p:?}"));
        }
        parts.push(Part::Cap(name.to_owned()));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(rest.as_bytes().to_vec()));
    }
    Ok(parts)
}

impl std::str::FromStr for KeyMap {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (column, pats) = match s.split_once('@') {
            Some((col, pats)) if !col.contains('{') => {
                let (t, c) = col
                    .rsplit_once('.')
                    .ok_or_else(|| format!("bad --key-map {s:?}: expected TABLE.COLUMN@FROM=TO"))?;
                (Some((t.to_owned(), c.to_owned())), pats)
            }
            _ => (None, s),
        };
        let (from, to) = pats
            .split_once('=')
            .ok_or_else(|| format!("bad --key-map {s:?}: expected FROM=TO or TABLE.COLUMN@FROM=TO"))?;
        let from = parse_pattern(from).map_err(|e| format!("bad --key-map {s:?}: {e}"))?;
        let to = parse_pattern(to).map_err(|e| format!("bad --key-map {s:?}: {e}"))?;
        for p in &to {
            if let Part::Cap(name) = p {
                if !from.iter().any(|f| matches!(f, Part::Cap(n) if n == name)) {
                    return Err(format!("bad --key-map {s:?}: {{{name}}} is not captured in FROM"));
                }
            }
        }
        Ok(KeyMap { column, from, to })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

impl KeyMap {
    /// Maps `input` when it matches `FROM`.
    pub fn map(&self, input: &[u8]) -> Option<Vec<u8>> {
        let mut caps: Vec<(&str, &[u8])> = Vec::new();
        let mut pos = 0;
        let mut i = 0;
        while i < self.from.len() {
            match &self.from[i] {
                Part::Lit(l) => {
                    if !input[pos..].starts_with(l) {
                        return None;
                    }
                    pos += l.len();
                }
                Part::Cap(name) => {
                    let end = match self.from.get(i + 1) {
                        Some(Part::Lit(next)) => pos + find(&input[pos..], next)?,
                        _ => input.len(),
                    };
                    if end == pos {
                        return None;
                    }
                    caps.push((name, &input[pos..end]));
                    pos = end;
                }
            }
            i += 1;
        }
        if pos != input.len() {
            return None;
        }
        let mut out = Vec::with_capacity(input.len() + 8);
        for p in &self.to {
            match p {
                Part::Lit(l) => out.extend_from_slice(l),
                Part::Cap(name) => out.extend_from_slice(caps.iter().find(|(n, _)| n == name)?.1),
            }
        }
        Some(out)
    }

    /// Maps a Redis key (rules without a column only).
    pub fn apply_key(&self, key: &[u8]) -> Option<Vec<u8>> {
        if self.column.is_some() {
            return None;
        }
        self.map(key)
    }

    /// Maps a row's column in place; true when it changed.
    pub fn apply_row(&self, table: &str, data: &mut RowData) -> bool {
        let Some((t, c)) = &self.column else { return false };
        if t != table {
            return false;
        }
        let Some(v) = data.get(c) else { return false };
        let (text, was_int) = match v {
            Value::Int(i) => (i.to_string().into_bytes(), true),
            Value::String(s) => (s.as_bytes().to_vec(), false),
            Value::Bytes(b) => (b.clone(), false),
            _ => return false,
        };
        let Some(out) = self.map(&text) else { return false };
        let new = match (was_int, std::str::from_utf8(&out).ok().and_then(|s| s.parse::<i128>().ok())) {
            (true, Some(i)) => Value::Int(i),
            _ => Value::from_bytes_or_text(out),
        };
        data.set(c, new);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keys_and_columns() {
        let m: KeyMap = "apikey:{id}=key:{id}:v1".parse().unwrap();
        assert_eq!(m.map(b"apikey:42").unwrap(), b"key:42:v1");
        assert!(m.map(b"session:1").is_none());
        let m: KeyMap = "u:{a}:{b}=x{b}-{a}".parse().unwrap();
        assert_eq!(m.map(b"u:1:2").unwrap(), b"x2-1");
        let m: KeyMap = "users.id@{n}=1000{n}".parse().unwrap();
        let mut row = RowData(vec![("id".into(), Value::Int(7))]);
        assert!(m.apply_row("users", &mut row));
        assert_eq!(row.get("id"), Some(&Value::Int(10007)));
        assert!(!m.apply_row("other", &mut row));
        assert!("a{x}=b{y}".parse::<KeyMap>().is_err());
        assert!("nope".parse::<KeyMap>().is_err());
    }
}
