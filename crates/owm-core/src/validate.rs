/// Hyperparameters that can be checked before use.
///
/// Configs stay plain serialisable data (Burn's `#[derive(Config)]` or serde); `check` states every rule once,
/// with one error variant per rule, and constructors that consume a config call it first, as linfa's
/// `ParamGuard` does.
pub trait Validate {
    /// The error naming the violated rule.
    type Error: std::error::Error;

    /// Checks every rule, returning the first one violated.
    ///
    /// # Errors
    ///
    /// The variant of [`Validate::Error`] for the rule that failed.
    fn check(&self) -> Result<(), Self::Error>;
}
