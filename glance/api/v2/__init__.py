"""v2 package."""
