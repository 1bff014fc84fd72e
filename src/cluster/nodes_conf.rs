//! nodes.conf and CLUSTER NODES lines. (Placeholder: being written.)
