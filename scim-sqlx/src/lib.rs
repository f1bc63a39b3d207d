//! scim-sqlx (docs below are written in the next commit)
pub mod compile;
mod db;
mod store;
pub use store::{Options, SqlStore};
