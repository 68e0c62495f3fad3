//! Arrays that a model either owns or borrows from a model file's bytes.
//!
//! A model file lays its arrays out as the scoring code reads them, each one aligned, so a
//! loaded model needs no decoding: its arrays are views into the file's bytes. Those bytes are
//! read into one heap buffer ([`Backing::read`]) or memory-mapped read-only ([`Backing::map`]);
//! mapped, every process serving the same file shares the same physical pages (the operating
//! system's page cache), and loading costs one checksum pass instead of a copy and a rebuild.
//! A trained model owns its arrays ([`Array::from`] a `Vec`).

use std::fs::File;
use std::ops::Deref;
use std::sync::Arc;

use bytemuck::Pod;

#[cfg(not(all(target_endian = "little", target_pointer_width = "64")))]
compile_error!("corml-core reads model files in place: it needs a little-endian 64-bit target");

/// Where the bytes of a loaded model file live.
pub struct Backing {
    bytes: Bytes,
}

enum Bytes {
    /// Read into memory; `u64` words keep every 8-byte array aligned.
    Heap { words: Vec<u64>, len: usize },
    /// Mapped read-only from the file.
    Mapped(memmap2::Mmap),
}

impl Backing {
    /// An aligned heap buffer of `len` zero bytes, for [`Backing::bytes_mut`] to fill; `None`
    /// when the memory is not there (the caller reports `OUT_OF_MEMORY`).
    pub fn zeroed(len: usize) -> Option<Backing> {
        let mut words = Vec::new();
        words.try_reserve_exact(len.div_ceil(8)).ok()?;
        words.resize(len.div_ceil(8), 0);
        Some(Backing {
            bytes: Bytes::Heap { words, len },
        })
    }

    /// A heap copy of `bytes`.
    pub fn copy_of(bytes: &[u8]) -> Option<Backing> {
        let mut backing = Backing::zeroed(bytes.len())?;
        backing.bytes_mut()?.copy_from_slice(bytes);
        Some(backing)
    }

    /// Maps `file` read-only.
    ///
    /// The mapping shows the file's current contents, so the file must not be changed in place
    /// while a model uses it: replace it by writing a new file and renaming it over the old one
    /// (as [`crate::Model::save`] does); the old mapping keeps the old contents.
    pub fn map(file: &File) -> std::io::Result<Backing> {
        // SAFETY: the map is only ever read. Its contents can change if another process writes
        // into the file in place, which the documentation of every mapped load forbids (files
        // are replaced by rename); a change after the checksum would give different scores, not
        // unsoundness in this code, which validates every index it follows.
        let map = unsafe { memmap2::MmapOptions::new().map(file)? };
        #[cfg(unix)]
        {
            // Scoring reads V and H in no particular order: no readahead pattern helps, and
            // the checksum pass faults the pages in anyway. Advice failing changes nothing.
            let _ = map.advise(memmap2::Advice::WillNeed);
        }
        Ok(Backing {
            bytes: Bytes::Mapped(map),
        })
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Heap { words, len } => &bytemuck::cast_slice(words)[..*len],
            Bytes::Mapped(map) => map,
        }
    }

    /// The bytes of a heap buffer, to fill; `None` for a mapping.
    pub fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        match &mut self.bytes {
            Bytes::Heap { words, len } => Some(&mut bytemuck::cast_slice_mut(words)[..*len]),
            Bytes::Mapped(_) => None,
        }
    }

    /// Whether the bytes are mapped from a file (rather than read into memory).
    pub fn is_mapped(&self) -> bool {
        matches!(self.bytes, Bytes::Mapped(_))
    }
}

/// A read-only array of plain values, owned or borrowed from a [`Backing`].
pub struct Array<T: Pod> {
    repr: Repr<T>,
}

enum Repr<T> {
    Owned(Vec<T>),
    View {
        /// Keeps the bytes alive (and, mapped, the mapping).
        backing: Arc<Backing>,
        /// The first element, inside `backing`, aligned for `T`.
        ptr: *const T,
        len: usize,
    },
}

// SAFETY: a view only reads immutable bytes that its `Arc` keeps alive; `T: Pod` has no
// interior mutability, so sharing and sending it across threads is as safe as for `Vec<T>`.
unsafe impl<T: Pod + Send> Send for Repr<T> {}
// SAFETY: as above; nothing in a view is ever written.
unsafe impl<T: Pod + Sync> Sync for Repr<T> {}

