//! The `incremental` expectation: did output arrive piece by piece, spread
//! over time like the stream's frames, rather than all at once at the end?

use std::time::Duration;

use crate::steps::Piece;

/// Pieces closer together than this are one burst: a pipe read can split one
/// `print` or join two, but a stream's frames are tens of milliseconds apart.
pub const BURST_GAP: Duration = Duration::from_millis(12);

/// Passes when stdout came in at least `min_pieces` bursts and, if the
/// server's stream took `stream_span` to write, the bursts cover at least half
/// of that span (a client that buffers and prints at the end covers none).
pub fn judge_pieces(
    pieces: &[Piece],
    min_pieces: usize,
    stream_span: Option<Duration>,
) -> Result<(), String> {
    let non_empty: Vec<&Piece> = pieces.iter().filter(|p| p.bytes > 0).collect();
    let Some(first) = non_empty.first() else {
        return Err("nothing was printed".into());
    };
    let mut bursts = vec![first.at];
    let mut last = first.at;
    for piece in &non_empty[1..] {
        if piece.at.saturating_sub(last) >= BURST_GAP {
            bursts.push(piece.at);
        }
        last = piece.at;
    }
    let spread = last.saturating_sub(first.at);
    if bursts.len() < min_pieces {
        let span = stream_span.map_or_else(String::new, |s| {
            format!(" while the stream took {} ms", s.as_millis())
        });
        return Err(format!(
            "output arrived in {} piece(s) over {} ms{span}; expected at least {min_pieces} pieces arriving as the stream's frames did",
            bursts.len(),
            spread.as_millis()
        ));
    }
    if let Some(span) = stream_span
        && spread < span / 2
    {
        return Err(format!(
            "output arrived in {} pieces but within {} ms, while the stream took {} ms: it was not printed as it arrived",
            bursts.len(),
            spread.as_millis(),
            span.as_millis()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(ms: &[u64]) -> Vec<Piece> {
        ms.iter()
            .map(|&m| Piece {
                at: Duration::from_millis(m),
                bytes: 4,
            })
            .collect()
    }

    #[test]
    fn spread_pieces_pass() {
        assert_eq!(
            judge_pieces(
                &pieces(&[400, 440, 480, 530]),
                3,
                Some(Duration::from_millis(150))
            ),
            Ok(())
        );
    }

    #[test]
    fn one_burst_fails_with_counts() {
        let err = judge_pieces(
            &pieces(&[900, 901, 902, 903]),
            3,
            Some(Duration::from_millis(500)),
        )
        .expect_err("one burst");
        assert!(err.contains("1 piece(s)"), "{err}");
        assert!(err.contains("500 ms"), "{err}");
    }

    #[test]
    fn bursts_squeezed_into_a_fraction_of_the_stream_fail() {
        let err = judge_pieces(
            &pieces(&[900, 920, 940]),
            3,
            Some(Duration::from_millis(1000)),
        )
        .expect_err("squeezed");
        assert!(err.contains("not printed as it arrived"), "{err}");
    }

    #[test]
    fn empty_output_fails() {
        assert!(judge_pieces(&[], 3, None).is_err());
    }
}
