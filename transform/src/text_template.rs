//! Column templates: a column's text built from several sources,
//! `template = "{key_id}:{date}"` or `"usage:monthly:{key_id}:{date|%Y-%m}"`.
//!
//! Inside braces is a source as `from` names it (a capture, a hash field or
//! input column, or a `$` value such as `$key`, `$index`), optionally
//! followed by `|` and a date-time pattern that formats it (`%Y-%m`; see the
//! string cast's `format`), or by `|0N` for a number zero-padded to N digits
//! (`{stat_hour|02}` → `05`). `{{` and `}}` are literal braces.

use crate::cast::TimePattern;
use crate::pattern::PatternError;

/// One piece of a column template, before its sources are resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Literal text.
    Literal(String),
    /// A source, and the date-time pattern that formats it.
    Source {
        /// The source, as `from` names it.
        name: String,
        /// `{date|%Y-%m}`: the date-time pattern, and after a second `|`
        /// how the source counts time (`{createdAt|%Y-%m|epoch_ms}`), as
        /// the string cast's `format` says it.
        format: Option<String>,
    },
}

/// Parses a column template into literal text and sources.
pub fn parse(text: &str) -> Result<Vec<Piece>, PatternError> {
    let err = |msg: String| PatternError(format!("template {text:?}: {msg}"));
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") || rest.starts_with("}}") {
            literal.push(c);
            rest = &rest[2..];
            continue;
        }
        match c {
            '}' => return Err(err("unmatched '}' (write '}}' for a literal brace)".into())),
            '{' => {
                let close = rest.find('}').ok_or_else(|| err("a '{' is never closed".into()))?;
                let inner = &rest[1..close];
                let (name, format) = match inner.split_once('|') {
                    Some((n, f)) => {
                        let pattern = f.split_once('|').map_or(f, |(p, _)| p);
                        TimePattern::parse(pattern).map_err(|e| err(format!("{{{inner}}}: {e}")))?;
                        (n, Some(f.to_owned()))
                    }
                    None => (inner, None),
                };
                if name.is_empty() {
                    return Err(err(format!("{{{inner}}} names no source")));
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Source { name: name.to_owned(), format });
                rest = &rest[close + 1..];
            }
            c => {
                literal.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    if !pieces.iter().any(|p| matches!(p, Piece::Source { .. })) {
        return Err(err("uses no source: write a constant with const = \"…\"".into()));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|p| match p {
                Piece::Literal(l) => format!("'{l}'"),
                Piece::Source { name, format } => format!("{name}{}", if format.is_some() { "|f" } else { "" }),
            })
            .collect()
    }

    #[test]
    fn pieces() {
        assert_eq!(names("{key_id}:{date}"), ["key_id", "':'", "date"]);
        assert_eq!(names("u:{{x}}:{$key}"), ["'u:{x}:'", "$key"]);
        assert_eq!(names("m:{date|%Y-%m}"), ["'m:'", "date|f"]);
        for bad in ["no source", "{", "a}", "{}", "{d|%Q}"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
