//! Judging a `notebook` step: the cell that raised or hung (named by its
//! number), checks on single cells' outputs, and streaming judged from the
//! kernel's iopub message times.
//!
//! **The kernel's streaming rule.** ipykernel does not send each `print` on
//! its own: it collects stream output and flushes it about every 0.2 s
//! ([`KERNEL_FLUSH`]). So a cell that prints a stream as it arrives shows
//! up as several stream messages about 0.2 s apart, and a cell that prints
//! the whole answer at the end as one. The rule: the judged cell's stdout
//! stream messages, with messages closer than half a flush interval counted
//! as one, must number at least `min_pieces` and span at least half of the
//! time the replay server took to write the stream, and that stream must
//! have lasted at least [`MIN_KERNEL_STREAM`] — a shorter stream fits in
//! one or two flushes whatever the cell does, and cannot be judged. Served
//! without its recorded delays (`--speed 0`), a stream lasts no time at all
//! and the rule fails by design.

use std::time::Duration;

use super::{Failure, check_text};
use crate::spec::lab::Expectations;
use crate::steps::Piece;
use crate::steps::notebook::{CellStatus, NotebookRun};

/// ipykernel's stream flush interval (`OutStream.flush_interval`).
pub const KERNEL_FLUSH: Duration = Duration::from_millis(200);

/// The shortest served stream the kernel rule can judge.
pub const MIN_KERNEL_STREAM: Duration = Duration::from_secs(1);

/// The failure of the cell that did not end well, if any.
pub fn failed_cell(run: &NotebookRun) -> Option<Failure> {
    let cell = run.failed()?;
    let subject = cell_name(cell.number, cell.shown);
    Some(match (cell.status, &cell.error) {
        (CellStatus::Error, Some(e)) => Failure::new(
            subject,
            format!(
                "raised {}: {}\n  traceback (last line): {}{}",
                e.ename,
                e.evalue,
                e.last_line,
                super::tail("output", &cell.text)
            ),
        )
        .hint("the notebook stops at the first cell that raises, as Run All does"),
        (CellStatus::Timeout, _) => Failure::new(
            subject,
            format!(
                "did not finish within {:?}; the kernel was killed",
                run.cell_timeout
            ),
        )
        .hint("raise `cell_timeout` for this step in lab.toml if the cell is legitimately slow"),
        _ => Failure::new(subject, "the kernel died while the cell ran".to_string()),
    })
}

/// `cell 7`, or `cell 7 (cell 8 of the notebook that ran)` when grading moved it.
fn cell_name(number: usize, shown: usize) -> String {
    if number == shown {
        format!("cell {number}")
    } else {
        format!("cell {number} (cell {shown} of the notebook that ran)")
    }
}

/// One failure per lab cell the student's notebook lacks.
pub fn missing_cells(run: &NotebookRun, failures: &mut Vec<Failure>) {
    for m in &run.missing {
        let id =
            m.id.as_ref()
                .map_or_else(String::new, |id| format!(" (id `{id}`)"));
        failures.push(
            Failure::new(
                format!("cell {}", m.number),
                format!("the notebook has no cell{id} for lab cell {}", m.number),
            )
            .hint("keep the lab's cells (Jupyter keeps each cell's id); add your code inside them"),
        );
    }
}

/// Checks `cells` expectations against the cells that ran.
pub fn check_cells(exp: &Expectations, run: &NotebookRun, failures: &mut Vec<Failure>) {
    for want in &exp.cells {
        let subject = format!("cell {}", want.cell);
        match run.cells.iter().find(|c| c.number == want.cell) {
            Some(cell) => check_text(
                &cell_name(cell.number, cell.shown),
                &want.text,
                &cell.text,
                failures,
            ),
            None => failures.push(
                Failure::new(subject, "did not run, so its output cannot be checked")
                    .hint("the cell is missing, skipped, outside the step's `cells`, or after a cell that failed"),
            ),
        }
    }
}

