//! Filesystem primitives shared by every route: lexical paths, atomic writes, per-file
//! locks, stat-validated caches, JSONC and frontmatter documents.

pub(crate) mod atomic;
pub(crate) mod cache;
pub(crate) mod confine;
pub(crate) mod frontmatter;
pub(crate) mod jsonc;
pub(crate) mod locks;
pub(crate) mod paths;
