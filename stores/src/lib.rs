//! decant store clients: the code that talks to a store, used by its source
//! (in `decant-export`) and its sink (in `decant-import`) from one place, so
//! an importer never depends on an exporter crate.

pub mod dynamodb;
