//! expect (in progress).
