//! The kernel's blocks, by handle. Blocks are bump-allocated within a call, so
//! each new handle is above every other and a push keeps the list sorted;
//! lookups are binary searches. A freed block stays as a mark (it still tells
//! an offset in freed bytes from one in a live block) until the marks
//! outnumber the live blocks, when they are swept out; freeing the last block
//! pops it at once. A reset keeps the list's capacity, so a warm call that
//! allocates a block or two allocates nothing here (a BTreeMap made and freed
//! a node on every call).

#[derive(Clone, Copy, Debug)]
struct Entry {
    start: u64,
    len: u64,
    live: bool,
}

#[derive(Default, Debug)]
pub(crate) struct Blocks {
    /// Sorted by `start`; blocks never overlap.
    entries: Vec<Entry>,
    live: usize,
}

/// Marks are swept once there are more of them than live blocks, plus this.
const SLACK: usize = 16;

impl Blocks {
    pub fn clear(&mut self) {
        self.entries.clear();
        self.live = 0;
    }

    /// Adds a live block; `start` is above every block's (the bump allocator's
    /// rule), else it is put in its place.
    pub fn insert(&mut self, start: u64, len: u64) {
        let entry = Entry {
            start,
            len,
            live: true,
        };
        match self.entries.last() {
            Some(last) if last.start >= start => {
                let at = self.entries.partition_point(|e| e.start < start);
                if self.entries.get(at).is_some_and(|e| e.start == start) {
                    if !self.entries[at].live {
                        self.live += 1;
                    }
                    self.entries[at] = entry;
                    return;
                }
                self.entries.insert(at, entry);
            }
            _ => self.entries.push(entry),
        }
        self.live += 1;
    }

    fn find(&self, start: u64) -> Option<usize> {
        self.entries.binary_search_by_key(&start, |e| e.start).ok()
    }

    /// Frees the live block at `start`, giving its length; None if there is none.
    pub fn remove(&mut self, start: u64) -> Option<u64> {
        let at = self.find(start).filter(|&i| self.entries[i].live)?;
        let len = self.entries[at].len;
        self.entries[at].live = false;
        self.live -= 1;
        while self.entries.last().is_some_and(|e| !e.live) {
            self.entries.pop();
        }
        if self.entries.len() > 2 * self.live + SLACK {
            self.entries.retain(|e| e.live);
        }
        Some(len)
    }

    /// The length of the live block at `start`.
    pub fn get(&self, start: u64) -> Option<u64> {
        self.find(start)
            .map(|i| self.entries[i])
            .filter(|e| e.live)
            .map(|e| e.len)
    }

    /// Whether the `n` bytes at `offset` lie inside one live block. Blocks do
    /// not overlap, so only the block starting at or before `offset` can hold
    /// them; a freed one there means freed bytes.
    pub fn covers(&self, offset: u64, n: u64) -> bool {
        let at = self.entries.partition_point(|e| e.start <= offset);
        at.checked_sub(1).map(|i| self.entries[i]).is_some_and(|e| {
            e.live
                && offset
                    .checked_add(n)
                    .is_some_and(|end| end <= e.start + e.len)
        })
    }

    /// The live block (start, length) starting at or before `offset`.
    pub fn live_before(&self, offset: u64) -> Option<(u64, u64)> {
        let at = self.entries.partition_point(|e| e.start <= offset);
        self.entries[..at]
            .iter()
            .rev()
            .find(|e| e.live)
            .map(|e| (e.start, e.len))
    }

    /// The live block (start, length) starting after `offset`.
    pub fn live_after(&self, offset: u64) -> Option<(u64, u64)> {
        let at = self.entries.partition_point(|e| e.start <= offset);
        self.entries[at..]
            .iter()
            .find(|e| e.live)
            .map(|e| (e.start, e.len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_order_lookups_and_frees() {
        let mut b = Blocks::default();
        b.insert(100, 10);
        b.insert(110, 5);
        b.insert(115, 20);
        assert_eq!(b.get(110), Some(5));
        assert_eq!(b.get(111), None);
        assert!(b.covers(110, 5) && !b.covers(110, 6) && b.covers(120, 8));
        assert!(!b.covers(99, 1) && !b.covers(135, 1));
        assert_eq!(b.remove(110), Some(5));
        assert_eq!(b.remove(110), None, "a double free finds nothing");
        assert!(!b.covers(111, 1), "freed bytes are not in a live block");
        assert_eq!(b.live_before(112), Some((100, 10)));
        assert_eq!(b.live_after(100), Some((115, 20)));
        assert_eq!(b.live_after(115), None);
        assert_eq!(b.remove(115), Some(20));
        // The last block popped, and the mark before it with it.
        assert_eq!(b.entries.len(), 1);
        b.clear();
        assert_eq!((b.get(100), b.live), (None, 0));
    }

    #[test]
    fn marks_are_swept_and_answers_stay_right() {
        let mut b = Blocks::default();
        for i in 0..1000u64 {
            b.insert(8 + i * 4, 4);
        }
        // Free every block but the last, oldest first: marks pile up, then go.
        for i in 0..999u64 {
            assert_eq!(b.remove(8 + i * 4), Some(4));
            assert!(b.entries.len() <= 2 * b.live + SLACK + 1);
        }
        assert_eq!(b.live, 1);
        assert!(b.covers(8 + 999 * 4, 4));
        assert!(!b.covers(8, 4));
        assert_eq!(b.live_before(8 + 999 * 4 + 3), Some((8 + 999 * 4, 4)));
        assert_eq!(b.live_before(20), None);
    }

    #[test]
    fn an_out_of_order_insert_keeps_the_order() {
        let mut b = Blocks::default();
        b.insert(50, 10);
        b.insert(10, 10);
        b.insert(30, 10);
        assert!(b.covers(35, 5) && b.covers(10, 10) && b.covers(55, 5));
        assert_eq!(b.live_after(15), Some((30, 10)));
        assert_eq!(b.remove(30), Some(10));
        b.insert(30, 4);
        assert_eq!((b.get(30), b.live), (Some(4), 3));
    }
}
