//! A tiny library with two bugs for the quickstart's stand-in agent to fix.

/// The sum of `a` and `b`.
pub fn add(a: i64, b: i64) -> i64 {
    a - b
}

/// Whether `n` is even.
pub fn is_even(n: i64) -> bool {
    n % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(2, 3), 5);
    }

    #[test]
    fn tells_even_from_odd() {
        assert!(is_even(4));
        assert!(!is_even(7));
    }
}
