//! content (in progress).
