//! Reading arguments from C: every pointer is checked for NULL, every string for UTF-8, every
//! JSON text parsed against the fields it may have, each with an error naming the argument.

use crate::error::{
    Failure, MICRO_ERR_INVALID_JSON, MICRO_ERR_INVALID_UTF8, MICRO_ERR_NULL_ARGUMENT,
};
use serde::de::DeserializeOwned;
use std::ffi::{CStr, c_char};

/// The NUL-terminated UTF-8 string at `ptr`, which must not be NULL; `what` names it.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that lives as long as `'a`.
pub(crate) unsafe fn text<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Failure> {
    unsafe { optional_text(ptr, what) }?
        .ok_or_else(|| Failure::new(MICRO_ERR_NULL_ARGUMENT, format!("{what} must not be NULL")))
}

/// Like [`text`], with NULL read as `None`.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn optional_text<'a>(
    ptr: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller promises a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map(Some).map_err(|e| {
        Failure::new(
            MICRO_ERR_INVALID_UTF8,
            format!("{what} is not valid UTF-8 ({e}); pass UTF-8 text"),
        )
    })
}

/// The `len` bytes at `ptr`; NULL is allowed only with `len` 0.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that live as long as `'a`.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    match (ptr.is_null(), len) {
        (true, 0) => Ok(&[]),
        (true, _) => Err(Failure::new(
            MICRO_ERR_NULL_ARGUMENT,
            format!("{what} is NULL but its length is {len}"),
        )),
        // SAFETY: the caller promises `len` readable bytes.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
}

/// The JSON text at `ptr` parsed as `T`; NULL or empty text gives `T::default()`.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn json<T: DeserializeOwned + Default>(
    ptr: *const c_char,
    what: &str,
) -> Result<T, Failure> {
    match unsafe { optional_text(ptr, what) }? {
        None => Ok(T::default()),
        Some(text) if text.trim().is_empty() => Ok(T::default()),
        Some(text) => parse(text, what),
    }
}

/// `text` parsed as JSON of `T`, with an error naming `what`.
pub(crate) fn parse<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, Failure> {
    serde_json::from_str(text).map_err(|e| {
        Failure::new(
            MICRO_ERR_INVALID_JSON,
            format!("{what} is not the JSON expected: {e}"),
        )
    })
}

/// The object a handle pointer points to; `what` names it.
///
/// # Safety
/// `ptr` is NULL or a live handle from this library.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller promises a live handle or NULL.
    unsafe { ptr.as_ref() }
        .ok_or_else(|| Failure::new(MICRO_ERR_NULL_ARGUMENT, format!("{what} must not be NULL")))
}

/// Writes `value` to the out-parameter `out`, which must not be NULL.
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn put<T>(ptr: *mut T, value: T, what: &str) -> Result<(), Failure> {
    out(ptr, what)?;
    // SAFETY: checked not NULL; the caller promises it is writable.
    unsafe { ptr.write(value) };
    Ok(())
}

/// Checks that the out-parameter `out` is not NULL before any work is done.
pub(crate) fn out<T>(out: *mut T, what: &str) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::new(
            MICRO_ERR_NULL_ARGUMENT,
            format!("{what} must not be NULL"),
        ));
    }
    Ok(())
}

/// The callback `f`, which must not be NULL; `what` names it.
pub(crate) fn callback<F>(f: Option<F>, what: &str) -> Result<F, Failure> {
    f.ok_or_else(|| Failure::new(MICRO_ERR_NULL_ARGUMENT, format!("{what} must not be NULL")))
}
