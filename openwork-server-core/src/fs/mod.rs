//! Filesystem primitives shared by every route: lexical path handling and atomic writes.

pub(crate) mod atomic;
pub(crate) mod paths;
