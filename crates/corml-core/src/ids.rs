//! External ids (strings) mapped to dense indices, in a layout a model file can hold as is.
//!
//! The names are one byte string with an offset per name, and the lookup index is an
//! open-addressing hash table of `u32` slots keyed by the names' xxh3 hash. All three are plain
//! [`Array`]s, so a model loaded from a file looks ids up in the file's bytes (memory-mapped,
//! shared by every process serving the file) instead of building a hash map per process.

use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};
use crate::storage::Array;

/// A table slot that holds no name.
const EMPTY: u32 = u32::MAX;

/// The fewest slots of a table (a power of two).
const MIN_SLOTS: usize = 8;

/// A bijection between external ids (strings) and dense indices `0..len`.
#[derive(Clone, Default)]
pub struct IdMap {
    /// The names, concatenated (valid UTF-8, each name starting on a character boundary).
    bytes: Array<u8>,
    /// Name `i` is `bytes[offsets[i]..offsets[i + 1]]`; `len + 1` entries from 0.
    offsets: Array<u64>,
    /// Open addressing with linear probing: a power-of-two number of slots, each [`EMPTY`] or
    /// a name's index; at most half are used, so a probe always ends.
    table: Array<u32>,
}

impl IdMap {
    /// An empty map.
    pub fn new() -> Self {
        IdMap::default()
    }

    /// Builds a map from distinct names, in order; fails on a duplicate.
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Result<Self> {
        let mut map = IdMap::new();
        for name in names {
            let name = name.as_ref();
            let before = map.len();
            if map.intern(name) as usize != before {
                return Err(Error::invalid(format!(
                    "id `{name}` appears twice in an id list"
                )));
            }
        }
        Ok(map)
    }

    /// A map over arrays read from a model file, after checking that they form one: the
    /// offsets cut the bytes into valid UTF-8 names, and the table finds every name at its own
    /// index (so names are distinct) and holds nothing else.
    pub fn from_parts(bytes: Array<u8>, offsets: Array<u64>, table: Array<u32>) -> Result<Self> {
        let bad = |what: &str| Error::invalid(format!("malformed id list: {what}"));
        let text = std::str::from_utf8(&bytes).map_err(|_| bad("not valid UTF-8"))?;
        if offsets.first() != Some(&0) || offsets.last() != Some(&(bytes.len() as u64)) {
            return Err(bad("offsets do not span the names"));
        }
        if offsets.windows(2).any(|w| w[0] > w[1])
            || !offsets.iter().all(|&o| text.is_char_boundary(o as usize))
        {
            return Err(bad("offsets out of order or inside a character"));
        }
        let n = offsets.len() - 1;
        let slots = table.len();
        if n >= u32::MAX as usize || !slots.is_power_of_two() || slots < MIN_SLOTS || slots < 2 * n
        {
            return Err(bad("the lookup table has the wrong size"));
        }
        let used = table.iter().filter(|&&s| s != EMPTY).count();
        if used != n || table.iter().any(|&s| s != EMPTY && s as usize >= n) {
            return Err(bad("the lookup table holds unknown entries"));
        }
        let map = IdMap {
            bytes,
            offsets,
            table,
        };
        if (0..n as u32).any(|i| map.get(map.name(i)) != Some(i)) {
            return Err(bad(
                "the lookup table does not find every id (or an id repeats)",
            ));
        }
        Ok(map)
    }

