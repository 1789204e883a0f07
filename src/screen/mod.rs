//! Reference screens, masks and the fuzzy matcher.
