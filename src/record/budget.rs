//! The budgets of a run against real AWS: tokens (`LABCHECK_MAX_TOKENS`),
//! spent per lab, with the check that refuses a request once it would exceed
//! the budget; and setup-service calls (`LABCHECK_MAX_SETUP_CALLS`), counted
//! for the whole run, which stop a lab that creates resources in a loop.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Default setup-call budget of a record or live run.
pub const DEFAULT_MAX_SETUP_CALLS: u64 = 500;

/// Setup-service calls the steps of a run may make through the
/// pass-through (labcheck's own seed, state and cleanup calls are free: a
/// cleanup must never be refused).
#[derive(Debug)]
pub struct CallBudget {
    max: u64,
    used: AtomicU64,
}

/// A setup call refused because the run's call budget is spent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "labcheck: setup-call budget exhausted: {max} calls of LABCHECK_MAX_SETUP_CALLS={max} made in this run (hint: raise LABCHECK_MAX_SETUP_CALLS if the lab really makes more)"
)]
pub struct CallBudgetExhausted {
    pub max: u64,
}

impl CallBudget {
    pub fn new(max: u64) -> CallBudget {
        CallBudget {
            max,
            used: AtomicU64::new(0),
        }
    }

    /// Takes one call, or refuses once `max` were taken.
    pub fn take(&self) -> Result<(), CallBudgetExhausted> {
        let took = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max).then_some(n + 1)
            });
        took.map(|_| ())
            .map_err(|_| CallBudgetExhausted { max: self.max })
    }

    /// The most calls allowed.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Calls taken so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }
}

use serde_json::Value;

/// Tokens spent so far, per lab, against one maximum for the whole run.
#[derive(Debug)]
pub struct Budget {
    max: u64,
    spent: Mutex<BTreeMap<String, Tokens>>,
}

/// A live request refused because the run's token budget would be exceeded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "labcheck live: token budget exhausted: {spent} of LABCHECK_MAX_TOKENS={max} spent, this request may use up to {requested} more (hint: raise LABCHECK_MAX_TOKENS)"
)]
pub struct BudgetExhausted {
    pub spent: u64,
    pub max: u64,
    pub requested: u64,
}

/// Input and output tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
}

impl Tokens {
    pub fn total(self) -> u64 {
        self.input + self.output
    }
}

impl Budget {
    pub fn new(max: u64) -> Budget {
        Budget {
            max,
            spent: Mutex::new(BTreeMap::new()),
        }
    }

    /// The run's maximum.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Tokens spent across all labs.
    pub fn total(&self) -> u64 {
        self.per_lab().values().map(|t| t.total()).sum()
    }

    /// Tokens spent per lab id.
    pub fn per_lab(&self) -> BTreeMap<String, Tokens> {
        self.spent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// An error if a request that may produce `requested` output tokens
    /// (plus at least one input token) would exceed the budget.
    pub fn admit(&self, requested: u64) -> Result<(), BudgetExhausted> {
        let spent = self.total();
        if spent.saturating_add(requested.max(1)) > self.max {
            return Err(BudgetExhausted {
                spent,
                max: self.max,
                requested,
            });
        }
        Ok(())
    }

    /// Adds what a response used to `lab`'s count.
    pub fn spend(&self, lab: &str, used: Tokens) {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let t = spent.entry(lab.to_string()).or_default();
        t.input += used.input;
        t.output += used.output;
    }

    /// One line per lab: `tokens spent: <lab> <in> in + <out> out`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (lab, t) in self.per_lab() {
            out.push_str(&format!(
                "tokens spent: {lab} {} in + {} out = {} (budget {})\n",
                t.input,
                t.output,
                t.total(),
                self.max
            ));
        }
        out
    }
}

/// The most output tokens a request body asks for (`max_tokens`,
/// `inferenceConfig.maxTokens`, `max_gen_len`, …); 0 if it says nothing.
pub fn requested_tokens(body: &Value) -> u64 {
    let candidates = [
        "/max_tokens",
        "/inferenceConfig/maxTokens",
        "/max_gen_len",
        "/textGenerationConfig/maxTokenCount",
        "/max_tokens_to_sample",
    ];
    candidates
        .iter()
        .filter_map(|p| body.pointer(p).and_then(Value::as_u64))
        .max()
        .unwrap_or(0)
}

/// Usage in a response body or stream payload: Converse `usage`, the invoke
/// stream's `amazon-bedrock-invocationMetrics`, or Anthropic `usage`.
pub fn usage_in(value: &Value) -> Option<Tokens> {
    let pick = |v: &Value, i: &str, o: &str| {
        let input = v.get(i).and_then(Value::as_u64);
        let output = v.get(o).and_then(Value::as_u64);
        (input.is_some() || output.is_some()).then(|| Tokens {
            input: input.unwrap_or(0),
            output: output.unwrap_or(0),
        })
    };
    if let Some(m) = value.get("amazon-bedrock-invocationMetrics") {
        return pick(m, "inputTokenCount", "outputTokenCount");
    }
    if let Some(u) = value.get("usage") {
        return pick(u, "inputTokens", "outputTokens")
            .or_else(|| pick(u, "input_tokens", "output_tokens"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_budget_refuses_the_call_after_the_last_one_across_threads() {
        let budget = std::sync::Arc::new(CallBudget::new(40));
        let refused: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let b = std::sync::Arc::clone(&budget);
                    s.spawn(move || (0..20).filter(|_| b.take().is_err()).count())
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).sum()
        });
        assert_eq!(refused, 40, "80 tried, 40 allowed");
        assert_eq!(budget.used(), 40);
        assert_eq!(budget.take(), Err(CallBudgetExhausted { max: 40 }));
    }
    use serde_json::json;

    #[test]
    fn admit_refuses_once_the_next_request_would_exceed_and_names_the_variable() {
        let b = Budget::new(100);
        assert!(b.admit(64).is_ok());
        b.spend(
            "lab",
            Tokens {
                input: 10,
                output: 30,
            },
        );
        assert!(b.admit(60).is_ok());
        let e = b.admit(61).expect_err("over");
        assert_eq!(
            e,
            BudgetExhausted {
                spent: 40,
                max: 100,
                requested: 61
            }
        );
        assert!(e.to_string().contains("LABCHECK_MAX_TOKENS=100"), "{e}");
        assert_eq!(b.total(), 40);
    }

    #[test]
    fn usage_shapes() {
        assert_eq!(
            usage_in(&json!({"usage": {"inputTokens": 3, "outputTokens": 4}})),
            Some(Tokens {
                input: 3,
                output: 4
            })
        );
        assert_eq!(
            usage_in(
                &json!({"amazon-bedrock-invocationMetrics": {"inputTokenCount": 5, "outputTokenCount": 6}})
            ),
            Some(Tokens {
                input: 5,
                output: 6
            })
        );
        assert_eq!(usage_in(&json!({"type": "x"})), None);
        assert_eq!(
            requested_tokens(&json!({"inferenceConfig": {"maxTokens": 500}})),
            500
        );
    }
}
