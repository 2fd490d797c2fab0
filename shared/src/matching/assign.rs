//! One global assignment per kind of element, with an explicit "unmatched" option.

/// The best one-to-one assignment of rows to columns: `scores[i][j]` is the score of pairing
/// row `i` with column `j` (`None`: not allowed). Every row may also stay unmatched (score 0),
/// so a pair is only made when it adds to the total. Returns `row → column`.
///
/// Solved exactly (Jonker–Volgenant, the `lsap` crate) on the matrix widened by one
/// "unmatched" column per row; ties go to the earlier row and column.
pub fn assign(scores: &[Vec<Option<f64>>], columns: usize) -> Vec<Option<usize>> {
    let rows = scores.len();
    if rows == 0 || columns == 0 {
        return vec![None; rows];
    }
    const FORBIDDEN: f64 = -1.0e9;
    let width = columns + rows;
    let mut cost = vec![FORBIDDEN; rows * width];
    for (i, row) in scores.iter().enumerate() {
        for (j, score) in row.iter().enumerate().take(columns) {
            if let Some(s) = score {
                // A tiny preference for earlier pairs makes ties deterministic and stable.
                let tie = 1e-9 * (i * columns + j) as f64;
                cost[i * width + j] = s.max(0.0) + 1e-6 - tie;
            }
        }
        cost[i * width + columns + i] = 0.0;
    }
    let mut out = vec![None; rows];
    let Ok((row_ind, col_ind)) = lsap::solve(rows, width, &cost, true) else {
        return out;
    };
    for (i, j) in row_ind.into_iter().zip(col_ind) {
        if j < columns && cost[i * width + j] > FORBIDDEN / 2.0 {
            out[i] = Some(j);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_total_wins_over_the_best_pair() {
        // Greedy would take (0,0) at 0.9 and leave row 1 alone; the optimum pairs both.
        let scores = vec![vec![Some(0.9), Some(0.8)], vec![Some(0.85), None]];
        assert_eq!(assign(&scores, 2), vec![Some(1), Some(0)]);
    }

    #[test]
    fn forbidden_pairs_stay_unmatched() {
        let scores = vec![vec![None, None], vec![Some(0.5), None]];
        assert_eq!(assign(&scores, 2), vec![None, Some(0)]);
        assert_eq!(assign(&[], 3), Vec::<Option<usize>>::new());
        assert_eq!(assign(&[vec![]], 0), vec![None]);
    }

    #[test]
    fn more_rows_than_columns() {
        let scores = vec![vec![Some(0.2)], vec![Some(0.7)], vec![Some(0.1)]];
        assert_eq!(assign(&scores, 1), vec![None, Some(0), None]);
    }
}
