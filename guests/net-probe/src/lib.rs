//! A video node that tries to open a TCP connection. It imports
//! `wasi:sockets`, so it loads only where the network capability is granted.

use stagebox_sdk::video::*;

struct NetProbe;

impl VideoNode for NetProbe {
    fn new(_config: &str) -> Result<Self, Error> {
        Ok(NetProbe)
    }

    fn process(&mut self, frame: VideoFrame) -> Result<Vec<VideoFrame>, Error> {
        match std::net::TcpStream::connect("127.0.0.1:9") {
            Ok(_) => Err(Error { code: ErrorCode::Internal, message: "connected".into() }),
            Err(e) => {
                log::log(log::Level::Info, &format!("connect failed: {e}"));
                Ok(vec![frame])
            }
        }
    }
}

stagebox_sdk::export_video_node!(NetProbe);
