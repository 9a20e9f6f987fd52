//! Small text helpers shared by the registry (similar names) and ingest (header typos).

/// Edit distance (Levenshtein, by characters) between two strings.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("ROSSI MARIO", "ROSSI MARIO"), 0);
        assert_eq!(edit_distance("ROSSI MARIO", "ROSI MARIO"), 1);
        assert_eq!(edit_distance("ROSSI MARIO", "RUSSO MARIA"), 3);
        assert_eq!(edit_distance("data_nascita", "data_nasicta"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
