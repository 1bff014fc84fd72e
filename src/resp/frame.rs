//! Client-side RESP2/RESP3 frame parser. (Placeholder: being written.)
