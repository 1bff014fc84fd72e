//! Cluster bus wire format. (Placeholder: being written.)
