//! Memory handed to C: byte buffers (`micro_buf`, freed with `micro_buf_free`) and
//! NUL-terminated strings (JSON, addresses; freed with `micro_string_free`).

use crate::error::{self, Failure};
use std::ffi::{CString, c_char};
use std::ptr;

/// Bytes owned by the caller until freed once with `micro_buf_free`. An empty buffer may have
/// a NULL `ptr`.
#[repr(C)]
pub struct micro_buf {
    /// The first byte, or NULL when empty.
    pub ptr: *mut u8,
    /// How many bytes.
    pub len: usize,
}

impl micro_buf {
    /// An empty buffer: nothing to free.
    pub(crate) const EMPTY: micro_buf = micro_buf {
        ptr: ptr::null_mut(),
        len: 0,
    };

    /// Hands `bytes` to C.
    pub(crate) fn new(bytes: &[u8]) -> micro_buf {
        if bytes.is_empty() {
            return micro_buf::EMPTY;
        }
        let boxed: Box<[u8]> = bytes.into();
        let len = boxed.len();
        micro_buf {
            ptr: Box::into_raw(boxed).cast(),
            len,
        }
    }
}

/// A string for C, freed with `micro_string_free`.
pub(crate) fn string(text: &str) -> *mut c_char {
    error::c_string(text)
}

/// `value` as JSON text for C.
pub(crate) fn json_string<T: serde::Serialize>(value: &T) -> Result<*mut c_char, Failure> {
    let text = serde_json::to_string(value)
        .map_err(|e| Failure::new(500, format!("cannot encode the answer as JSON: {e}")))?;
    Ok(string(&text))
}

/// Frees the bytes of a buffer this library returned and empties it (`ptr` NULL, `len` 0),
/// so freeing it again does nothing. NULL, and an empty buffer, are ignored. Any thread.
///
/// # Safety
/// `buf` is NULL or points to a `micro_buf` that this library filled and that was not
/// freed since (or was emptied by this function).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_buf_free(buf: *mut micro_buf) {
    error::quietly(|| {
        // SAFETY: the caller passes NULL or a buffer it owns.
        let Some(buf) = (unsafe { buf.as_mut() }) else {
            return;
        };
        if !buf.ptr.is_null() {
            // SAFETY: made by `micro_buf::new` from a `Box<[u8]>` of this length.
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(buf.ptr, buf.len)) });
        }
        *buf = micro_buf::EMPTY;
    });
}

/// Frees a string this library returned (JSON text, an address, ...). NULL is ignored. Any
/// thread.
///
/// # Safety
/// `s` is NULL or a string from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    // SAFETY: made by `CString::into_raw`.
    error::quietly(|| drop(unsafe { CString::from_raw(s) }));
}
