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

use stagebox_sdk::video::*;

struct Hostile {
    calls: u64,
}

impl VideoNode for Hostile {
    fn new(_config: &str) -> Result<Self, Error> {
        Ok(Hostile { calls: 0 })
    }

    fn process(&mut self, frame: VideoFrame) -> Result<Vec<VideoFrame>, Error> {
        self.calls += 1;
        match frame.data.first().copied().unwrap_or(0) {
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
