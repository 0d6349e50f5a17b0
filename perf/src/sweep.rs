//! PDR search (the partial drop rate of FD.io CSIT): the highest offered
//! rate at which at most `loss_limit` of the transactions go unanswered.
//!
//! The search doubles the rate from `start` until a trial fails, then
//! bisects between the best pass and the lowest failure until they are
//! within `precision` of each other. Each trial is a closure, so the search
//! is tested against a synthetic link and run for real by the binary.

/// Search bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPlan {
    pub start: u64,
    pub min: u64,
    pub max: u64,
    /// Stop when (fail - pass) / pass falls below this (e.g. 0.05).
    pub precision: f64,
    /// Largest unanswered share that passes (1e-4 = 0.01%).
    pub loss_limit: f64,
    /// A trial also fails when the generator got out less than this share
    /// of what the rate asked for (memif and NICs push back instead of
    /// dropping, so an overloaded target shows as a shortfall, not a loss).
    pub min_sent_share: f64,
    pub max_trials: u32,
}

impl Default for SweepPlan {
    fn default() -> Self {
        SweepPlan {
            start: 100_000,
            min: 1_000,
            max: 100_000_000,
            precision: 0.05,
            loss_limit: 1e-4,
            min_sent_share: 0.97,
            max_trials: 14,
        }
    }
}

/// One trial's verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub rate: u64,
    /// Requests the rate asked for over the trial (rate x seconds).
    pub offered: u64,
    pub sent: u64,
    pub lost: u64,
}

impl Step {
    /// Whether this trial passes under `plan`.
    pub fn passes(&self, plan: &SweepPlan) -> bool {
        self.loss() <= plan.loss_limit
            && self.sent as f64 >= self.offered as f64 * plan.min_sent_share
    }

    pub fn loss(&self) -> f64 {
        if self.sent == 0 {
            1.0
        } else {
            self.lost as f64 / self.sent as f64
        }
    }
}

/// Where the search ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Pdr {
    /// Highest passing rate; `None` if even `min` lost too much.
    pub rate: Option<u64>,
    pub steps: Vec<Step>,
}

/// Runs the search; `trial(rate)` measures one rate.
pub fn find_pdr<E>(
    plan: &SweepPlan,
    mut trial: impl FnMut(u64) -> Result<Step, E>,
) -> Result<Pdr, E> {
    let mut pass: Option<u64> = None;
    let mut fail: Option<u64> = None;
    let mut rate = plan.start.clamp(plan.min.max(1), plan.max.max(1));
    let mut steps = Vec::new();
    for _ in 0..plan.max_trials {
        let step = trial(rate)?;
        steps.push(step);
        if step.passes(plan) {
            pass = Some(pass.map_or(rate, |p| p.max(rate)));
        } else {
            fail = Some(fail.map_or(rate, |f| f.min(rate)));
        }
        rate = match (pass, fail) {
            (Some(p), None) if p >= plan.max => break,
            (Some(p), None) => (p.saturating_mul(2)).min(plan.max),
            (None, Some(f)) if f <= plan.min => break,
            (None, Some(f)) => (f / 2).max(plan.min),
            (Some(p), Some(f)) => {
                if (f.saturating_sub(p)) as f64 <= p as f64 * plan.precision {
                    break;
                }
                p + (f - p) / 2
            }
            (None, None) => break,
        };
    }
    Ok(Pdr { rate: pass, steps })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link that loses 1% of everything above `capacity`.
    fn link(capacity: u64) -> impl FnMut(u64) -> Result<Step, ()> {
        move |rate| {
            let sent = rate;
            let lost = if rate > capacity { rate / 100 } else { 0 };
            Ok(Step {
                rate,
                offered: rate,
                sent,
                lost,
            })
        }
    }

    #[test]
    fn finds_the_capacity_within_the_precision() {
        let plan = SweepPlan::default();
        let pdr = find_pdr(&plan, link(1_234_567)).unwrap();
        let rate = pdr.rate.unwrap();
        assert!(rate <= 1_234_567, "never reports a failing rate: {rate}");
        assert!(
            rate as f64 >= 1_234_567.0 / (1.0 + plan.precision),
            "{rate}"
        );
        assert!(pdr.steps.len() as u32 <= plan.max_trials);
    }

    #[test]
    fn searches_down_when_the_start_fails_and_reports_none_below_min() {
        let plan = SweepPlan {
            start: 1_000_000,
            min: 10_000,
            ..SweepPlan::default()
        };
        let pdr = find_pdr(&plan, link(50_000)).unwrap();
        assert!(
            pdr.rate.unwrap() <= 50_000 && pdr.rate.unwrap() >= 47_000,
            "{:?}",
            pdr.rate
        );
        let none = find_pdr(&plan, link(1)).unwrap();
        assert_eq!(none.rate, None);
    }

    #[test]
    fn a_loss_at_the_limit_passes_and_just_above_fails() {
        let plan = SweepPlan::default();
        let step = |sent, lost| Step {
            rate: 1,
            offered: 10_000,
            sent,
            lost,
        };
        assert!(step(10_000, 1).passes(&plan));
        assert!(!step(10_000, 2).passes(&plan));
        assert!(!step(0, 0).passes(&plan), "nothing sent is no pass");
    }

    #[test]
    fn a_generator_or_target_that_cannot_keep_up_fails_without_loss() {
        let plan = SweepPlan::default();
        let step = |sent| Step {
            rate: 1,
            offered: 10_000,
            sent,
            lost: 0,
        };
        assert!(step(9_700).passes(&plan));
        assert!(!step(9_699).passes(&plan));
        // Pushed back above 200k/s: sends at most that much, never loses.
        let pushback = |rate: u64| -> Result<Step, ()> {
            Ok(Step {
                rate,
                offered: rate,
                sent: rate.min(200_000),
                lost: 0,
            })
        };
        let pdr = find_pdr(&plan, pushback).unwrap();
        let r = pdr.rate.unwrap();
        assert!((190_000..=206_185).contains(&r), "{r}");
    }
}
