//! The workspace resources clients edit, as files on disk: how each is discovered, read,
//! validated and written. Routes call these; export and import reuse them.
