use core::fmt;

/// Why a kernel could not return a value. Each variant names the failure, not the kernel, so
/// callers (the programs) can map it onto their own append-only error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MathError {
    /// An argument lies outside the function's domain (ln of a non-positive number, a negative
    /// volatility, a probability outside (0, 1), a non-symmetric correlation matrix, ...).
    Domain,
    /// The exact result does not fit the output type.
    Overflow,
    /// A division by zero (a zero balance, a zero weight, ...).
    DivisionByZero,
    /// Slices that must have matching lengths do not, or exceed the supported maximum.
    Dimension,
}

impl fmt::Display for MathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MathError::Domain => "argument outside the function's domain",
            MathError::Overflow => "result does not fit the output type",
            MathError::DivisionByZero => "division by zero",
            MathError::Dimension => "mismatched or unsupported dimensions",
        })
    }
}

impl core::error::Error for MathError {}

pub type MathResult<T> = Result<T, MathError>;
