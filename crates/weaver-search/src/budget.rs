//! The time budget of one search, and a query wrapper that stops matching when it runs out.
//!
//! The query limits ([`crate::MAX_QUERY_CLAUSES`] and the others) bound how much work a query
//! can ask for per document; the budget bounds the rest (a huge vault, a slow disk, a busy
//! machine). Every phase of a search checks it: prefix expansion while it scans the term
//! dictionary, matching (through [`Budgeted`], whose scorer ends the document stream once the
//! deadline has passed) and the loading of hits and snippets. A search that ran out answers
//! [`SearchError::Timeout`] instead of a partial result.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED};

use crate::SearchError;

/// The scorer looks at the clock once per this many documents: often enough to stop within
/// microseconds of the deadline, rarely enough to cost nothing measurable.
const DOCS_PER_CHECK: u32 = 1024;

/// The deadline of one search, shared by all its phases (cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct Budget(Arc<State>);

#[derive(Debug)]
struct State {
    /// `None` when the budget is too large to express as an instant: no deadline.
    deadline: Option<Instant>,
    limit: Duration,
    exceeded: AtomicBool,
}

impl Budget {
    /// A budget of `limit` starting now.
    pub(crate) fn start(limit: Duration) -> Budget {
        Budget(Arc::new(State {
            deadline: Instant::now().checked_add(limit),
            limit,
            exceeded: AtomicBool::new(false),
        }))
    }

    /// Whether the deadline has passed; once it has, this stays true.
    pub(crate) fn expired(&self) -> bool {
        if self.0.exceeded.load(Ordering::Relaxed) {
            return true;
        }
        let expired = self
            .0
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline);
        if expired {
            self.0.exceeded.store(true, Ordering::Relaxed);
        }
        expired
    }

    /// [`SearchError::Timeout`] once the deadline has passed.
    pub(crate) fn check(&self) -> Result<(), SearchError> {
        if self.expired() {
            return Err(SearchError::Timeout {
                budget: self.0.limit,
            });
        }
        Ok(())
    }
}

/// Wraps a query so that its matching stops when `budget` runs out. The documents seen until
/// then are incomplete, so the caller must [`Budget::check`] after the search.
#[derive(Debug, Clone)]
pub(crate) struct Budgeted {
    pub(crate) query: Arc<dyn Query>,
    pub(crate) budget: Budget,
}

impl Query for Budgeted {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(BudgetedWeight {
            weight: self.query.weight(enable_scoring)?,
            budget: self.budget.clone(),
        }))
    }
}

struct BudgetedWeight {
    weight: Box<dyn Weight>,
    budget: Budget,
}

impl Weight for BudgetedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        // Building a scorer reads posting lists; a search that already ran out skips it.
        if self.budget.expired() {
            return Ok(Box::new(EmptyScorer));
        }
        Ok(Box::new(BudgetedScorer {
            scorer: self.weight.scorer(reader, boost)?,
            budget: self.budget.clone(),
            until_check: 0,
            stopped: false,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.weight.explain(reader, doc)
    }
}

/// Passes documents through until the budget runs out, then reports the end of the stream.
/// Every collector tantivy runs over a [`Weight`] by default (scored, unscored, pruning and
/// counting) drives the scorer through `advance`, so this one check point covers them all.
struct BudgetedScorer {
    scorer: Box<dyn Scorer>,
    budget: Budget,
    /// Documents left before the next look at the clock.
    until_check: u32,
    stopped: bool,
}

impl BudgetedScorer {
    /// Whether to stop now; looks at the clock every [`DOCS_PER_CHECK`] calls.
    fn out_of_budget(&mut self) -> bool {
        if self.until_check == 0 {
            self.until_check = DOCS_PER_CHECK;
            self.stopped = self.budget.expired();
        }
        self.until_check -= 1;
        self.stopped
    }
}

impl DocSet for BudgetedScorer {
    fn advance(&mut self) -> DocId {
        if self.stopped || self.out_of_budget() {
            return TERMINATED;
        }
        self.scorer.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.stopped || self.out_of_budget() {
            return TERMINATED;
        }
        self.scorer.seek(target)
    }

    fn doc(&self) -> DocId {
        if self.stopped {
            return TERMINATED;
        }
        self.scorer.doc()
    }

    fn size_hint(&self) -> u32 {
        self.scorer.size_hint()
    }
}

impl Scorer for BudgetedScorer {
    fn score(&mut self) -> Score {
        self.scorer.score()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::Count;
    use tantivy::query::AllQuery;
    use tantivy::schema::{STORED, Schema, TEXT};
    use tantivy::{Index, TantivyDocument};

    use super::*;

    fn index_of(docs: usize) -> Index {
        let mut builder = Schema::builder();
        let body = builder.add_text_field("body", TEXT | STORED);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for _ in 0..docs {
            let mut doc = TantivyDocument::default();
            doc.add_text(body, "word");
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        index
    }

    #[test]
    fn matching_stops_when_the_budget_is_spent() {
        let index = index_of(10_000);
        let searcher = index.reader().unwrap().searcher();

        let ample = Budgeted {
            query: Arc::new(AllQuery),
            budget: Budget::start(Duration::from_secs(3600)),
        };
        assert_eq!(searcher.search(&ample, &Count).unwrap(), 10_000);
        assert!(ample.budget.check().is_ok());

        // A deadline that has passed: no scorer is even built, and the search reports it.
        let spent = Budgeted {
            query: Arc::new(AllQuery),
            budget: Budget::start(Duration::ZERO),
        };
        assert_eq!(searcher.search(&spent, &Count).unwrap(), 0);
        assert!(matches!(
            spent.budget.check(),
            Err(SearchError::Timeout { budget }) if budget == Duration::ZERO
        ));
    }

    /// Counts the documents a budgeted scorer over every document yields.
    fn stream_length(index: &Index, budget: Budget) -> usize {
        let searcher = index.reader().unwrap().searcher();
        let weight = AllQuery
            .weight(EnableScoring::disabled_from_searcher(&searcher))
            .unwrap();
        let mut scorer = BudgetedScorer {
            scorer: weight.scorer(searcher.segment_reader(0), 1.0).unwrap(),
            budget,
            until_check: 0,
            stopped: false,
        };
        let mut seen = 0;
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            seen += 1;
            doc = scorer.advance();
        }
        seen
    }

    #[test]
    fn a_running_scorer_stops_at_the_deadline() {
        let index = index_of(10_000);
        assert_eq!(
            stream_length(&index, Budget::start(Duration::from_secs(3600))),
            10_000
        );
        // The deadline passed while the scorer was being built: it yields the document it was
        // positioned on and stops at its first look at the clock.
        assert_eq!(stream_length(&index, Budget::start(Duration::ZERO)), 1);
    }

    #[test]
    fn huge_budgets_mean_no_deadline() {
        let budget = Budget::start(Duration::MAX);
        assert!(!budget.expired());
        assert!(budget.check().is_ok());
    }
}
