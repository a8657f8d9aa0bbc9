//! spec (in progress).
pub mod lab;
