//! An audio node that applies a gain. Its configuration is the gain in dB,
//! for example `-6`; an empty configuration means 0 dB.

use stagebox_sdk::audio::*;

struct Gain {
    factor: f32,
}

impl AudioNode for Gain {
    fn new(config: &str) -> Result<Self, Error> {
        let db: f32 = match config.trim() {
            "" => 0.0,
            text => text.parse().map_err(|_| Error {
                code: ErrorCode::InvalidConfig,
                message: format!("gain {text:?} is not a number of dB"),
            })?,
        };
        if !(-96.0..=24.0).contains(&db) {
            return Err(Error { code: ErrorCode::InvalidConfig, message: format!("gain {db} dB is outside -96..=24") });
        }
        Ok(Gain { factor: 10f32.powf(db / 20.0) })
    }

    fn process(&mut self, mut block: AudioBlock) -> Result<Vec<AudioBlock>, Error> {
        block.samples.iter_mut().for_each(|s| *s *= self.factor);
        Ok(vec![block])
    }
}

stagebox_sdk::export_audio_node!(Gain);
