//! The HTTP layer that replay, the record proxy and the test upstream share:
//! a server on its own thread (or task) that reports readiness and stops
//! gracefully ([`server`]), the table of operations and how a request path is
//! routed through it ([`operations`]), one request extractor (operation,
//! labels such as the model id, body, auth: [`request`]), one
//! Bedrock-shaped error reply ([`error`]) and the log of served requests
//! ([`served`]). Every server applies the same connection [`Limits`]
//! (header-read timeout, connection cap) and body limit ([`MAX_BODY_BYTES`]).
//!
//! Adding an operation or a service is a row in the table generated from
//! the service models ([`crate::services`]);
//! handlers see a routed [`request::BedrockRequest`], never a raw path.

pub mod error;
pub mod operations;
pub mod request;
pub mod served;
pub mod server;

pub use error::BedrockError;
pub use operations::{OPERATIONS, OperationDef, OperationSpec, Route, Service};
pub use request::{
    Auth, BODY_READ_TIMEOUT, BedrockRequest, CredentialScope, MAX_BODY_BYTES, SigV4,
};
pub use served::{ServedLog, ServedRequest, Slot};
pub use server::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS, Limits, Server, ServerError, ThreadSpec,
    app,
};
