//! The `incremental` expectation: did output arrive piece by piece, spread
//! over time like the stream's frames, rather than all at once at the end?

use std::time::Duration;

use crate::steps::Piece;

/// Pieces closer together than this are one burst: a pipe read can split one
/// `print` or join two, but a stream's frames are tens of milliseconds apart.
pub const BURST_GAP: Duration = Duration::from_millis(12);

/// Why output did not arrive the way a stream's frames did.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotIncremental {
    #[error("nothing was printed")]
    Nothing,
    #[error(
        "output arrived in {bursts} piece(s) over {} ms{}; expected at least {min_pieces} pieces arriving as the stream's frames did",
        spread.as_millis(),
        stream_span.map_or_else(String::new, |s| format!(" while the stream took {} ms", s.as_millis()))
    )]
    TooFewPieces {
        bursts: usize,
        spread: Duration,
        min_pieces: usize,
        stream_span: Option<Duration>,
    },
    #[error(
        "output arrived in {bursts} pieces but within {} ms, while the stream took {} ms: it was not printed as it arrived",
        spread.as_millis(),
        stream_span.as_millis()
    )]
    Squeezed {
        bursts: usize,
        spread: Duration,
        stream_span: Duration,
    },
}

/// Passes when stdout came in at least `min_pieces` bursts and, if the
/// server's stream took `stream_span` to write, the bursts cover at least half
/// of that span (a client that buffers and prints at the end covers none).
pub fn judge_pieces(
    pieces: &[Piece],
    min_pieces: usize,
    stream_span: Option<Duration>,
) -> Result<(), NotIncremental> {
    let non_empty: Vec<&Piece> = pieces.iter().filter(|p| p.bytes > 0).collect();
    let Some(first) = non_empty.first() else {
        return Err(NotIncremental::Nothing);
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
        return Err(NotIncremental::TooFewPieces {
            bursts: bursts.len(),
            spread,
            min_pieces,
            stream_span,
        });
    }
    if let Some(span) = stream_span
        && spread < span / 2
    {
        return Err(NotIncremental::Squeezed {
            bursts: bursts.len(),
            spread,
            stream_span: span,
        });
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
        assert!(
            matches!(err, NotIncremental::TooFewPieces { bursts: 1, .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("1 piece(s)"), "{text}");
        assert!(text.contains("500 ms"), "{text}");
    }

    #[test]
    fn bursts_squeezed_into_a_fraction_of_the_stream_fail() {
        let err = judge_pieces(
            &pieces(&[900, 920, 940]),
            3,
            Some(Duration::from_millis(1000)),
        )
        .expect_err("squeezed");
        assert!(
            matches!(err, NotIncremental::Squeezed { bursts: 3, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("not printed as it arrived"),
            "{err}"
        );
    }

    #[test]
    fn empty_output_fails() {
        assert_eq!(judge_pieces(&[], 3, None), Err(NotIncremental::Nothing));
    }
}
