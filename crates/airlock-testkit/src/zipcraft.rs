//! Zip crafting, including hostile archives (stub).
