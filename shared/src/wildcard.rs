//! `*` and `?` wildcards in table names (`--tables 'user*'`, `--exclude`),
//! shared by every exporter that lists tables.
//!
//! Matching is the greedy two-pointer scan that remembers the last `*`: time
//! in O(pattern × name) at worst, never the exponential backtracking of a
//! recursive matcher, so a pattern such as `*a*a*a*a*b` cannot stall an export.

/// Whether `name` matches `pattern`, where `*` is any run of characters
/// (also none) and `?` is exactly one; every other character is itself.
pub fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    // The last `*` seen and the name position it has swallowed up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                // Let the last `*` take one more character and retry from there.
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    pi = sp + 1;
                    ni = sn + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("user*", "users"));
        assert!(matches("*", ""));
        assert!(matches("**", "abc"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(!matches("users", "users2"));
        assert!(matches("*_log", "audit_log"));
        assert!(!matches("*_log", "audit_logs"));
        assert!(matches("u*r*s", "users"));
        assert!(matches("ä?*", "äöü"));
        assert!(!matches("", "a"));
        assert!(matches("", ""));
    }

    /// A recursive matcher takes exponential time here; this one answers at once.
    #[test]
    fn many_stars_on_a_long_name_is_not_exponential() {
        let name = "a".repeat(5_000);
        let pattern = format!("{}b", "*a".repeat(30));
        let started = std::time::Instant::now();
        assert!(!matches(&pattern, &name));
        assert!(matches(&format!("{}*", "*a".repeat(30)), &name));
        // Generous: seconds for what takes microseconds, so a loaded machine
        // cannot fail it, while exponential time could never finish.
        assert!(started.elapsed().as_secs() < 20);
    }
}
