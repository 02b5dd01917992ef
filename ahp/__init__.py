"""ahp package."""