/// The kernel's streaming rule (see the module doc) on the chosen cell.
pub fn judge_kernel_stream(
    run: &NotebookRun,
    cell: Option<usize>,
    min_pieces: usize,
    stream_span: Option<Duration>,
) -> Result<(), String> {
    let stdout_messages = |c: &crate::steps::notebook::CellRun| -> Vec<Piece> {
        c.messages
            .iter()
            .filter(|m| m.kind == "stream" && m.name.as_deref() == Some("stdout") && m.bytes > 0)
            .map(|m| Piece {
                at: m.at,
                bytes: m.bytes,
            })
            .collect()
    };
    let chosen = match cell {
        Some(n) => run.cells.iter().find(|c| c.number == n),
        None => run.cells.iter().max_by_key(|c| stdout_messages(c).len()),
    };
    let Some(chosen) = chosen else {
        return Err("the cell judged for streaming did not run".into());
    };
    let span = stream_span.unwrap_or_default();
    if span < MIN_KERNEL_STREAM {
        return Err(format!(
            "the served stream lasted {} ms; the kernel flushes output every {} ms, so only a stream of at least {} ms can show it was printed as it arrived (served without delays, e.g. `--speed 0`, no stream can)",
            span.as_millis(),
            KERNEL_FLUSH.as_millis(),
            MIN_KERNEL_STREAM.as_millis()
        ));
    }
    let pieces = stdout_messages(chosen);
    let Some(first) = pieces.first() else {
        return Err(format!("cell {} printed nothing", chosen.number));
    };
    let mut bursts = 1;
    let mut last = first.at;
    for p in &pieces[1..] {
        if p.at.saturating_sub(last) >= KERNEL_FLUSH / 2 {
            bursts += 1;
        }
        last = p.at;
    }
    let spread = last.saturating_sub(first.at);
    if bursts < min_pieces || spread < span / 2 {
        return Err(format!(
            "cell {} sent its output in {bursts} stream message(s) over {} ms while the stream took {} ms; expected at least {min_pieces} messages spread over at least half of it",
            chosen.number,
            spread.as_millis(),
            span.as_millis()
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::steps::notebook::{CellRun, Message};

    fn run(ms: &[u64]) -> NotebookRun {
        let messages = ms
            .iter()
            .map(|&m| {
                serde_json::from_value::<Message>(serde_json::json!({
                    "type": "stream", "name": "stdout", "at": 0.0, "bytes": 5
                }))
                .map(|mut msg| {
                    msg.at = Duration::from_millis(m);
                    msg
                })
                .unwrap()
            })
            .collect();
        NotebookRun {
            cells: vec![CellRun {
                number: 9,
                shown: 9,
                status: CellStatus::Ok,
                text: String::new(),
                error: None,
                elapsed: Duration::from_secs(2),
                messages,
            }],
            ..NotebookRun::default()
        }
    }

    #[test]
    fn flushes_spread_over_a_long_stream_pass() {
        let r = run(&[1000, 1200, 1400, 1600, 1800, 2000, 2200]);
        assert_eq!(
            judge_kernel_stream(&r, None, 3, Some(Duration::from_millis(1300))),
            Ok(())
        );
    }

    #[test]
    fn one_flush_at_the_end_fails() {
        let r = run(&[2300]);
        let e = judge_kernel_stream(&r, Some(9), 3, Some(Duration::from_millis(1300))).unwrap_err();
        assert!(e.contains("1 stream message(s)"), "{e}");
    }

    #[test]
    fn a_stream_served_without_delays_cannot_pass() {
        let r = run(&[1000, 1200, 1400, 1600]);
        let e = judge_kernel_stream(&r, None, 3, Some(Duration::from_millis(3))).unwrap_err();
        assert!(e.contains("lasted 3 ms"), "{e}");
    }

    #[test]
    fn messages_inside_one_flush_count_once() {
        let r = run(&[1000, 1010, 1020, 1030, 1040]);
        let e = judge_kernel_stream(&r, None, 3, Some(Duration::from_millis(1100))).unwrap_err();
        assert!(e.contains("1 stream message(s)"), "{e}");
    }
}
