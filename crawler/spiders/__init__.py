"""The one generic spider."""
