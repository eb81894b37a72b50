//! The memory budget: how much a run may ask for before it allocates.
//!
//! Readers and the pipeline compare what a request needs (a dataset's declared size, a model's weights with
//! their gradients and optimiser state) with the budget first, and refuse with [`Error::TooLarge`] instead of
//! letting the allocator abort the process halfway through.

use crate::{Error, Result};

/// The variable that states the budget (`512M`, `8G`, or bytes); without it, the memory the kernel reports as
/// available (`MemAvailable` in `/proc/meminfo`) is the budget, and where neither is known there is none.
pub const MEMORY_ENV: &str = "OWM_MAX_MEMORY";

/// The budget in bytes and where it comes from, or `None` where nothing states one.
///
/// # Errors
///
/// [`Error::MemoryBudget`] when `OWM_MAX_MEMORY` is set but is not a size.
pub fn memory_budget() -> Result<Option<(u64, String)>> {
    if let Some(value) = std::env::var_os(MEMORY_ENV) {
        let value = value.to_string_lossy().into_owned();
        return parse_size(&value).map(|b| Some((b, format!("{MEMORY_ENV}={value}")))).ok_or(Error::MemoryBudget { env: MEMORY_ENV, value });
    }
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib.saturating_mul(1024))
    });
    Ok(available.map(|b| (b, "the memory available on this machine".into())))
}

/// Refuses `needs` bytes for `what` when they exceed the budget.
///
/// # Errors
///
/// [`Error::TooLarge`] naming `what`, both sizes, where the budget comes from and `hint`;
/// [`Error::MemoryBudget`] for an unreadable `OWM_MAX_MEMORY`.
pub fn check_memory(what: impl FnOnce() -> String, needs: u128, hint: &str) -> Result<()> {
    match memory_budget()? {
        Some((budget, why)) if needs > u128::from(budget) => {
            Err(Error::TooLarge { what: what(), needs: u64::try_from(needs).unwrap_or(u64::MAX), budget, why, hint: hint.into() })
        }
        _ => Ok(()),
    }
}

/// `512M`, `8G`, `64k`, `1T` (powers of 1024) or plain bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last()? {
        (i, 'k' | 'K') => (&text[..i], 10),
        (i, 'm' | 'M') => (&text[..i], 20),
        (i, 'g' | 'G') => (&text[..i], 30),
        (i, 't' | 'T') => (&text[..i], 40),
        _ => (text, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1u64 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_parse_sizes_in_powers_of_1024() {
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("8g"), Some(8 << 30));
        assert_eq!(parse_size(" 1024 "), Some(1024));
        assert_eq!(parse_size("3k"), Some(3072));
        for bad in ["", "G", "-1G", "1.5G", "8GB", "99999999999T"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }
}
