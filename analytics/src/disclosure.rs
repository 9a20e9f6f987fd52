//! Disclosure control for aggregates that leave the platform (API, reports, exports).
//!
//! - **Primary suppression**: a count of persons from 1 to `threshold − 1` is hidden (a
//!   zero is shown: it singles no one out).
//! - **Complementary suppression**: a table is published with its row and column totals;
//!   every row and every column, totals included, is a line whose members must add up.
//!   A line with exactly one hidden member would give it away by subtraction, so another
//!   member is hidden too: the smallest positive count of the line (a total only when no
//!   inner cell is left), and the check runs again until no line has a lone hidden member.
//! - **Marks**: every cell says whether it is shown, hidden for itself (`primary`) or
//!   hidden to protect another (`secondary`); outputs print the mark, never a silent gap.
//!
//! This stops the exact recovery of a hidden count from one line. It is the rule ISTAT
//! and most statistical offices apply to frequency tables of this size; it does not
//! attempt the optimal (least-loss) pattern of τ-ARGUS.
//!
//! Amounts that go with a count (spending of the users counted) follow the count's
//! mark: euros spent on two persons describe those two persons.

use serde::Serialize;

/// Why a value is or is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// Published.
    Shown,
    /// Hidden: fewer than the threshold.
    Primary,
    /// Hidden so that a total does not give away a primary cell.
    Secondary,
}

impl Mark {
    /// Whether the value is hidden.
    pub fn hidden(self) -> bool {
        self != Mark::Shown
    }

    /// The code used in JSON and in HTML classes (`shown`, `primary`, `secondary`).
    pub fn code(self) -> &'static str {
        match self {
            Mark::Shown => "shown",
            Mark::Primary => "primary",
            Mark::Secondary => "secondary",
        }
    }

    /// The symbol printed in place of a hidden value in tables and files.
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Shown => "",
            Mark::Primary => "*",
            Mark::Secondary => "**",
        }
    }
}

/// Whether a single count is hidden for itself.
pub fn primary(n: u64, threshold: u64) -> bool {
    n > 0 && n < threshold
}

/// The marks of a two-way table of counts, with its margins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protected {
    /// One mark per inner cell, row by row.
    pub cells: Vec<Vec<Mark>>,
    /// The mark of each row's total.
    pub row_totals: Vec<Mark>,
    /// The mark of each column's total.
    pub col_totals: Vec<Mark>,
    /// The mark of the grand total.
    pub total: Mark,
}

impl Protected {
    /// How many values (cells and totals) are hidden.
    pub fn hidden(&self) -> usize {
        let inner = self.cells.iter().flatten().filter(|m| m.hidden()).count();
        let margins = self.row_totals.iter().chain(&self.col_totals).filter(|m| m.hidden()).count();
        inner + margins + usize::from(self.total.hidden())
    }
}

