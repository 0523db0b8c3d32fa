//! TCP stream start reassembly: the first bytes of each direction in sequence order.
