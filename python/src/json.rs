//! JSON in and out of Python values, done in Rust: what handlers, the client and subscribers
//! exchange with the engine. Parsing gives what `json.loads` gives (keys in order; integers
//! beyond 64 bits become floats). Encoding takes what `json.dumps` takes (dicts, lists,
//! tuples, str, int, float, bool, None, and `str`, `int`, `float`, `bool` or `None` as keys),
//! dataclasses (field by field), and hands any other value to `go_micro._schema._plain`
//! (pydantic models, enums, bytes, sets), then encodes what that returns. Out-of-range floats
//! (NaN, infinities) are an error rather than the invalid JSON `json.dumps` writes.

use bytes::Bytes;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// How deep values may nest when encoding (deeper is taken as a reference cycle).
const MAX_DEPTH: usize = 256;

/// JSON bytes as Python data; an empty body is `None`; a `ValueError` saying where the text
/// is not JSON.
#[pyfunction]
pub fn parse<'py>(py: Python<'py>, body: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    if body.is_empty() {
        return Ok(py.None().into_bound(py));
    }
    let mut reader = serde_json::Deserializer::from_slice(body);
    let value = Value(py)
        .deserialize(&mut reader)
        .and_then(|value| reader.end().map(|()| value));
    value.map_err(|err| PyValueError::new_err(err.to_string()))
}

/// `value` as JSON bytes: `None` is `{}`, and `bytes` and `str` are taken as JSON already; a
/// `TypeError` naming what cannot be encoded.
#[pyfunction]
pub fn encode<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(bytes.clone());
    }
    to_bytes(value).map(|body| PyBytes::new(py, &body))
}

/// [`encode`] for the engine: the JSON of what a handler returned.
pub fn to_bytes(value: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    if value.is_none() {
        return Ok(Bytes::from_static(b"{}"));
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Bytes::copy_from_slice(bytes.as_bytes()));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Bytes::copy_from_slice(text.to_str()?.as_bytes()));
    }
    let mut out = Vec::with_capacity(128);
    match write(&mut out, value, 0) {
        Ok(()) => Ok(Bytes::from(out)),
        Err(err)
            if err.is_instance_of::<PyTypeError>(value.py())
                || err.is_instance_of::<PyValueError>(value.py()) =>
        {
            let kind = value.get_type().name()?;
            Err(PyTypeError::new_err(format!(
                "{kind} is not JSON-encodable ({}); use dicts, lists, dataclasses, TypedDicts or pydantic models of JSON types",
                err.value(value.py())
            )))
        }
        Err(err) => Err(err),
    }
}

/// Appends `value` as JSON.
fn write(out: &mut Vec<u8>, value: &Bound<'_, PyAny>, depth: usize) -> PyResult<()> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(
            "nested too deeply (a reference cycle?)",
        ));
    }
    if value.is_none() {
        out.extend_from_slice(b"null");
    } else if let Ok(text) = value.cast::<PyString>() {
        string(out, text.to_str()?);
    } else if let Ok(flag) = value.cast::<PyBool>() {
        out.extend_from_slice(if flag.is_true() { b"true" } else { b"false" });
    } else if let Ok(int) = value.cast::<PyInt>() {
        integer(out, int)?;
    } else if let Ok(float) = value.cast::<PyFloat>() {
        number(out, float.value())?;
    } else if let Ok(dict) = value.cast::<PyDict>() {
        object(out, dict.iter().map(Ok), depth)?;
    } else if let Ok(list) = value.cast::<PyList>() {
        sequence(out, list.iter(), depth)?;
    } else if let Ok(tuple) = value.cast::<PyTuple>() {
        sequence(out, tuple.iter(), depth)?;
    } else {
        let schema = schema(value.py())?;
        let fields = schema.fields_of.call1(value.py(), (value.get_type(),))?;
        if let Ok(fields) = fields.bind(value.py()).cast::<PyTuple>() {
            let entries = fields.iter().map(|name| {
                let item = value.getattr(name.cast::<PyString>()?)?;
                Ok::<_, PyErr>((name, item))
            });
            object(out, entries, depth)?;
        } else {
            let plain = schema.plain.call1(value.py(), (value,))?;
            write(out, plain.bind(value.py()), depth + 1)?;
        }
    }
    Ok(())
}

