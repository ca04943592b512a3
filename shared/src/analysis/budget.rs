//! The memory every decode in flight may take, together. A picture's header
//! says what decoding it will allocate before a byte of pixels is read
//! ([`super::decode_cost`]); a decode waits until that much of the budget
//! is free, holds it until its pixels are gone, and the decoders themselves
//! are held to it (`image::Limits`), so a 35-byte GIF declaring a
//! 10,000 x 10,000 canvas costs what it says or nothing at all.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is counted in whole mebibytes.
const MIB: u64 = 1 << 20;

/// A process-wide budget of decode memory (`DECODE_MEMORY_MB`).
#[derive(Debug)]
pub struct DecodeBudget {
    permits: Arc<Semaphore>,
    mib: u32,
    /// How long a decode waits for room before the caller hears `503`.
    wait: Duration,
}

/// Why a decode could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// It needs more than the whole budget: it can never run here.
    #[error(
        "decoding it takes {needed_mib} MiB; this service decodes at most {budget_mib} MiB at once"
    )]
    TooLarge { needed_mib: u64, budget_mib: u64 },
    /// Other decodes hold the budget; try again shortly.
    #[error("the service is decoding as much as it may at once; try again in a moment")]
    Busy,
}

/// Room in the budget, given back when dropped (when the decode's pixels are).
#[derive(Debug)]
pub struct Reservation {
    _permit: OwnedSemaphorePermit,
    /// What the decoder may allocate, in bytes.
    pub bytes: u64,
}

impl DecodeBudget {
    /// What a 1,024 MB function can afford beside the process itself.
    pub const DEFAULT_MIB: u32 = 512;
    pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);

    pub fn new(mib: u32, wait: Duration) -> Self {
        let mib = mib.max(1);
        DecodeBudget {
            permits: Arc::new(Semaphore::new(mib as usize)),
            mib,
            wait,
        }
    }

    pub fn total_bytes(&self) -> u64 {
        u64::from(self.mib) * MIB
    }

    /// Whether a decode of `bytes` could ever run here: `TooLarge` when it
    /// needs more than the whole budget (what accepting a file to decode
    /// later checks, so it is refused now rather than failed then).
    pub fn admits(&self, bytes: u64) -> Result<(), BudgetError> {
        let mib = bytes.div_ceil(MIB).max(1);
        match mib > u64::from(self.mib) {
            true => Err(BudgetError::TooLarge {
                needed_mib: mib,
                budget_mib: u64::from(self.mib),
            }),
            false => Ok(()),
        }
    }

    /// Room for a decode that allocates `bytes`: at once when there is
    /// some, after a wait of at most the configured time when other decodes
    /// hold it, never when it needs more than the whole budget.
    pub async fn reserve(&self, bytes: u64) -> Result<Reservation, BudgetError> {
        self.admits(bytes)?;
        let mib = bytes.div_ceil(MIB).max(1);
        let acquire = self.permits.clone().acquire_many_owned(mib as u32);
        match tokio::time::timeout(self.wait, acquire).await {
            Ok(Ok(permit)) => Ok(Reservation {
                _permit: permit,
                bytes: mib * MIB,
            }),
            // The semaphore is never closed; a timeout is a busy budget.
            Ok(Err(_)) | Err(_) => Err(BudgetError::Busy),
        }
    }

    /// Mebibytes free now.
    pub fn available_mib(&self) -> usize {
        self.permits.available_permits()
    }
}

impl Default for DecodeBudget {
    fn default() -> Self {
        DecodeBudget::new(Self::DEFAULT_MIB, Self::DEFAULT_WAIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_wait_then_give_way() {
        let budget = DecodeBudget::new(10, Duration::from_millis(50));
        let big = budget.reserve(8 * MIB).await.unwrap();
        assert_eq!(budget.available_mib(), 2);
        assert_eq!(
            budget.reserve(3 * MIB).await.unwrap_err(),
            BudgetError::Busy
        );
        let small = budget.reserve(1).await.unwrap();
        assert_eq!(small.bytes, MIB, "whole mebibytes");
        drop(big);
        assert!(budget.reserve(9 * MIB).await.is_ok(), "room comes back");
        assert_eq!(
            budget.reserve(11 * MIB).await.unwrap_err(),
            BudgetError::TooLarge {
                needed_mib: 11,
                budget_mib: 10
            }
        );
    }

    #[tokio::test]
    async fn a_waiting_decode_starts_when_room_is_given_back() {
        let budget = Arc::new(DecodeBudget::new(4, Duration::from_secs(5)));
        let held = budget.reserve(4 * MIB).await.unwrap();
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.reserve(2 * MIB).await.map(|r| r.bytes) }
        });
        tokio::task::yield_now().await;
        drop(held);
        assert_eq!(waiting.await.unwrap(), Ok(2 * MIB));
    }
}
