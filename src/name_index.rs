//! The module table's entries by module name: a hash table of entry positions, keyed
//! by the names the entries hold.
//!
//! The table keeps an entry per module for the whole session; a map from a shared copy
//! of each name to its position took 24 bytes a slot (about 40 a module at the map's
//! usual load). A slot here is a 4-byte position: the name is compared where the entry
//! keeps it.

use hashbrown::HashTable;

#[derive(Debug, Default)]
pub struct NameIndex {
    positions: HashTable<u32>,
    hasher: ahash::RandomState,
}

impl NameIndex {
    /// The position of the entry named `name`; `name_of` gives each entry's name.
    pub fn get<'a>(&self, name: &str, name_of: impl Fn(usize) -> &'a str) -> Option<usize> {
        let hash = self.hasher.hash_one(name);
        self.positions
            .find(hash, |&at| name_of(at as usize) == name)
            .map(|&at| at as usize)
    }

    /// Records that the entry at `at` is named `name` (a name not recorded yet).
    pub fn insert<'a>(&mut self, name: &str, at: usize, name_of: impl Fn(usize) -> &'a str) {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(name);
        self.positions.insert_unique(hash, position(at), |&other| {
            hasher.hash_one(name_of(other as usize))
        });
    }

    /// Makes room for `more` names.
    pub fn reserve<'a>(&mut self, more: usize, name_of: impl Fn(usize) -> &'a str) {
        let hasher = &self.hasher;
        self.positions
            .reserve(more, |&at| hasher.hash_one(name_of(at as usize)));
    }

    /// An index of `names`, each at its position.
    pub fn of<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> NameIndex {
        let mut index = NameIndex::default();
        let names: Vec<&str> = names.collect();
        index.reserve(names.len(), |at| names[at]);
        for (at, name) in names.iter().enumerate() {
            index.insert(name, at, |other| names[other]);
        }
        index
    }
}

/// Positions are kept in 4 bytes: more than 4 billion modules is out of reach.
fn position(at: usize) -> u32 {
    u32::try_from(at).expect("fewer than 2^32 modules")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_name_at_its_position() {
        let names: Vec<String> = (0..1000).map(|i| format!("pkg.m{i}")).collect();
        let index = NameIndex::of(names.iter().map(String::as_str));
        for (at, name) in names.iter().enumerate() {
            assert_eq!(index.get(name, |i| &names[i]), Some(at));
        }
        assert_eq!(index.get("pkg.m1000", |i| &names[i]), None);
    }

    #[test]
    fn grows_as_names_are_added() {
        let mut names: Vec<String> = Vec::new();
        let mut index = NameIndex::default();
        for i in 0..100 {
            names.push(format!("m{i}"));
            index.insert(&names[i], i, |at| &names[at]);
        }
        assert_eq!(index.get("m57", |at| &names[at]), Some(57));
    }
}
