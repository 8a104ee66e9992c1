//! CPU work on foreign bytes (decoding a footer, a header, a decompressed prefix), off the
//! I/O path and contained.
//!
//! [`blocking`] runs the work on tokio's blocking pool, so that a heavy sample never
//! stalls the requests in flight on the async workers, and turns a panic in it into an
//! error for that one sample instead of the run's end. A stack overflow or an allocation
//! failure cannot be caught in-process: those are kept out of reach by bounding recursion
//! and sizes in every reader ([`super::bound`]), not here.

use std::any::Any;

/// A reader panicked on a sample: a bug in s3meta, reported against that file only.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the reader failed unexpectedly ({0}); this is a bug in s3meta, please report it")]
pub struct Panicked(pub String);

impl Panicked {
    /// The message a caught panic carried.
    pub fn from_payload(payload: &(dyn Any + Send)) -> Panicked {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string());
        Panicked(msg)
    }
}

/// Runs `work` on a blocking thread; a panic in it comes back as [`Panicked`].
pub async fn blocking<T, F>(work: F) -> Result<T, Panicked>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(t) => Ok(t),
        Err(e) if e.is_panic() => Err(Panicked::from_payload(&*e.into_panic())),
        Err(e) => Err(Panicked(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error() {
        let r: Result<(), _> = blocking(|| panic!("boom at {}", 3)).await;
        assert_eq!(r.unwrap_err().0, "boom at 3");
        assert_eq!(blocking(|| 2 + 2).await.unwrap(), 4);
    }
}
