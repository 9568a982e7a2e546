//! Guessing a key's type from keys of the same shape, to spare the `TYPE`
//! command (a fifth of the server's work on a page of small hashes).
//!
//! Keys of one family share a shape: the text before the first `:` and the
//! number of `:` (`apikey:{id}` → `apikey`/1, `usage:{id}:daily:{date}` →
//! `usage`/3, `usage:records:{id}` → `usage`/2). Once [`TRUST_AFTER`] keys
//! of a shape have had the same `TYPE`, the next ones are read as that type
//! without asking (one key in [`CHECK_EVERY`] is still asked, to see a
//! family change). A wrong guess costs little and loses nothing: the value
//! command answers `WRONGTYPE` (or nothing, for a vanished key, which is
//! then checked as before), the key is read again after a `TYPE`, and its
//! shape is never guessed again ([`TypeGuess::missed`]).

use std::collections::HashMap;

use decant_record::RedisType;

/// Consistent `TYPE` answers before a shape is guessed.
pub const TRUST_AFTER: u32 = 8;
/// One guessed key in this many is asked anyway.
pub const CHECK_EVERY: u32 = 64;
/// Shapes remembered (keys of further shapes are always asked).
const MAX_SHAPES: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Shape {
    colons: u32,
    /// `None` once keys of this shape had different types (never guessed).
    ty: Option<RedisType>,
    agreed: u32,
    since_check: u32,
}

/// What the keys seen so far say about each shape.
#[derive(Debug, Default)]
pub struct TypeGuess {
    /// By the text before the first `:`; few shapes share it.
    shapes: HashMap<Vec<u8>, Vec<Shape>>,
    remembered: usize,
}

fn shape_of(key: &[u8]) -> (&[u8], u32) {
    let prefix = key.split(|&b| b == b':').next().unwrap_or(key);
    (prefix, key.iter().filter(|&&b| b == b':').count() as u32)
}

impl TypeGuess {
    fn entry(&mut self, key: &[u8]) -> Option<&mut Shape> {
        let (prefix, colons) = shape_of(key);
        self.shapes.get_mut(prefix)?.iter_mut().find(|s| s.colons == colons)
    }

    /// The type to read `key` as without asking, if its shape is trusted.
    pub fn predict(&mut self, key: &[u8]) -> Option<RedisType> {
        let s = self.entry(key)?;
        let ty = s.ty.filter(|_| s.agreed >= TRUST_AFTER)?;
        s.since_check += 1;
        if s.since_check >= CHECK_EVERY {
            s.since_check = 0;
            return None;
        }
        Some(ty)
    }

    /// Learns from a `TYPE` answer (`None`: a type decant cannot export).
    pub fn learn(&mut self, key: &[u8], ty: Option<RedisType>) {
        if let Some(s) = self.entry(key) {
            if s.ty.is_some() && s.ty == ty {
                s.agreed += 1;
            } else {
                s.ty = None;
            }
            return;
        }
        if self.remembered >= MAX_SHAPES {
            return;
        }
        let (prefix, colons) = shape_of(key);
        self.remembered += 1;
        self.shapes.entry(prefix.to_vec()).or_default().push(Shape { colons, ty, agreed: 1, since_check: 0 });
    }

    /// A guess for `key` was wrong: its shape is asked from now on.
    pub fn missed(&mut self, key: &[u8]) {
        if let Some(s) = self.entry(key) {
            s.ty = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trained(guess: &mut TypeGuess, key: &[u8], ty: RedisType) {
        for _ in 0..TRUST_AFTER {
            assert_eq!(guess.predict(key), None);
            guess.learn(key, Some(ty));
        }
    }

    #[test]
    fn trusts_a_shape_after_consistent_answers_and_still_checks_some() {
        let mut g = TypeGuess::default();
        trained(&mut g, b"apikey:1", RedisType::Hash);
        assert_eq!(g.predict(b"apikey:2"), Some(RedisType::Hash));
        // Other shapes: another prefix, or the same prefix with other colons.
        assert_eq!(g.predict(b"apikey"), None);
        assert_eq!(g.predict(b"apikey:1:x"), None);
        assert_eq!(g.predict(b"session:1"), None);
        let asked = (0..CHECK_EVERY * 3).filter(|_| g.predict(b"apikey:9").is_none()).count();
        assert_eq!(asked, 3);
    }

    #[test]
    fn a_mixed_or_missed_shape_is_never_guessed_again() {
        let mut g = TypeGuess::default();
        trained(&mut g, b"usage:a:daily:1", RedisType::Hash);
        trained(&mut g, b"usage:records:a", RedisType::List);
        assert_eq!(g.predict(b"usage:b:daily:2"), Some(RedisType::Hash));
        assert_eq!(g.predict(b"usage:records:b"), Some(RedisType::List));
        g.missed(b"usage:c:daily:3");
        assert_eq!(g.predict(b"usage:b:daily:2"), None);
        g.learn(b"usage:records:c", Some(RedisType::ZSet));
        for _ in 0..100 {
            g.learn(b"usage:records:c", Some(RedisType::List));
        }
        assert_eq!(g.predict(b"usage:records:b"), None);
        // A type decant cannot export poisons the shape too.
        trained(&mut g, b"doc:1", RedisType::String);
        g.learn(b"doc:2", None);
        assert_eq!(g.predict(b"doc:3"), None);
    }
}
