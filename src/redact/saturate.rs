//! A deserializer that fills every field of any type: the given text in every string, `Some` in
//! every option, one element in every sequence and map, `true` and non-zero numbers elsewhere.
//!
//! Tests use it to build a value of a wire type with every field populated without naming a
//! single field, so that a field declared later is populated too, and a test of redaction
//! fails the day one escapes it.

use serde::de::value::{Error, StrDeserializer};
use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor,
};

/// How many options and collections deep values are filled; below that they are empty, so that
/// a recursive type ends.
const DEPTH: u8 = 16;

/// A `T` with every field populated, every string being `text`.
pub(crate) fn saturated<T: DeserializeOwned>(text: &str) -> T {
    T::deserialize(Saturate { text, depth: 0 })
        .unwrap_or_else(|e| panic!("{}: {e}", std::any::type_name::<T>()))
}

#[derive(Clone, Copy)]
struct Saturate<'t> {
    text: &'t str,
    depth: u8,
}

impl<'t> Saturate<'t> {
    /// The filler one level down, or `None` when the levels are used up.
    fn deeper(self) -> Option<Saturate<'t>> {
        (self.depth < DEPTH).then_some(Saturate {
            depth: self.depth + 1,
            ..self
        })
    }
}

/// Deserializer methods, each answering with one expression of the filler `$s` and the visitor
/// `$v`; `[a b] => …` gives several methods without arguments the same answer.
macro_rules! answers {
    () => {};
    ([$($method:ident)+] => |$s:ident, $v:ident| $answer:expr; $($rest:tt)*) => {
        $(answers!($method() => |$s, $v| $answer;);)+
        answers!($($rest)*);
    };
    ($method:ident($($arg:ident: $ty:ty),*) => |$s:ident, $v:ident| $answer:expr; $($rest:tt)*) => {
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Error> {
            let ($s, $v) = (self, visitor);
            $answer
        }
        answers!($($rest)*);
    };
}

impl<'de> Deserializer<'de> for Saturate<'_> {
    type Error = Error;

    answers! {
        // A type that does not say what it wants gets a string, the shape of agent text.
        [deserialize_any deserialize_str deserialize_string deserialize_identifier] =>
            |s, v| v.visit_str(s.text);
        [deserialize_bytes deserialize_byte_buf] => |s, v| v.visit_bytes(s.text.as_bytes());
        [deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
         deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128] =>
            |_s, v| v.visit_u64(7);
        [deserialize_f32 deserialize_f64] => |_s, v| v.visit_f64(1.5);
        [deserialize_bool] => |_s, v| v.visit_bool(true);
        [deserialize_char] => |_s, v| v.visit_char('c');
        [deserialize_unit deserialize_ignored_any] => |_s, v| v.visit_unit();
        deserialize_unit_struct(_name: &'static str) => |_s, v| v.visit_unit();
        deserialize_newtype_struct(_name: &'static str) => |s, v| v.visit_newtype_struct(s);
        deserialize_option() => |s, v| match s.deeper() {
            Some(inner) => v.visit_some(inner),
            None => v.visit_none(),
        };
        deserialize_seq() => |s, v| v.visit_seq(Items { item: s.deeper(), left: 1 });
        deserialize_tuple(len: usize) => |s, v| v.visit_seq(Items { item: Some(s), left: len });
        deserialize_tuple_struct(_name: &'static str, len: usize) =>
            |s, v| s.deserialize_tuple(len, v);
        // One entry, key and value both filled, unless the levels are used up.
        deserialize_map() => |s, v| v.visit_map(Pairs {
            keys: s.deeper().into_iter(),
            value: s.deeper().unwrap_or(s),
        });
        deserialize_struct(_name: &'static str, fields: &'static [&'static str]) =>
            |s, v| v.visit_map(Pairs {
                keys: fields.iter().map(|field| StrDeserializer::new(field)),
                value: s,
            });
        // Which variant to fill would be a guess that leaves the others' fields empty: a wire
        // type that gains a derived enum must teach this deserializer its variants first.
        deserialize_enum(name: &'static str, _variants: &'static [&'static str]) =>
            |_s, _v| Err(Error::custom(format!(
                "saturating the enum {name} is not supported: fill each of its variants"
            )));
    }
}

/// A sequence of `left` equal items.
struct Items<'t> {
    item: Option<Saturate<'t>>,
    left: usize,
}

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.item {
            Some(item) if self.left > 0 => {
                self.left -= 1;
                seed.deserialize(item).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// A map: each of `keys`, with a filled value.
struct Pairs<'t, K> {
    keys: K,
    value: Saturate<'t>,
}

impl<'de, K, D> MapAccess<'de> for Pairs<'_, K>
where
    K: Iterator<Item = D>,
    D: Deserializer<'de, Error = Error>,
{
    type Error = Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        self.keys
            .next()
            .map(|key| seed.deserialize(key))
            .transpose()
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(self.value)
    }
}
