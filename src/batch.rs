//! Work items from many articles → model batches packed to a token budget.
//!
//! Models pay for padding: a batch costs rows × its longest row. Items are therefore sorted
//! by length (longest first, so the costly rows are settled early and share batches with rows
//! of like size) and packed greedily while rows × longest ≤ `max_tokens` and rows ≤
//! `max_items`, as text-embeddings-inference's queue does. An item longer than the budget
//! goes alone rather than being dropped. The plan is deterministic (a stable sort), so a run
//! batches the same way every time.

/// Group the items with the given token lengths into batches; returns indices into
/// `lengths`. Every index appears in exactly one batch.
pub fn plan(lengths: &[usize], max_tokens: usize, max_items: usize) -> Vec<Vec<usize>> {
    let max_items = max_items.max(1);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]));
    let mut batches = Vec::new();
    let mut cur: Vec<usize> = Vec::new();
    let mut longest = 0usize;
    for i in order {
        let len = lengths[i].max(1);
        let new_longest = longest.max(len);
        let fits = cur.len() < max_items && new_longest * (cur.len() + 1) <= max_tokens;
        if !cur.is_empty() && !fits {
            batches.push(std::mem::take(&mut cur));
            longest = 0;
        }
        longest = longest.max(len);
        cur.push(i);
    }
    if !cur.is_empty() {
        batches.push(cur);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn packs_by_padded_cost() {
        // 4 rows of 100 fit 400; the 300-long item fits only one more row of its size.
        let b = plan(&[100, 300, 100, 100, 100], 400, 64);
        assert_eq!(b, vec![vec![1], vec![0, 2, 3, 4]]);
    }

    #[test]
    fn oversized_item_goes_alone_and_max_items_holds() {
        assert_eq!(plan(&[1000, 10], 100, 64), vec![vec![0], vec![1]]);
        assert_eq!(plan(&[1, 1, 1], 100, 2), vec![vec![0, 1], vec![2]]);
        assert!(plan(&[], 100, 2).is_empty());
    }

    proptest! {
        #[test]
        fn every_item_once_and_within_budget(lengths in prop::collection::vec(0usize..300, 0..60), budget in 1usize..2000, items in 1usize..10) {
            let batches = plan(&lengths, budget, items);
            let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
            seen.sort();
            prop_assert_eq!(seen, (0..lengths.len()).collect::<Vec<_>>());
            for b in &batches {
                prop_assert!(!b.is_empty() && b.len() <= items);
                let longest = b.iter().map(|&i| lengths[i].max(1)).max().unwrap();
                prop_assert!(b.len() == 1 || longest * b.len() <= budget);
            }
        }
    }
}
