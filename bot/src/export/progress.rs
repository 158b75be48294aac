//! A progress bar on standard error, only when it is a terminal (never in logs or pipes).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often the bar is redrawn.
const REDRAW: Duration = Duration::from_millis(100);
const WIDTH: usize = 30;

/// Progress through a known number of items.
#[derive(Debug)]
pub struct Progress {
    total: u64,
    started: Instant,
    drawn: Option<Instant>,
    visible: bool,
}

impl Progress {
    /// A bar for `total` items; invisible unless standard error is a terminal.
    pub fn new(total: u64) -> Self {
        Self {
            total,
            started: Instant::now(),
            drawn: None,
            visible: std::io::stderr().is_terminal(),
        }
    }

    /// Shows `done` items read and `written` examples, at most every 100 ms.
    pub fn update(&mut self, done: u64, written: u64) {
        if !self.visible || self.drawn.is_some_and(|at| at.elapsed() < REDRAW) {
            return;
        }
        self.drawn = Some(Instant::now());
        let line = render(done, self.total, written, self.started.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}");
        let _ = err.flush();
    }

    /// Clears the bar.
    pub fn finish(&mut self) {
        if self.visible && self.drawn.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// `[#####-----]  50% 500/1000 calls, 20 written, 1000/s`.
fn render(done: u64, total: u64, written: u64, elapsed: Duration) -> String {
    let share = if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).min(1.0)
    };
    let filled = (share * WIDTH as f64).round() as usize;
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-3);
    format!(
        "[{}{}] {:>3}% {done}/{total} calls, {written} written, {rate:.0}/s",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        (share * 100.0).floor() as u64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_share_done() {
        let line = render(500, 1000, 20, Duration::from_secs(1));
        assert_eq!(
            line,
            format!(
                "[{}{}]  50% 500/1000 calls, 20 written, 500/s",
                "#".repeat(15),
                "-".repeat(15)
            )
        );
        assert!(render(0, 0, 0, Duration::ZERO).starts_with(&format!("[{}] 100%", "#".repeat(30))));
    }
}
