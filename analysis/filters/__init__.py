"""Filter-approximation studies: AHP neurons as fading-memory filters."""