/// Appends a JSON object of `(key, value)` entries.
fn object<'py>(
    out: &mut Vec<u8>,
    entries: impl Iterator<Item = PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)>>,
    depth: usize,
) -> PyResult<()> {
    out.push(b'{');
    for (i, entry) in entries.enumerate() {
        let (key, item) = entry?;
        if i > 0 {
            out.push(b',');
        }
        self::key(out, &key)?;
        out.push(b':');
        write(out, &item, depth + 1)?;
    }
    out.push(b'}');
    Ok(())
}

/// Appends a JSON array of `items`.
fn sequence<'py>(
    out: &mut Vec<u8>,
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    depth: usize,
) -> PyResult<()> {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, &item, depth + 1)?;
    }
    out.push(b']');
    Ok(())
}

/// Appends a dict key as a JSON string, converting the non-string keys `json.dumps` converts.
fn key(out: &mut Vec<u8>, key: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(text) = key.cast::<PyString>() {
        string(out, text.to_str()?);
        return Ok(());
    }
    let mut text = Vec::new();
    if key.is_none()
        || key.is_instance_of::<PyBool>()
        || key.is_instance_of::<PyInt>()
        || key.is_instance_of::<PyFloat>()
    {
        write(&mut text, key, 0)?;
        string(out, std::str::from_utf8(&text).unwrap_or_default());
        return Ok(());
    }
    Err(PyTypeError::new_err(format!(
        "keys must be str, int, float, bool or None, not {}",
        key.get_type().name()?
    )))
}

/// Appends a JSON string.
fn string(out: &mut Vec<u8>, text: &str) {
    // Writing a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Appends an integer of any size.
fn integer(out: &mut Vec<u8>, int: &Bound<'_, PyInt>) -> PyResult<()> {
    if let Ok(small) = int.extract::<i64>() {
        out.extend_from_slice(small.to_string().as_bytes());
    } else {
        // Beyond 64 bits: Python's own decimal text (int.__repr__, as json.dumps writes it).
        let text = int
            .py()
            .get_type::<PyInt>()
            .call_method1("__repr__", (int,))?;
        out.extend_from_slice(text.cast::<PyString>()?.to_str()?.as_bytes());
    }
    Ok(())
}

/// Appends a finite float; an error for NaN and the infinities, which JSON cannot hold.
fn number(out: &mut Vec<u8>, value: f64) -> PyResult<()> {
    if !value.is_finite() {
        return Err(PyValueError::new_err(format!(
            "the float {value} is not JSON compliant"
        )));
    }
    let _ = serde_json::to_writer(&mut *out, &value);
    Ok(())
}

/// The helpers of `go_micro._schema` the encoder calls, looked up once.
struct Schema {
    /// `_fields_of(type)`: the field names of a dataclass, else `None`.
    fields_of: Py<PyAny>,
    /// `_plain(value)`: any other value as JSON data.
    plain: Py<PyAny>,
}

/// The [`Schema`] helpers.
fn schema(py: Python<'_>) -> PyResult<&Schema> {
    static SCHEMA: PyOnceLock<Schema> = PyOnceLock::new();
    SCHEMA.get_or_try_init(py, || {
        let module = py.import("go_micro._schema")?;
        Ok::<_, PyErr>(Schema {
            fields_of: module.getattr("_fields_of")?.unbind(),
            plain: module.getattr("_plain")?.unbind(),
        })
    })
}

/// Builds the Python value of the JSON being read.
#[derive(Clone, Copy)]
struct Value<'py>(Python<'py>);

impl<'de, 'py> DeserializeSeed<'de> for Value<'py> {
    type Value = Bound<'py, PyAny>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A Python error while building a value (out of memory, in practice), as a parse error.
fn failed<E: de::Error>(err: PyErr) -> E {
    E::custom(err)
}

impl<'de, 'py> Visitor<'de> for Value<'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.0.None().into_bound(self.0))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(PyBool::new(self.0, v).to_owned().into_any())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(PyInt::new(self.0, v).into_any())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(PyInt::new(self.0, v).into_any())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(PyFloat::new(self.0, v).into_any())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(PyString::new(self.0, v).into_any())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.0);
        while let Some(item) = seq.next_element_seed(self)? {
            list.append(item).map_err(failed)?;
        }
        Ok(list.into_any())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.0);
        while let Some(key) = map.next_key_seed(self)? {
            let value = map.next_value_seed(self)?;
            dict.set_item(key, value).map_err(failed)?;
        }
        Ok(dict.into_any())
    }
}