/// Protects a table of counts (`counts[row][col]`, all rows the same length) published
/// with row totals, column totals and a grand total.
pub fn protect(counts: &[Vec<u64>], threshold: u64) -> Protected {
    let r = counts.len();
    let c = counts.first().map_or(0, Vec::len);
    // The table with its margins: row r holds the column totals, column c the row totals.
    let mut v = vec![vec![0u64; c + 1]; r + 1];
    for (i, row) in counts.iter().enumerate() {
        for (j, &n) in row.iter().enumerate().take(c) {
            v[i][j] = n;
            v[i][c] += n;
            v[r][j] += n;
            v[r][c] += n;
        }
    }
    let mut m: Vec<Vec<Mark>> = v
        .iter()
        .map(|row| row.iter().map(|&n| if primary(n, threshold) { Mark::Primary } else { Mark::Shown }).collect())
        .collect();
    // Lines: every row (its cells and its total) and every column (its cells and its total).
    let lines: Vec<Vec<(usize, usize)>> = (0..=r)
        .map(|i| (0..=c).map(|j| (i, j)).collect())
        .chain((0..=c).map(|j| (0..=r).map(|i| (i, j)).collect()))
        .collect();
    loop {
        let mut changed = false;
        for line in &lines {
            let hidden = line.iter().filter(|&&(i, j)| m[i][j].hidden()).count();
            if hidden != 1 || line.len() < 2 {
                continue;
            }
            // The total of the line is its last member.
            let (inner, total) = line.split_at(line.len() - 1);
            let candidate = inner
                .iter()
                .filter(|&&(i, j)| !m[i][j].hidden())
                .min_by_key(|&&(i, j)| (v[i][j] == 0, v[i][j]))
                .or_else(|| total.iter().find(|&&(i, j)| !m[i][j].hidden()));
            if let Some(&(i, j)) = candidate {
                m[i][j] = Mark::Secondary;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let total = m[r][c];
    let col_totals = m[r][..c].to_vec();
    let row_totals = m[..r].iter().map(|row| row[c]).collect();
    let cells = m[..r].iter().map(|row| row[..c].to_vec()).collect();
    Protected { cells, row_totals, col_totals, total }
}

/// Protects a list of counts published with its total (a one-row table): the marks of
/// the items and of the total.
pub fn protect_list(counts: &[u64], threshold: u64) -> (Vec<Mark>, Mark) {
    let p = protect(&[counts.to_vec()], threshold);
    let marks = p.cells.into_iter().next().unwrap_or_default();
    (marks, p.row_totals.first().copied().unwrap_or(Mark::Shown))
}

/// The counts of a list as published: those under the threshold hidden, and where one
/// alone would be hidden, the smallest other positive count with it (the list's total
/// is published elsewhere, e.g. at the next level up).
pub fn hide_list(counts: &[u64], threshold: u64) -> Vec<Option<u64>> {
    let (marks, _) = protect_list(counts, threshold);
    counts.iter().zip(marks).map(|(&n, m)| shown(n, m)).collect()
}

/// The value if shown.
pub fn shown<T>(value: T, mark: Mark) -> Option<T> {
    (!mark.hidden()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Mark::*;

    /// Whether some line (row or column with its total) has exactly one hidden member.
    fn recoverable(p: &Protected) -> bool {
        let r = p.cells.len();
        let c = p.col_totals.len();
        let at = |i: usize, j: usize| match (i == r, j == c) {
            (false, false) => p.cells[i][j],
            (false, true) => p.row_totals[i],
            (true, false) => p.col_totals[j],
            (true, true) => p.total,
        };
        let rows = (0..=r).any(|i| (0..=c).filter(|&j| at(i, j).hidden()).count() == 1);
        let cols = (0..=c).any(|j| (0..=r).filter(|&i| at(i, j).hidden()).count() == 1);
        rows || cols
    }

    #[test]
    fn small_counts_are_hidden_and_zeros_shown() {
        let (marks, total) = protect_list(&[0, 12, 30], 5);
        assert_eq!(marks, [Shown, Shown, Shown]);
        assert_eq!(total, Shown);
        assert!(primary(4, 5) && !primary(5, 5) && !primary(0, 5));
    }

    #[test]
    fn a_lone_hidden_cell_takes_the_smallest_positive_neighbour_with_it() {
        // 3 would be total − 12 − 30 − 7: the 7 (smallest positive) is hidden with it.
        let (marks, total) = protect_list(&[3, 12, 30, 0, 7], 5);
        assert_eq!(marks, [Primary, Shown, Shown, Shown, Secondary]);
        assert_eq!(total, Shown);
    }

    #[test]
    fn a_small_total_is_hidden_too() {
        let (marks, total) = protect_list(&[2], 5);
        assert_eq!(marks, [Primary]);
        assert_eq!(total, Primary);
    }

    #[test]
    fn two_way_tables_are_protected_on_rows_and_columns() {
        let counts = vec![vec![2, 40, 18], vec![25, 31, 9], vec![11, 6, 50]];
        let p = protect(&counts, 5);
        assert_eq!(p.cells[0][0], Primary);
        assert!(!recoverable(&p), "{p:?}");
        // Row 0 hides the 18 (its smallest positive shown cell), column 0 the 11.
        assert_eq!(p.cells[0][2], Secondary);
        assert_eq!(p.cells[2][0], Secondary);
        // Column 2 then has the 18 hidden alone, so the 9 goes too, and so on.
        assert_eq!(p.cells[1][2], Secondary);
        assert!(p.hidden() >= 4);
        assert_eq!(p.total, Shown);
    }

    #[test]
    fn no_line_is_ever_left_with_one_hidden_member() {
        // A deterministic sweep of small tables with many small counts.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % 12
        };
        for rows in 1..5 {
            for cols in 1..5 {
                for _ in 0..50 {
                    let counts: Vec<Vec<u64>> = (0..rows).map(|_| (0..cols).map(|_| next()).collect()).collect();
                    let p = protect(&counts, 5);
                    assert!(!recoverable(&p), "{counts:?} → {p:?}");
                    for (row, marks) in counts.iter().zip(&p.cells) {
                        for (&n, &mk) in row.iter().zip(marks) {
                            assert_eq!(primary(n, 5), mk == Primary, "{counts:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn lists_hide_a_complement_for_a_lone_small_count() {
        assert_eq!(hide_list(&[3, 40, 9, 0], 5), [None, Some(40), None, Some(0)]);
        assert_eq!(hide_list(&[3, 2, 40], 5), [None, None, Some(40)]);
        assert_eq!(hide_list(&[10, 40], 5), [Some(10), Some(40)]);
    }

    #[test]
    fn a_threshold_of_one_hides_nothing() {
        let p = protect(&[vec![1, 2], vec![0, 3]], 1);
        assert_eq!(p.hidden(), 0);
    }
}
