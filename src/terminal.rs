//! What the terminal allows: how wide its lines are (tables and the progress line wrap to
//! it) and whether colour codes may be written (never into a file or a pipe, never with
//! `NO_COLOR` set or `TERM=dumb`).

use std::io::IsTerminal;

/// Width used when no terminal tells its own (a pipe, a file, CI logs).
pub const DEFAULT_WIDTH: u16 = 120;

/// The terminal's width in columns: `COLUMNS` when set, else the terminal on stdout or
/// stderr, else [`DEFAULT_WIDTH`]; never under 40.
pub fn width() -> u16 {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok());
    from_env
        .or_else(|| window_width(1))
        .or_else(|| window_width(2))
        .unwrap_or(DEFAULT_WIDTH)
        .max(40)
}

/// Whether colour codes may be written to a stream that `is_terminal` describes.
pub fn colour(is_terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    is_terminal && !no_color && !dumb
}

/// Whether stderr (where logs and the progress line go) may carry colour.
pub fn stderr_colour() -> bool {
    colour(std::io::stderr().is_terminal())
}

/// The width of the terminal behind file descriptor `fd`, if it is one.
fn window_width(fd: i32) -> Option<u16> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own; a descriptor that
    // is not a terminal makes it fail (non-zero), and nothing is read then.
    let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(size.ws_col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_colour_off_a_terminal() {
        assert!(!colour(false));
    }

    #[test]
    fn the_width_is_never_tiny() {
        assert!(width() >= 40);
    }
}
