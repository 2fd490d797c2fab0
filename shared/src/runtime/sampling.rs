//! Choosing the next token from logits: greedy, or temperature + top-p (+ optional top-k)
//! sampling driven by a seeded generator, so runs are reproducible.

/// How to pick each token.
#[derive(Clone, Debug, PartialEq)]
pub enum Sampling {
    /// Always the most likely token (ties: the lowest id).
    Greedy,
    /// Sample from the smallest set of most likely tokens whose probability reaches `top_p`,
    /// after dividing logits by `temperature` and keeping at most `top_k` tokens (0: no
    /// limit).
    TopP {
        /// Softmax temperature (> 0; ≤ 0 means greedy).
        temperature: f32,
        /// Nucleus mass in (0, 1].
        top_p: f32,
        /// Keep at most this many tokens (0: all).
        top_k: usize,
        /// Seed of the random generator.
        seed: u64,
    },
}

/// A sampler: the settings plus the random state.
#[derive(Clone, Debug)]
pub struct Sampler {
    sampling: Sampling,
    state: u64,
}

/// Index of the largest value (first one on ties).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

impl Sampler {
    /// A sampler for `sampling`.
    pub fn new(sampling: Sampling) -> Self {
        let state = match &sampling {
            Sampling::TopP { seed, .. } => *seed,
            Sampling::Greedy => 0,
        };
        Self { sampling, state }
    }

    fn next_f64(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Picks a token id from `logits`.
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        let (temperature, top_p, top_k) = match self.sampling {
            Sampling::TopP {
                temperature,
                top_p,
                top_k,
                ..
            } if temperature > 0.0 => (temperature, top_p, top_k),
            _ => return argmax(logits),
        };
        let max = logits.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let mut probs: Vec<(u32, f64)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, (((l - max) / temperature) as f64).exp()))
            .collect();
        probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        if top_k > 0 {
            probs.truncate(top_k);
        }
        let total: f64 = probs.iter().map(|p| p.1).sum();
        let mut kept = 0.0;
        let mut n = 0;
        for p in &probs {
            kept += p.1;
            n += 1;
            if kept >= top_p as f64 * total {
                break;
            }
        }
        probs.truncate(n.max(1));
        let mass: f64 = probs.iter().map(|p| p.1).sum();
        let mut r = self.next_f64() * mass;
        for &(id, p) in &probs {
            if r < p {
                return id;
            }
            r -= p;
        }
        probs[probs.len() - 1].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_and_seeded_sampling() {
        let logits = [0.1, 2.0, 1.9, -1.0];
        assert_eq!(Sampler::new(Sampling::Greedy).sample(&logits), 1);
        let s = |seed| Sampling::TopP {
            temperature: 1.0,
            top_p: 0.9,
            top_k: 0,
            seed,
        };
        let draw = |seed| {
            let mut sm = Sampler::new(s(seed));
            (0..50).map(|_| sm.sample(&logits)).collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        let d = draw(3);
        assert!(d.contains(&1) && d.contains(&2));
        assert!(!d.contains(&3));
        // A tiny nucleus keeps only the top token.
        let mut narrow = Sampler::new(Sampling::TopP {
            temperature: 1.0,
            top_p: 0.01,
            top_k: 0,
            seed: 1,
        });
        assert!((0..20).all(|_| narrow.sample(&logits) == 1));
    }
}