impl<T: Pod> Array<T> {
    /// The `len` values starting `offset` bytes into `backing`; `None` if they do not lie
    /// within it or `offset` is not aligned for `T`.
    pub fn view(backing: &Arc<Backing>, offset: usize, len: usize) -> Option<Array<T>> {
        let size = len.checked_mul(size_of::<T>())?;
        let end = offset.checked_add(size)?;
        let bytes = backing.bytes().get(offset..end)?;
        if len == 0 {
            return Some(Array::from(Vec::new()));
        }
        let values: &[T] = bytemuck::try_cast_slice(bytes).ok()?;
        Some(Array {
            repr: Repr::View {
                backing: Arc::clone(backing),
                ptr: values.as_ptr(),
                len,
            },
        })
    }

    /// The values, owned (copied out of a view).
    pub fn to_mut(&mut self) -> &mut Vec<T> {
        if let Repr::View { .. } = self.repr {
            self.repr = Repr::Owned(self.to_vec());
        }
        match &mut self.repr {
            Repr::Owned(v) => v,
            Repr::View { .. } => unreachable!("converted to owned above"),
        }
    }

    /// Whether the values are borrowed from a memory-mapped file.
    pub fn is_mapped(&self) -> bool {
        matches!(&self.repr, Repr::View { backing, .. } if backing.is_mapped())
    }
}

impl<T: Pod> Deref for Array<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match &self.repr {
            Repr::Owned(v) => v,
            // SAFETY: `ptr` and `len` were taken from a slice of `backing`'s bytes that was
            // checked to be in bounds and aligned for `T` (`Array::view`); the bytes never move
            // (a heap buffer is never resized, a mapping never remapped) and `backing` lives as
            // long as this array.
            Repr::View { ptr, len, .. } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
        }
    }
}

impl<T: Pod> From<Vec<T>> for Array<T> {
    fn from(values: Vec<T>) -> Self {
        Array {
            repr: Repr::Owned(values),
        }
    }
}

impl<T: Pod> Default for Array<T> {
    fn default() -> Self {
        Array::from(Vec::new())
    }
}

impl<T: Pod> Clone for Array<T> {
    fn clone(&self) -> Self {
        match &self.repr {
            Repr::Owned(v) => Array::from(v.clone()),
            Repr::View { backing, ptr, len } => Array {
                repr: Repr::View {
                    backing: Arc::clone(backing),
                    ptr: *ptr,
                    len: *len,
                },
            },
        }
    }
}

impl<T: Pod + PartialEq> PartialEq for Array<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_check_bounds_and_alignment() {
        let bytes: Vec<u8> = (0u32..8).flat_map(u32::to_le_bytes).collect();
        let backing = Arc::new(Backing::copy_of(&bytes).unwrap());
        let all = Array::<u32>::view(&backing, 0, 8).unwrap();
        assert_eq!(&*all, &[0, 1, 2, 3, 4, 5, 6, 7]);
        let tail = Array::<u32>::view(&backing, 16, 4).unwrap();
        assert_eq!(&*tail, &[4, 5, 6, 7]);
        assert!(Array::<u32>::view(&backing, 2, 1).is_none(), "misaligned");
        assert!(
            Array::<u32>::view(&backing, 16, 5).is_none(),
            "past the end"
        );
        assert!(
            Array::<u32>::view(&backing, usize::MAX, 1).is_none(),
            "overflow"
        );
        assert!(Array::<u32>::view(&backing, 32, 0).unwrap().is_empty());
        assert!(!all.is_mapped());
    }

    #[test]
    fn a_view_outlives_its_other_owners_and_copies_on_write() {
        let backing = Arc::new(Backing::copy_of(&1.5f32.to_le_bytes()).unwrap());
        let mut view = Array::<f32>::view(&backing, 0, 1).unwrap();
        let copy = view.clone();
        drop(backing);
        view.to_mut().push(2.0);
        assert_eq!(&*view, &[1.5, 2.0]);
        assert_eq!(&*copy, &[1.5]);
    }

    #[test]
    fn mapped_files_are_views() {
        let dir = std::env::temp_dir().join(format!("corml-storage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("words");
        std::fs::write(&path, [7u8, 0, 0, 0, 9, 0, 0, 0]).unwrap();
        let backing = Arc::new(Backing::map(&File::open(&path).unwrap()).unwrap());
        let words = Array::<u32>::view(&backing, 0, 2).unwrap();
        assert_eq!(&*words, &[7, 9]);
        assert!(words.is_mapped());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
