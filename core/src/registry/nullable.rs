//! Serde helpers for go-micro's JSON, where an absent map, list or string is written `null`:
//! decoders take `null` as empty, encoders write empty maps and lists as `null`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Reads `null` as the type's empty value.
pub fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Writes an empty map or list as `null`, as Go writes a nil one.
pub fn serialize<S, T>(value: &T, s: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    T: Serialize + IsEmpty,
{
    if value.is_empty() {
        s.serialize_none()
    } else {
        value.serialize(s)
    }
}

/// Collections that Go leaves nil when empty.
pub trait IsEmpty {
    /// True when there is nothing inside.
    fn is_empty(&self) -> bool;
}

impl<T> IsEmpty for Vec<T> {
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}

impl<K, V, S> IsEmpty for std::collections::HashMap<K, V, S> {
    fn is_empty(&self) -> bool {
        std::collections::HashMap::is_empty(self)
    }
}
