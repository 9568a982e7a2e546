//! Redis side (issue 3).
