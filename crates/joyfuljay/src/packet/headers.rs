//! Header details and payload of a [`super::PacketView`], read from the frame on demand.
