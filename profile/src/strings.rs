//! A profile's string table kept as one text and where each string ends. Large profiles
//! name tens of thousands of functions and files: one allocation for all their strings
//! costs a fraction of one allocation each, as the wire model has them.

use prost::encoding::{WireType, encode_key, encode_varint};

/// `Profile.string_table`'s field number.
pub(crate) const FIELD: u32 = 6;

/// The strings of one profile, by index; index 0 is the empty string in any valid
/// profile (checked in [`crate::decode`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StringTable {
    text: String,
    /// Where each string ends in `text`: string `i` starts where string `i - 1` ends.
    ends: Vec<usize>,
}

impl StringTable {
    /// Adds `s` at the end and returns its index.
    pub(crate) fn push(&mut self, s: &str) -> i64 {
        self.text.push_str(s);
        self.ends.push(self.text.len());
        self.ends.len() as i64 - 1
    }

    /// The string at index `i`, if there is one.
    pub(crate) fn get(&self, i: i64) -> Option<&str> {
        let i = usize::try_from(i).ok()?;
        let end = *self.ends.get(i)?;
        let start = i.checked_sub(1).map_or(0, |before| self.ends[before]);
        Some(&self.text[start..end])
    }

    /// The string at index `i`, empty when there is none: a reference out of range reads
    /// as no name, as pprof reads it.
    pub(crate) fn str(&self, i: i64) -> &str {
        self.get(i).unwrap_or_default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Appends the strings to `out` as the `string_table` fields of an encoded `Profile`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut start = 0;
        for &end in &self.ends {
            encode_key(FIELD, WireType::LengthDelimited, out);
            encode_varint((end - start) as u64, out);
            out.extend_from_slice(&self.text.as_bytes()[start..end]);
            start = end;
        }
    }
}

impl<S: AsRef<str>> FromIterator<S> for StringTable {
    fn from_iter<I: IntoIterator<Item = S>>(strings: I) -> StringTable {
        let mut table = StringTable::default();
        for s in strings {
            table.push(s.as_ref());
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::proto;

    #[test]
    fn strings_come_back_by_index_and_encode_as_prost_does() {
        let strings = ["", "main.main", "", "caf\u{e9}", "/src/main.go"];
        let table: StringTable = strings.iter().collect();
        for (i, s) in strings.iter().enumerate() {
            assert_eq!(table.get(i as i64), Some(*s));
        }
        assert_eq!(table.get(5), None);
        assert_eq!(table.get(-1), None);
        let mut encoded = Vec::new();
        table.encode(&mut encoded);
        let wire = proto::Profile {
            string_table: strings.map(String::from).to_vec(),
            ..proto::Profile::default()
        };
        assert_eq!(encoded, wire.encode_to_vec());
    }
}
