//! SQL side (issue 4).
