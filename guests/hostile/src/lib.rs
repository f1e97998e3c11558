//! A video node that misbehaves on purpose, for the sandbox tests. The first
//! byte of each frame picks what this call does, so a node that failed one
//! call can be shown to serve the next one:
//!
//! | byte | behaviour |
//! |---|---|
//! | 0 | echo the frame (well-behaved) |
//! | 1 | spin forever |
//! | 2 | allocate until memory runs out |
//! | 3 | trap (panic) |
//! | 4 | return 64 copies of the frame |
//! | 5 | return an expected error |
//!
//! The configuration can instead make every instance fail on its own
//! schedule, for the daemon's pipeline tests: `{"trap_every": 10}` traps
//! on every 10th call of an instance, `{"spin_every": 5}` spins on every
//! 5th (a fresh instance counts from zero).

use stagebox_sdk::video::*;

struct Hostile {
    calls: u64,
    trap_every: u64,
    spin_every: u64,
}

/// The whole number after `"key":` in a flat JSON object, if any.
fn number(config: &str, key: &str) -> Option<u64> {
    let at = config.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = config[at..].trim_start().strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl VideoNode for Hostile {
    fn new(config: &str) -> Result<Self, Error> {
        Ok(Hostile {
            calls: 0,
            trap_every: number(config, "trap_every").unwrap_or(0),
            spin_every: number(config, "spin_every").unwrap_or(0),
        })
    }

    fn process(&mut self, frame: VideoFrame) -> Result<Vec<VideoFrame>, Error> {
        self.calls += 1;
        let due = |every: u64| every > 0 && self.calls.is_multiple_of(every);
        let behaviour = if due(self.trap_every) {
            3
        } else if due(self.spin_every) {
            1
        } else {
            frame.data.first().copied().unwrap_or(0)
        };
        match behaviour {
            1 => {
                let mut x = self.calls;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            2 => {
                // Reserve without touching the pages: the cap, not the time
                // spent filling memory, must be what stops this.
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(Vec::with_capacity(1 << 20));
                    std::hint::black_box(&hoard);
                }
            }
            3 => panic!("hostile plugin traps on call {}", self.calls),
            4 => Ok(vec![frame; 64]),
            5 => Err(Error { code: ErrorCode::InvalidInput, message: format!("refused frame {}", frame.info.index) }),
            _ => {
                metrics::counter_add("frames", 1);
                Ok(vec![frame])
            }
        }
    }
}

stagebox_sdk::export_video_node!(Hostile);