    /// The index of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> u32 {
        let (slot, found) = self.probe(name);
        if let Some(i) = found {
            return i;
        }
        let i = self.len() as u32;
        let bytes = self.bytes.to_mut();
        bytes.extend_from_slice(name.as_bytes());
        let end = bytes.len() as u64;
        let offsets = self.offsets.to_mut();
        if offsets.is_empty() {
            offsets.push(0);
        }
        offsets.push(end);
        if 2 * self.len() > self.table.len() {
            self.rehash();
        } else {
            self.table.to_mut()[slot] = i;
        }
        i
    }

    /// The index of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.probe(name).1
    }

    /// The slot where `name` is or would go, and its index if present.
    fn probe(&self, name: &str) -> (usize, Option<u32>) {
        let slots = self.table.len();
        if slots == 0 {
            return (0, None);
        }
        let mask = slots - 1;
        let mut slot = xxh3_64(name.as_bytes()) as usize & mask;
        loop {
            match self.table[slot] {
                EMPTY => return (slot, None),
                i if self.name(i) == name => return (slot, Some(i)),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    /// Rebuilds the table with room for twice the names.
    fn rehash(&mut self) {
        let slots = (4 * self.len()).next_power_of_two().max(MIN_SLOTS);
        let mask = slots - 1;
        let mut table = vec![EMPTY; slots];
        for i in 0..self.len() as u32 {
            let mut slot = xxh3_64(self.name(i).as_bytes()) as usize & mask;
            while table[slot] != EMPTY {
                slot = (slot + 1) & mask;
            }
            table[slot] = i;
        }
        self.table = Array::from(table);
    }

    /// The name at index `i` (empty for an index out of range).
    pub fn name(&self, i: u32) -> &str {
        let i = i as usize;
        let (Some(&start), Some(&end)) = (self.offsets.get(i), self.offsets.get(i + 1)) else {
            return "";
        };
        // Checked once when the map was built: always valid UTF-8 on character boundaries.
        std::str::from_utf8(&self.bytes[start as usize..end as usize]).unwrap_or_default()
    }

    /// All names, by index.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len() as u32).map(|i| self.name(i))
    }

    /// All names, by index, as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.names().map(str::to_owned).collect()
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The arrays a model file stores: names, offsets and table (see [`IdMap::from_parts`]).
    /// An empty map has an empty table; it is given its smallest one here.
    pub fn parts(&self) -> (&[u8], Vec<u64>, Vec<u32>) {
        let offsets = if self.offsets.is_empty() {
            vec![0]
        } else {
            self.offsets.to_vec()
        };
        let table = if self.table.is_empty() {
            vec![EMPTY; MIN_SLOTS]
        } else {
            self.table.to_vec()
        };
        (&self.bytes, offsets, table)
    }
}

impl PartialEq for IdMap {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.bytes == other.bytes && self.offsets == other.offsets
    }
}

impl std::fmt::Debug for IdMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_finds_every_name_through_growth() {
        let mut map = IdMap::new();
        assert_eq!(map.get("x"), None);
        for i in 0..1000 {
            assert_eq!(map.intern(&format!("id{i}")), i);
        }
        assert_eq!(map.intern("id17"), 17);
        assert_eq!(map.len(), 1000);
        assert!((0..1000).all(|i| map.get(&format!("id{i}")) == Some(i)));
        assert_eq!(map.get("id1000"), None);
        assert_eq!(map.name(3), "id3");
        assert_eq!(map.name(5000), "");
    }

    #[test]
    fn parts_round_trip_and_bad_parts_are_refused() {
        let map = IdMap::from_names(["a", "é", "", "bb"]).unwrap();
        let (bytes, offsets, table) = map.parts();
        let back = IdMap::from_parts(
            bytes.to_vec().into(),
            offsets.clone().into(),
            table.clone().into(),
        )
        .unwrap();
        assert_eq!(back, map);
        assert_eq!(back.get("é"), Some(1));
        assert_eq!(back.get(""), Some(2));

        let refuse = |bytes: Vec<u8>, offsets: Vec<u64>, table: Vec<u32>| {
            IdMap::from_parts(bytes.into(), offsets.into(), table.into()).unwrap_err()
        };
        let inside_char = vec![0, 1, 2, 3, 3, 5];
        refuse(bytes.to_vec(), inside_char, table.clone());
        let mut repeated = table.clone();
        let used: Vec<usize> = (0..repeated.len())
            .filter(|&s| repeated[s] != EMPTY)
            .collect();
        repeated[used[0]] = repeated[used[1]];
        refuse(bytes.to_vec(), offsets.clone(), repeated);
        refuse(bytes.to_vec(), offsets.clone(), vec![EMPTY; 6]);
        refuse(b"a\xff".to_vec(), vec![0, 1, 2], vec![EMPTY; 8]);
        assert!(IdMap::from_names(["a", "b", "a"]).is_err());
    }

    #[test]
    fn the_empty_map_has_storable_parts() {
        let empty = IdMap::new();
        let (bytes, offsets, table) = empty.parts();
        let back = IdMap::from_parts(bytes.to_vec().into(), offsets.into(), table.into()).unwrap();
        assert!(back.is_empty());
        assert_eq!(back.get("a"), None);
    }
}
