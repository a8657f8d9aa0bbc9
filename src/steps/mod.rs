//! steps (in progress).
