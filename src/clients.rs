//! clients (in progress).
